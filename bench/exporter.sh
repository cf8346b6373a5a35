#!/usr/bin/env bash
# Always-on cost of contrace-exporter: ns added to every system call of the
# node, against the floor (empty programs on the same hooks) and the
# on-demand tools, all in one run.
#
#   sudo bench/exporter.sh [ROUNDS] [CALLS]     (defaults: 5 rounds, 1000000 calls)
#   bench/exporter.sh --quick                   (1 round, 200000 calls)
#   ONLY='exporter|host' bench/exporter.sh 9    (only configurations whose name matches)
#
# A getppid loop (the workload's bench-getppid) runs in a fresh cgroup while
# each configuration is attached in turn; rounds interleave the
# configurations so drift on a shared VM hits them alike. The loop is pinned
# to the last CPU once in its cgroup, the tracers to the others (as
# bench/floor.py does). Per configuration and round: the fastest of 3 loops
# (other work on the machine only ever adds), minus the fastest of 3
# untraced loops run right before it ("added"); each number is the median
# over rounds. Ratios divide added ns by added ns of the same round, then
# take the median over rounds (with the spread), as bench/floor.py does.
#
# The exporter traces every cgroup of the node: a per-cgroup array of
# counters per CPU, the errno hash only on failure; syscount/constat -c CG
# trace one cgroup. `syscount --by-cgroup --errno` (whole host) counts the
# same things in the on-demand tool's (cgroup, syscall, errno) hash.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export PATH="$HOME/.cargo/bin:$PATH"

ROUNDS=5 CALLS=1000000
if [ "${1:-}" = --quick ]; then
    ROUNDS=1 CALLS=200000
else
    ROUNDS=${1:-5} CALLS=${2:-1000000}
fi
[ "$(id -u)" = 0 ] || { echo "bench/exporter.sh: run as root (BPF)" >&2; exit 2; }
REL=${CARGO_TARGET_DIR:-target}/release
cargo build --release --quiet -p contrace-exporter -p syscount -p constat -p benchfloor \
    -p contrace-workload --bin contrace-exporter --bin syscount --bin constat --bin benchfloor --bin workload >&2

cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
CG=$cg2/contrace-bench-exporter-$$
LOG=$(mktemp)
TOOL_PID=
cleanup() {
    [ -n "$TOOL_PID" ] && { kill -INT "$TOOL_PID" 2>/dev/null; wait "$TOOL_PID" 2>/dev/null || true; }
    rm -f "$LOG"
    rmdir "$CG" 2>/dev/null || true
}
trap cleanup EXIT
mkdir "$CG"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# name|command ("-" = untraced); CG and PORT are substituted.
CONFIGS=(
    "untraced|-"
    "floor: empty tp_btf exit only|$REL/benchfloor --hooks exit"
    "floor: empty tp_btf enter+exit|$REL/benchfloor --hooks enter-exit"
    "contrace-exporter (default)|$REL/contrace-exporter --listen 127.0.0.1:PORT"
    "contrace-exporter --no-namespaces|$REL/contrace-exporter --no-namespaces --listen 127.0.0.1:PORT"
    "contrace-exporter --denied|$REL/contrace-exporter --denied --listen 127.0.0.1:PORT"
    "contrace-exporter --latency|$REL/contrace-exporter --latency --listen 127.0.0.1:PORT"
    "syscount --by-cgroup --errno (host)|$REL/syscount --by-cgroup --errno"
    "syscount -c CG|$REL/syscount -c CG"
    "syscount -L -c CG|$REL/syscount -L -c CG"
    "constat -c CG|$REL/constat -c CG"
)

if [ -n "${ONLY:-}" ]; then
    kept=()
    for entry in "${CONFIGS[@]}"; do
        name=${entry%%|*}
        [[ $name == untraced || $name =~ $ONLY ]] && kept+=("$entry")
    done
    CONFIGS=("${kept[@]}")
fi

bench_pinning
loop_ns() {
    "$REL/workload" --cgroup "$CG" --no-wait "${LOOP_PIN[@]}" bench-getppid "$CALLS" | awk '/^ns_per_call/ { print $2 }'
}
fastest3() { for _ in 1 2 3; do loop_ns; done | sort -g | head -n 1; }

start_tool() { # command
    local cmd=${1//CG/$CG}
    cmd=${cmd//PORT/$port}
    # shellcheck disable=SC2086
    "${TRACER_CPUS[@]}" $cmd >/dev/null 2>"$LOG" &
    TOOL_PID=$!
    for _ in $(seq 600); do
        grep -q Ctrl-C "$LOG" 2>/dev/null && return 0
        kill -0 "$TOOL_PID" 2>/dev/null || { echo "bench: '$cmd' exited: $(cat "$LOG")" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench: '$cmd' did not attach: $(cat "$LOG")" >&2
    exit 1
}
stop_tool() {
    kill -INT "$TOOL_PID"
    wait "$TOOL_PID" || true
    TOOL_PID=
}

declare -A NS ADDED
for r in $(seq "$ROUNDS"); do
    for entry in "${CONFIGS[@]}"; do
        name=${entry%%|*} cmd=${entry#*|}
        # Paired: the untraced loop right before each configuration.
        base=$(fastest3)
        if [ "$cmd" = - ]; then
            ns=$base
        else
            start_tool "$cmd"
            ns=$(fastest3)
            stop_tool
        fi
        NS[$name]+="$ns "
        ADDED[$name]+="$(awk -v a="$ns" -v b="$base" 'BEGIN { print a - b }') "
    done
    echo "bench: round $r/$ROUNDS done" >&2
done

med() { tr ' ' '\n' <<<"$1" | { grep -v '^$' || true; } | median; }
added_of() { med "${ADDED[$1]:-}"; }
# $1's added ns divided by $2's in the same round: median (min..max) over
# rounds, so drift between rounds on a shared machine cancels.
ratio() { # name base label
    local a=${ADDED[$1]:-} b=${ADDED[$2]:-} r
    [ -n "$b" ] || return 0
    r=$(paste -d ' ' <(tr ' ' '\n' <<<"$a" | grep -v '^$') <(tr ' ' '\n' <<<"$b" | grep -v '^$') |
        awk '$2 > 0 { print $1 / $2 }' | spread %.2f)
    [ -z "$r" ] || printf '%s %s' "${r/ /x }" "$3"
}
F1="floor: empty tp_btf exit only" F2="floor: empty tp_btf enter+exit"
HOST="syscount --by-cgroup --errno (host)" SC="syscount -c CG" SCL="syscount -L -c CG" CS="constat -c CG"

rev=$(code_revision)
echo "Measured $(date '+%F %H:%M %Z') on $(uname -n): kernel $(uname -r), $(nproc) CPUs; getppid loop of $CALLS calls (pinned to the last CPU when there are two or more), median of $ROUNDS interleaved rounds of the fastest of 3 loops; code $rev."
echo
echo "| configuration | ns/call | added ns | ratios (added / added in the same round: median (min..max) over rounds) |"
echo "|---|---:|---:|---|"
for entry in "${CONFIGS[@]}"; do
    name=${entry%%|*}
    ns=$(med "${NS[$name]}")
    added=$(added_of "$name")
    ratios=""
    case "$name" in
    "contrace-exporter (default)" | "contrace-exporter --no-namespaces")
        ratios="$(ratio "$name" "$F1" "floor (exit)"), $(ratio "$name" "$HOST" "syscount --by-cgroup --errno"), $(ratio "$name" "$SC" "syscount -c"), $(ratio "$name" "$CS" "constat")" ;;
    "contrace-exporter --denied")
        ratios="$(ratio "$name" "$F2" "floor (enter+exit)")" ;;
    "contrace-exporter --latency")
        ratios="$(ratio "$name" "$F2" "floor (enter+exit)"), $(ratio "$name" "$SCL" "syscount -L -c"), $(ratio "$name" "$CS" "constat")" ;;
    "$HOST" | "$SC") ratios="$(ratio "$name" "$F1" "floor (exit)")" ;;
    "$SCL" | "$CS") ratios="$(ratio "$name" "$F2" "floor (enter+exit)")" ;;
    esac
    # Peers left out by ONLY leave empty parts.
    ratios=$(sed -E 's/(, )+/, /g; s/^, //; s/, $//' <<<"$ratios")
    printf '| %s | %.0f | %+.0f | %s |\n' "$name" "$ns" "$added" "$ratios"
done
