#!/usr/bin/env bash
# unsharesnoop: added cost per unshare(2) call, and the event rate it
# sustains without loss.
#
#   sudo bench/unsharesnoop.sh [--quick]
#
# 1. Cost: a loop of unshare(0) calls (the cheapest namespace call, so the
#    tracer's share shows most) in a cgroup, untraced and traced, rounds
#    interleaved so both see the same neighbours; medians of ns per call.
#    "traced" = unsharesnoop -c CG (every call is an event, JSON to
#    /dev/null); "outside" = unsharesnoop -c on another cgroup (the cost
#    a process pays for being filtered out in the kernel).
# 2. Rate: bursts of unshare(0) as fast as one and two processes can make
#    them, events counted by unsharesnoop (table and JSON to /dev/null);
#    events/s is events over the burst's wall time, lost from the kernel's
#    counter. No loss at that rate means the tool keeps up with it.
# Env: UNSHARESNOOP, WORKLOAD (binaries; default release builds in target/).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
if [ $QUICK = 1 ]; then ROUNDS=3 CALLS=200000 BURST=200000; else ROUNDS=7 CALLS=1000000 BURST=1000000; fi
REL=${CARGO_TARGET_DIR:-target}/release
BIN=${UNSHARESNOOP:-$REL/unsharesnoop}
WORKLOAD=${WORKLOAD:-$REL/workload}

[ "$(id -u)" = 0 ] || { echo "bench/unsharesnoop.sh: run as root" >&2; exit 2; }
if [ ! -x "$BIN" ] || [ ! -x "$WORKLOAD" ]; then
    cargo build --release -p unsharesnoop -p contrace-workload --bins >&2
fi
if [ -d /sys/fs/cgroup/unified ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified)" = cgroup2fs ]; then
    CGROOT=/sys/fs/cgroup/unified
else
    CGROOT=/sys/fs/cgroup
fi
CG=$CGROOT/contrace-bench-us-$$
OTHER=$CGROOT/contrace-bench-us-other-$$
ERR=$(mktemp)
TOOL_PID=
cleanup() {
    if [ -n "$TOOL_PID" ]; then kill -INT "$TOOL_PID" 2>/dev/null || true; wait "$TOOL_PID" 2>/dev/null || true; fi
    rm -f "$ERR"
    rmdir "$CG" "$OTHER" 2>/dev/null || true
}
trap cleanup EXIT
mkdir "$CG" "$OTHER"

# Starts unsharesnoop in the background and waits until it has attached.
start_tool() {
    "$BIN" "$@" > /dev/null 2> "$ERR" &
    TOOL_PID=$!
    for _ in $(seq 600); do
        grep -q Ctrl-C "$ERR" && return 0
        kill -0 "$TOOL_PID" 2>/dev/null || { cat "$ERR" >&2; exit 1; }
        sleep 0.05
    done
    echo "unsharesnoop did not attach" >&2; exit 1
}
# Stops it and sets EVENTS and LOST from its last status line.
stop_tool() {
    kill -INT "$TOOL_PID"; wait "$TOOL_PID" || true; TOOL_PID=
    read -r EVENTS LOST < <(tail -1 "$ERR" | awk '{print $1, $3}')
}
loop_ns() { "$WORKLOAD" --cgroup "$CG" --no-wait bench-unshare "$1" | awk '/ns_per_call/ {print $2}'; }

echo "## unsharesnoop"
echo
echo "Cost per unshare(0), ns (median of $ROUNDS rounds of $CALLS calls):"
base=() traced=() outside=()
for _ in $(seq "$ROUNDS"); do
    base+=("$(loop_ns "$CALLS")")
    start_tool -c "$CG" --calls unshare --output json; traced+=("$(loop_ns "$CALLS")"); stop_tool
    start_tool -c "$OTHER" --calls unshare --output json; outside+=("$(loop_ns "$CALLS")"); stop_tool
done
b=$(printf '%s\n' "${base[@]}" | median)
t=$(printf '%s\n' "${traced[@]}" | median)
o=$(printf '%s\n' "${outside[@]}" | median)
echo
echo "| run | ns/call | added |"
echo "|---|---:|---:|"
printf '| untraced | %.0f | |\n' "$b"
printf '| traced (every call an event) | %.0f | %+.0f |\n' "$t" "$(echo "$t - $b" | bc -l)"
printf '| other cgroup traced (filtered out) | %.0f | %+.0f |\n' "$o" "$(echo "$o - $b" | bc -l)"

echo
echo "Event rate, bursts of $BURST unshare(0) per process, output to /dev/null:"
echo
echo "| output | processes | buffer pages | events/s | events | lost |"
echo "|---|---:|---:|---:|---:|---:|"
for output in table json; do
    for procs in 1 2; do
        for pages in 1024 8192; do
            start_tool -c "$CG" --calls unshare --output "$output" --buffer-pages "$pages"
            t0=$(date +%s.%N)
            workers=()
            for _ in $(seq "$procs"); do loop_ns "$BURST" > /dev/null & workers+=($!); done
            wait "${workers[@]}"
            t1=$(date +%s.%N)
            sleep 0.3
            stop_tool
            rate=$(echo "$EVENTS / ($t1 - $t0)" | bc -l)
            printf '| %s | %d | %d | %.0f | %d | %d |\n' "$output" "$procs" "$pages" "$rate" "$EVENTS" "$LOST"
        done
    done
done
