#!/usr/bin/env bash
# Kernel-side cost of conbiograph: ns per run of each of its BPF programs
# (kernel.bpf_stats_enabled), during 4 KiB O_DIRECT writes, 4 KiB O_DIRECT
# reads and a buffered write + sync inside the traced cgroup. Throughput
# (bench/conbiograph.sh) cannot see a few tens of ns per request on a disk
# that varies ±20 % between runs; this can.
#
#   sudo bench/conbiograph-cost.sh [ROUNDS] [BIN...]
#
# Several binaries (e.g. an older build) are measured in interleaved rounds;
# prints the median ns/run per program and workload. Default: the release
# build in target/. DIR (env, default /var/tmp) must be on a block device.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
shift || true
BINS=("$@")
[ ${#BINS[@]} -gt 0 ] || BINS=("${CARGO_TARGET_DIR:-target}/release/conbiograph")
DIR=${DIR:-/var/tmp}

[ "$(id -u)" = 0 ] || { echo "bench/conbiograph-cost.sh: run as root" >&2; exit 2; }
for b in "${BINS[@]}"; do
    [ -x "$b" ] || { echo "bench/conbiograph-cost.sh: $b is not an executable (cargo build --release -p conbiograph)" >&2; exit 2; }
done
if [ -d /sys/fs/cgroup/unified ] && grep -q cgroup2 <(stat -f -c %T /sys/fs/cgroup/unified); then
    CGROOT=/sys/fs/cgroup/unified
else
    CGROOT=/sys/fs/cgroup
fi
CG=$CGROOT/contrace-bench-cbgcost-$$
FILE=$DIR/contrace-bench-cbgcost-$$.bin
ERR=$DIR/contrace-bench-cbgcost-$$.err
OUT=$(mktemp -d)
TOOL_PID=
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
    [ -n "$TOOL_PID" ] && kill -INT "$TOOL_PID" 2>/dev/null && wait "$TOOL_PID" 2>/dev/null
    sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
    rm -f "$FILE" "$FILE.buf" "$ERR"
    rm -rf "$OUT"
    rmdir "$CG" 2>/dev/null || true
}
trap cleanup EXIT
mkdir "$CG"
dd if=/dev/zero of="$FILE" bs=1M count=64 oflag=direct status=none
sysctl -qw kernel.bpf_stats_enabled=1

WORKLOADS=(write4k read4k buffered)
workload() {
    case $1 in
    write4k) echo "dd if=/dev/zero of=$FILE bs=4k count=16384 oflag=direct conv=notrunc status=none" ;;
    read4k) echo "dd if=$FILE of=/dev/null bs=4k count=16384 iflag=direct status=none" ;;
    buffered) echo "dd if=/dev/zero of=$FILE.buf bs=1M count=32 status=none; sync" ;;
    esac
}

# One measurement: prints "program ns_per_run" for each program that ran.
measure() {
    local bin=$1 work=$2 ids
    "$bin" -c "$CG" -t 1000 >/dev/null 2>"$ERR" &
    TOOL_PID=$!
    for _ in $(seq 600); do
        grep -q Ctrl-C "$ERR" 2>/dev/null && break
        sleep 0.1
    done
    grep -q Ctrl-C "$ERR" || { echo "$bin did not attach: $(cat "$ERR")" >&2; exit 1; }
    bash -c "echo \$\$ > $CG/cgroup.procs; $(workload "$work")"
    ids=$(grep -h '^prog_id:' /proc/"$TOOL_PID"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | paste -sd, -)
    bpftool -j prog show | python3 -c '
import json, sys
ids = {int(x) for x in sys.argv[1].split(",") if x}
for p in json.load(sys.stdin):
    if p["id"] in ids and p.get("run_cnt"):
        print(p["name"], p["run_time_ns"] / p["run_cnt"])
' "$ids"
    kill -INT "$TOOL_PID"
    wait "$TOOL_PID" || true
    TOOL_PID=
}

for i in $(seq "$ROUNDS"); do
    for b in "${!BINS[@]}"; do
        for w in "${WORKLOADS[@]}"; do
            measure "${BINS[$b]}" "$w" | sed "s/^/$b $w /" >>"$OUT/all"
        done
    done
    echo "round $i/$ROUNDS done" >&2
done

printf '%-40s %-9s %-16s %10s\n' binary workload program "ns/run"
python3 - "$OUT/all" "${BINS[@]}" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    b, w, prog, ns = line.split()
    rows.setdefault((int(b), w, prog), []).append(float(ns))
for (b, w, prog), v in sorted(rows.items()):
    print("%-40s %-9s %-16s %10.1f" % (sys.argv[2 + b][-40:], w, prog, statistics.median(v)))
EOF
echo "(median of $ROUNDS interleaved rounds; times include the bpf_stats accounting itself)"
