#!/usr/bin/env bash
# Which key is cheapest on the exporter's common path? Prototypes of the
# per-call lookup (bpf/benchfloor.bpf.c, proto_*), each alone on sys_exit,
# weighed against the empty exit program in one interleaved run; and of the
# entry hook's per-thread record (proto-start-*: enter+exit, weighed against
# both empty programs). KEYS_VARIANTS="exit proto-..." picks some.
#   - kernel side: ns per program run from bpf_stats (run_time_ns/run_cnt);
#   - user side: ns added to a getppid loop (paired with the same round's
#     untraced loop).
#
#   sudo bench/keys.sh [ROUNDS] [CALLS]   (defaults: 5 rounds, 1000000 calls)
#
# Prints a Markdown table (median and min..max over rounds) and keeps it in
# bench/results/keys-DATE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export PATH="$HOME/.cargo/bin:$PATH"

ROUNDS=${1:-5} CALLS=${2:-1000000}
[ "$(id -u)" = 0 ] || { echo "bench/keys.sh: run as root (BPF)" >&2; exit 2; }
PROFILE_DIR=${BENCH_PROFILE_DIR:-release}
REL=${CARGO_TARGET_DIR:-target}/$PROFILE_DIR
if [ "$PROFILE_DIR" = release ]; then
    cargo build --release --quiet -p benchfloor -p contrace-workload --bin benchfloor --bin workload >&2
fi

cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
CG=$cg2/contrace-bench-keys-$$
TOOL_LOG=$(mktemp)
TOOL_PID=
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
    [ -n "$TOOL_PID" ] && { kill -INT "$TOOL_PID" 2>/dev/null; wait "$TOOL_PID" 2>/dev/null || true; }
    sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
    rmdir "$CG" 2>/dev/null || true
    rm -f "$TOOL_LOG"
}
trap cleanup EXIT
mkdir "$CG"

VARIANTS=(${KEYS_VARIANTS:-exit proto-hash proto-cgrp-storage proto-task-storage proto-task-cset proto-index-hash
    proto-percpu-cache proto-percpu-last proto-last-helper proto-target-in enter-exit proto-target-out proto-start-storage proto-start-timed proto-start-percpu proto-start-unguarded})

# The loop on the last CPU (pinned once in its cgroup), the programs' own
# process on the others, as bench/floor.py does.
bench_pinning
loop_ns() {
    "$REL/workload" --cgroup "$CG" --no-wait "${LOOP_PIN[@]}" bench-getppid "$CALLS" | awk '/^ns_per_call/ { print $2 }'
}
# ns per run of the attached programs named $1 (kernel names keep 15
# characters: an enter+exit pair shares them), summed, since they loaded.
prog_ns() {
    bpftool prog show --json | python3 -c '
import json, sys
runs = [p["run_time_ns"] / p["run_cnt"] for p in json.load(sys.stdin)
        if p.get("name", "").startswith(sys.argv[1][:15]) and p.get("run_cnt")]
print("%.1f" % sum(runs) if runs else "nan")' "$1"
}
prog_name() { case $1 in exit) echo floor_exit ;; enter-exit) echo floor_ ;; *) echo "${1//-/_}" ;; esac; }
# Enter+exit variants weigh against both empty programs.
floor_of() { case $1 in enter-exit | proto-start-* | proto-target-out) echo enter-exit ;; *) echo exit ;; esac; }

sysctl -qw kernel.bpf_stats_enabled=1
declare -A ADDED RUN
for r in $(seq "$ROUNDS"); do
    base=$(for _ in 1 2 3; do loop_ns; done | median)
    for v in "${VARIANTS[@]}"; do
        "${TRACER_CPUS[@]}" "$REL/benchfloor" --hooks "$v" >/dev/null 2>"$TOOL_LOG" &
        TOOL_PID=$!
        # Timed only once every program is attached (it says so).
        for _ in $(seq 100); do
            grep -q attached "$TOOL_LOG" && break
            sleep 0.1
        done
        grep -q attached "$TOOL_LOG" || { cat "$TOOL_LOG" >&2; exit 1; }
        ns=$(for _ in 1 2 3; do loop_ns; done | median)
        RUN[$v]+="$(prog_ns "$(prog_name "$v")") "
        kill -INT "$TOOL_PID"; wait "$TOOL_PID" || true; TOOL_PID=
        ADDED[$v]+="$(awk -v a="$ns" -v b="$base" 'BEGIN { print a - b }') "
    done
    echo "bench: round $r/$ROUNDS done" >&2
done

stats() { tr ' ' '\n' <<<"$1" | grep -v '^$' | spread; } # "v1 v2 ...": median (min..max)
med() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }

rev=$(code_revision)
out=bench/results/keys-$(date +%FT%H%M).md
{
    echo "Measured $(date '+%F %H:%M %Z') on $(uname -n): kernel $(uname -r), $(nproc) CPUs; getppid loop of $CALLS calls (pinned to the last CPU when there are two or more), $ROUNDS interleaved rounds of 3 loops; statistics on throughout; code $rev."
    echo
    echo "| variant (benchfloor --hooks) | ns per run (bpf_stats; enter+exit summed) | added ns per call | / floor |"
    echo "|---|---:|---:|---:|"
    for v in "${VARIANTS[@]}"; do
        a=$(med "${ADDED[$v]}") f=$(floor_of "$v")
        floor=$(med "${ADDED[$f]:-}")
        printf '| %s | %s | %s | %s |\n' "$v" "$(stats "${RUN[$v]}")" "$(stats "${ADDED[$v]}")" \
            "$(awk -v a="$a" -v b="${floor:-0}" -v f="$f" 'BEGIN { if (b > 0) printf "%.2fx (%s)", a / b, f }')"
    done
} | tee "$out"
echo "bench: kept in $out" >&2
