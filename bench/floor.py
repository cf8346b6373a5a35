#!/usr/bin/env python3
"""The floor table: what each always-on or counting configuration adds to
every system call, against empty programs on the same hooks, in one run.

A getppid loop runs in a fresh cgroup while each configuration is attached
in turn; rounds interleave the configurations so drift on a shared VM hits
them alike. Per configuration and round: the fastest of 3 loops, minus the
fastest of 3 untraced loops run right before it ("added ns"; other work on
the machine only ever adds), the loop pinned to the last CPU and the
tracers and this script to the others; then one more loop with the
kernel's BPF statistics on, for the ns per run of the configuration's own
programs (found through its process's descriptors). Ratios divide added ns
by the floor's added ns of the same round; the table shows their median and
min..max over rounds.

Usage: bench/run floor [--rounds N] [--calls N] [--quick] [--only REGEX]
                       [--baseline DIR] [--no-save]
  --baseline DIR: also run DIR/contrace-exporter (an earlier build) as
                  "before" rows.
Writes bench/results/floor-DATE.md and floor-DATE.tsv (DATE with the time:
runs are kept side by side) unless --no-save.
Needs root; builds the release binaries it runs.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# BENCH_PROFILE=debug: run the debug binaries as they are (a quick look:
# the BPF programs are the same, only the tools' own userspace is slower).
PROFILE = os.environ.get("BENCH_PROFILE", "release")
REL = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), PROFILE)
LBT_SYSCOUNT = "/usr/sbin/syscount"


def cgroup2_root():
    with open("/proc/self/mountinfo") as f:
        mounts = [l.split(" - ") for l in f if " - " in l]
    paths = [left.split()[4] for left, right in mounts if right.split()[0] == "cgroup2"]
    if not paths:
        sys.exit("bench: no cgroup2 mount")
    return min(paths, key=len)


def cpu_split():
    """(CPU of the timed loop, CPUs of the tracers and this script): the
    loop on the last CPU, which the tracers' own threads never share or
    make it migrate from (other work on the host still may); one CPU: no
    split, (None, all)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, set(cpus)
    return cpus[-1], set(cpus[:-1])


LOOP_CPU, OTHER_CPUS = cpu_split()


def loop_ns(cg, calls):
    # Pinned by the workload itself once in the cgroup: joining a cgroup
    # can reset the affinity (cpuset, kernels before 6.2).
    pin = [] if LOOP_CPU is None else ["pin", str(LOOP_CPU)]
    cmd = [os.path.join(REL, "workload"), "--cgroup", cg, "--no-wait", *pin, "bench-getppid", str(calls)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("ns_per_call"):
            return float(line.split()[1])
    raise RuntimeError(f"no measurement from {cmd}: {out}")


def prog_ids(pid):
    """BPF program ids the process holds descriptors of."""
    ids = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return ids
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                m = re.search(r"^prog_id:\s+(\d+)", f.read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    return ids


def prog_stats(ids):
    """{name: (run_cnt, run_time_ns)} of the programs `ids`."""
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True, check=True)
    stats = {}
    for p in json.loads(out.stdout):
        if p.get("id") in ids and p.get("run_cnt"):
            cnt, ns = stats.get(p.get("name", "?"), (0, 0))
            stats[p.get("name", "?")] = (cnt + p["run_cnt"], ns + p.get("run_time_ns", 0))
    return stats


def holds_bpf_link(pid):
    try:
        for fd in os.listdir(f"/proc/{pid}/fdinfo"):
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    if "link_id:" in f.read():
                        return True
            except OSError:
                pass
    except OSError:
        pass
    return False


class Tracer:
    """A tool in the background, waited for until it says it is attached
    (`marker` in its output) or, with marker None, holds a BPF link."""

    def __init__(self, cmd, marker, settle=0.0):
        self.cmd, self.marker, self.settle = cmd, marker, settle

    def __enter__(self):
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.set_blocking(self.proc.stdout.fileno(), False)
        seen = ""
        while not (holds_bpf_link(self.proc.pid) if self.marker is None else self.marker in seen):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.cmd[0]} exited: {seen}")
            if time.monotonic() - t0 > 120:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"{self.cmd[0]} did not attach: {seen}")
            chunk = self.proc.stdout.read()
            if chunk:
                seen += chunk.decode(errors="replace")
            else:
                time.sleep(0.01)
        time.sleep(self.settle)
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def configs(cg, other, port, baseline):
    B = lambda tool: os.path.join(REL, tool)
    exp = lambda *a, binary=B("contrace-exporter"): [binary, "--listen", f"127.0.0.1:{port}", *a]
    marker = "Ctrl-C"
    # (name, command or None, marker, settle s, floor it is compared with)
    rows = [
        ("untraced", None, None, 0, None),
        ("floor: empty tp_btf exit only", [B("benchfloor"), "--hooks", "exit"], marker, 0, None),
        ("floor: empty tp_btf enter+exit", [B("benchfloor"), "--hooks", "enter-exit"], marker, 0, None),
        ("contrace-exporter (default)", exp(), marker, 0, "exit"),
        ("contrace-exporter --no-namespaces --no-block", exp("--no-namespaces", "--no-block"), marker, 0, "exit"),
        ("contrace-exporter --denied", exp("--denied"), marker, 0, "enter+exit"),
        ("contrace-exporter --latency", exp("--latency"), marker, 0, "enter+exit"),
    ]
    if baseline:
        old = os.path.join(baseline, "contrace-exporter")
        rows += [
            ("before: contrace-exporter (default)", exp(binary=old), marker, 0, "exit"),
            ("before: contrace-exporter --latency", exp("--latency", binary=old), marker, 0, "enter+exit"),
        ]
    rows += [
        ("syscount -c CG", [B("syscount"), "-c", cg], marker, 0, "exit"),
        ("constat -c CG", [B("constat"), "-c", cg], marker, 0, "enter+exit"),
        # The loop stays in CG while constat traces OTHER: the cost paid outside.
        ("constat -c OTHER (loop outside)", [B("constat"), "-c", other], marker, 0, "enter+exit"),
        ("libbpf-tools syscount -L -c CG", [LBT_SYSCOUNT, "-L", "-c", cg], None, 0.3, "enter+exit"),
    ]
    # Prototypes (bpf/benchfloor.bpf.c): the least work of each path, so a
    # row can be read against what its own kind of program costs here. The
    # exporter's lookup (the way kept, the way before); one cgroup's count
    # (syscount -c) and a process outside it (constat -c); the entry hook's
    # per-thread record, untimed (--denied) and timed (--latency, constat).
    for proto, floor in (("proto-percpu-last", "exit"), ("proto-task-storage", "exit"),
                         ("proto-target-in", "exit"), ("proto-target-out", "enter+exit"),
                         ("proto-start-storage", "enter+exit"),
                         ("proto-start-timed", "enter+exit")):
        rows.append((f"prototype: {proto}", [B("benchfloor"), "--hooks", proto], marker, 0, floor))
    return rows


# Goals of the issue (ratio of added ns, against the floor of the row).
GOALS = {
    "contrace-exporter (default)": ("floor", 1.5),
    "contrace-exporter --denied": ("floor", 1.3),
    "contrace-exporter --latency": ("floor", 2.0),
    "syscount -c CG": ("floor", 1.2),
    "constat -c CG": ("floor", 1.5),
    "constat -c OTHER (loop outside)": ("floor", 1.1),
}


def measure(args, rows, cg):
    """{name: [(ns, added, ratio to its floor, {prog: ns per run})]} per round."""
    samples = {}
    failed = {}
    for r in range(args.rounds):
        floors = {}
        for name, cmd, marker, settle, floor in rows:
            if name in failed:
                continue
            try:
                # Paired: the untraced loop right before each configuration.
                base = best_of_3(cg, args.calls)
                if cmd is None:
                    samples.setdefault(name, []).append((base, 0.0, None, {}))
                    continue
                with Tracer(cmd, marker, settle) as t:
                    ns = best_of_3(cg, args.calls)
                    runs = per_run_ns(t.proc.pid, cg, args.calls)
            except (RuntimeError, subprocess.CalledProcessError, OSError) as err:
                failed[name] = str(err).splitlines()[0][:160] if str(err) else repr(err)
                continue
            added = ns - base
            if name.startswith("floor: "):
                floors["exit" if "exit only" in name else "enter+exit"] = added
            f = floors.get(floor)
            ratio = added / f if f and f > 0 else None
            samples.setdefault(name, []).append((ns, added, ratio, runs))
        print(f"bench: round {r + 1}/{args.rounds} done", file=sys.stderr)
    return samples, failed


def best_of_3(cg, calls):
    """The fastest of 3 loops: other work on the machine only ever adds."""
    return min(loop_ns(cg, calls) for _ in range(3))


def per_run_ns(pid, cg, calls):
    """ns per run of each of the process's programs over one more loop, with
    the kernel's BPF statistics on just for it."""
    ids = prog_ids(pid)
    if not ids:
        return {}
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        was = f.read().strip()
    before = prog_stats(ids)
    subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=True)
    try:
        loop_ns(cg, calls // 4)
        after = prog_stats(ids)
    finally:
        subprocess.run(["sysctl", "-qw", f"kernel.bpf_stats_enabled={was}"], check=True)
    out = {}
    for name, (cnt, ns) in after.items():
        c0, n0 = before.get(name, (0, 0))
        if cnt > c0:
            out[name] = (ns - n0) / (cnt - c0)
    return out


def spread(xs, fmt):
    xs = [x for x in xs if x is not None]
    if not xs:
        return ""
    return f"{fmt(statistics.median(xs))} ({fmt(min(xs))}..{fmt(max(xs))})"


def revision():
    """The commit measured (and "+changes" when the tree differs from it)."""
    git = lambda *a: subprocess.run(["git", "-C", ROOT, *a], capture_output=True, text=True).stdout.strip()
    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    return rev + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def table(rows, samples, failed, args):
    uname = os.uname()
    pinning = ("not pinned (one CPU)" if LOOP_CPU is None
               else f"the loop pinned to CPU {LOOP_CPU}, the tracers to the others")
    head = (
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {uname.nodename.split('.')[0]}: kernel "
        f"{uname.release}, {os.cpu_count()} CPUs; getppid loop of {args.calls} calls, "
        f"{args.rounds} interleaved rounds; per round the fastest of 3 loops, paired with the fastest of 3 "
        f"untraced loops just before; {pinning}; median (min..max) over rounds; code {revision()}."
    )
    md = [head, "",
          "| configuration | ns/call | added ns | / floor (same round) | floor | goal | ns per program run (bpf_stats) |",
          "|---|---:|---:|---:|---|---|---|"]
    tsv = ["configuration\tns_per_call\tadded_ns\tadded_min\tadded_max\tratio\tratio_min\tratio_max\tfloor\tgoal\tprogram_ns"]
    for name, _, _, _, floor in rows:
        got = samples.get(name)
        if not got:
            continue
        ns = [g[0] for g in got]
        added = [g[1] for g in got]
        ratios = [g[2] for g in got if g[2] is not None]
        progs = {}
        for g in got:
            for p, v in g[3].items():
                progs.setdefault(p, []).append(v)
        prog_text = ", ".join(f"{p} {statistics.median(v):.0f}" for p, v in sorted(progs.items()))
        goal = GOALS.get(name)
        goal_text = ""
        if goal and ratios:
            met = statistics.median(ratios) <= goal[1]
            goal_text = f"<= {goal[1]}x: {'met' if met else 'NOT met'}"
        md.append(
            f"| {name} | {statistics.median(ns):.0f} | {spread(added, lambda x: f'{x:+.0f}')} | "
            f"{spread(ratios, lambda x: f'{x:.2f}x')} | {floor or ''} | {goal_text} | {prog_text} |"
        )
        mid = lambda xs: f"{statistics.median(xs):.2f}" if xs else ""
        tsv.append("\t".join([
            name, f"{statistics.median(ns):.1f}", mid(added), f"{min(added):.1f}", f"{max(added):.1f}",
            mid(ratios), f"{min(ratios):.2f}" if ratios else "", f"{max(ratios):.2f}" if ratios else "",
            floor or "", goal_text, prog_text,
        ]))
    if failed:
        md += ["", "Failed or missing: " + "; ".join(f"{k} ({v})" for k, v in failed.items())]
    return "\n".join(md), "\n".join(tsv)


def build():
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "contrace-exporter", "-p", "syscount", "-p", "constat",
         "-p", "benchfloor", "-p", "contrace-workload", "--bin", "contrace-exporter", "--bin", "syscount",
         "--bin", "constat", "--bin", "benchfloor", "--bin", "workload"],
        cwd=ROOT, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="1 round of 200000 calls")
    ap.add_argument("--only", help="only configurations whose name matches (untraced and floors always run)")
    ap.add_argument("--baseline", help="directory with an earlier contrace-exporter: 'before' rows")
    ap.add_argument("--no-save", action="store_true", help="print only, keep nothing in bench/results")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.calls = 1, 200_000
    if os.geteuid() != 0:
        sys.exit("bench: needs root (BPF)")
    if PROFILE == "release":
        build()
    # Tracers started from here inherit this; the loop moves to LOOP_CPU.
    os.sched_setaffinity(0, OTHER_CPUS)
    root = cgroup2_root()
    cg = os.path.join(root, f"contrace-bench-floor-{os.getpid()}")
    other = cg + "-other"
    os.mkdir(cg)
    os.mkdir(other)
    try:
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        rows = configs(cg, other, port, args.baseline)
        if args.only:
            rows = [r for r in rows if r[0] == "untraced" or r[0].startswith("floor: ") or re.search(args.only, r[0])]
        rows = [r for r in rows if r[1] is None or os.path.exists(r[1][0])]
        samples, failed = measure(args, rows, cg)
    finally:
        for d in (cg, other):
            try:
                os.rmdir(d)
            except OSError:
                pass
    md, tsv = table(rows, samples, failed, args)
    print(md)
    if not args.no_save:
        out = os.path.join(ROOT, "bench", "results")
        os.makedirs(out, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H%M")
        with open(os.path.join(out, f"floor-{stamp}.md"), "w") as f:
            f.write(md + "\n")
        with open(os.path.join(out, f"floor-{stamp}.tsv"), "w") as f:
            f.write(tsv + "\n")
        print(f"\nbench: kept in bench/results/floor-{stamp}.md and .tsv", file=sys.stderr)


if __name__ == "__main__":
    main()
