#!/usr/bin/env bash
# Throughput of O_DIRECT dd with and without conbiograph attached to its
# cgroup, interleaved in one run (untraced, traced, untraced, ...) so both
# see the same disk and the same neighbours; prints medians and the ratio.
#
#   sudo bench/conbiograph.sh [DIR] [ROUNDS]
#
# DIR must be on a real block device (default /var/tmp). Each round writes
# then reads 256 MiB in 1 MiB requests and 64 MiB in 4 KiB requests (the
# per-request cost of the BPF programs shows most with small requests).
# Env: CONBIOGRAPH=/path/to/binary (default: release build in target/),
# MB (size of the 1 MiB run, default 256).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

DIR=${1:-/var/tmp}
ROUNDS=${2:-7}
MB=${MB:-256}
BIN=${CONBIOGRAPH:-${CARGO_TARGET_DIR:-target}/release/conbiograph}

[ "$(id -u)" = 0 ] || { echo "bench/conbiograph.sh: run as root" >&2; exit 2; }
if [ ! -x "$BIN" ]; then
    cargo build --release -p conbiograph >&2
fi
if [ -d /sys/fs/cgroup/unified ] && grep -q cgroup2 <(stat -f -c %T /sys/fs/cgroup/unified); then
    CGROOT=/sys/fs/cgroup/unified
else
    CGROOT=/sys/fs/cgroup
fi
CG=$CGROOT/contrace-bench-cbg-$$
FILE=$DIR/contrace-bench-cbg-$$.bin
TOOL_PID=
cleanup() {
    [ -n "$TOOL_PID" ] && kill -INT "$TOOL_PID" 2>/dev/null && wait "$TOOL_PID" 2>/dev/null
    rm -f "$FILE" "$DIR/cbg-bench-err.$$"
    rmdir "$CG" 2>/dev/null || true
}
trap cleanup EXIT
mkdir "$CG"

# Bytes per second of one dd run inside the cgroup ($1 = dd arguments).
dd_rate() {
    bash -c "echo \$\$ > $CG/cgroup.procs; exec dd $1" 2>&1 >/dev/null |
        awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "copied,") { print $1 / $(i + 1); exit } }'
}

# One round of the four workloads; prints four rates.
round() {
    local w1 r1 w4 r4
    w1=$(dd_rate "if=/dev/zero of=$FILE bs=1M count=$MB oflag=direct conv=notrunc")
    r1=$(dd_rate "if=$FILE of=/dev/null bs=1M count=$MB iflag=direct")
    w4=$(dd_rate "if=/dev/zero of=$FILE bs=4k count=16384 oflag=direct conv=notrunc")
    r4=$(dd_rate "if=$FILE of=/dev/null bs=4k count=16384 iflag=direct")
    echo "$w1 $r1 $w4 $r4"
}

start_tool() {
    "$BIN" -c "$CG" -t 1000 >/dev/null 2>"$DIR/cbg-bench-err.$$" &
    TOOL_PID=$!
    for _ in $(seq 600); do
        grep -q Ctrl-C "$DIR/cbg-bench-err.$$" 2>/dev/null && return
        sleep 0.1
    done
    echo "conbiograph did not attach: $(cat "$DIR/cbg-bench-err.$$")" >&2
    exit 1
}

stop_tool() {
    kill -INT "$TOOL_PID"
    wait "$TOOL_PID" || true
    TOOL_PID=
}

# Lay the file out once so every round overwrites allocated blocks.
dd if=/dev/zero of="$FILE" bs=1M count="$MB" oflag=direct status=none

# ABBA order (odd rounds untraced first, even rounds traced first) so a
# drifting disk or neighbour load does not favour either side.
UNTRACED=() TRACED=()
for i in $(seq "$ROUNDS"); do
    if [ $((i % 2)) = 1 ]; then
        UNTRACED+=("$(round)")
        start_tool
        TRACED+=("$(round)")
        stop_tool
    else
        start_tool
        TRACED+=("$(round)")
        stop_tool
        UNTRACED+=("$(round)")
    fi
    echo "round $i/$ROUNDS: untraced ${UNTRACED[-1]} traced ${TRACED[-1]} (B/s)" >&2
done

col() { local n=$1; shift; printf '%s\n' "$@" | awk -v n="$n" '{ print $n }' | median; }
# Median over rounds of traced/untraced within the same round.
ratio() {
    local n=$1
    for i in "${!UNTRACED[@]}"; do
        awk -v n="$n" -v u="${UNTRACED[$i]}" -v t="${TRACED[$i]}" \
            'BEGIN { split(u, a, " "); split(t, b, " "); print b[n] / a[n] }'
    done | median
}

printf '%-22s %14s %14s %14s\n' "workload ($ROUNDS rounds)" "untraced MB/s" "traced MB/s" "traced/untraced"
names=("write 1M O_DIRECT" "read 1M O_DIRECT" "write 4k O_DIRECT" "read 4k O_DIRECT")
for c in 1 2 3 4; do
    u=$(col "$c" "${UNTRACED[@]}")
    t=$(col "$c" "${TRACED[@]}")
    r=$(ratio "$c")
    awk -v name="${names[$((c - 1))]}" -v u="$u" -v t="$t" -v r="$r" \
        'BEGIN { printf "%-22s %14.1f %14.1f %13.1f%%\n", name, u / 1e6, t / 1e6, 100 * r }'
done
echo "(MB/s: medians; traced/untraced: median of the per-round ratios)"
