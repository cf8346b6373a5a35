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
# over rounds. Ratios divide added ns by added ns.
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx %s", a / b, "'"$3"'" }'; }
floor1=$(added_of "floor: empty tp_btf exit only")
floor2=$(added_of "floor: empty tp_btf enter+exit")
host=$(added_of "syscount --by-cgroup --errno (host)")
sc=$(added_of "syscount -c CG")
scl=$(added_of "syscount -L -c CG")
cs=$(added_of "constat -c CG")

rev=$(code_revision)
echo "Measured $(date '+%F %H:%M %Z') on $(uname -n): kernel $(uname -r), $(nproc) CPUs; getppid loop of $CALLS calls (pinned to the last CPU when there are two or more), median of $ROUNDS interleaved rounds of the fastest of 3 loops; code $rev."
echo
echo "| configuration | ns/call | added ns | ratios (added / added) |"
echo "|---|---:|---:|---|"
for entry in "${CONFIGS[@]}"; do
    name=${entry%%|*}
    ns=$(med "${NS[$name]}")
    added=$(added_of "$name")
    ratios=""
    case "$name" in
    "contrace-exporter (default)")
        ratios="$(ratio "$added" "$floor1" "floor (exit)"), $(ratio "$added" "$host" "syscount --by-cgroup --errno"), $(ratio "$added" "$sc" "syscount -c"), $(ratio "$added" "$cs" "constat")" ;;
    "contrace-exporter --denied")
        ratios="$(ratio "$added" "$floor2" "floor (enter+exit)")" ;;
    "contrace-exporter --latency")
        ratios="$(ratio "$added" "$floor2" "floor (enter+exit)"), $(ratio "$added" "$scl" "syscount -L -c"), $(ratio "$added" "$cs" "constat")" ;;
    "contrace-exporter --no-namespaces")
        ratios="$(ratio "$added" "$floor1" "floor (exit)"), $(ratio "$added" "$host" "syscount --by-cgroup --errno"), $(ratio "$added" "$sc" "syscount -c"), $(ratio "$added" "$cs" "constat")" ;;
    "syscount --by-cgroup --errno (host)" | "syscount -c CG") ratios="$(ratio "$added" "$floor1" "floor (exit)")" ;;
    "syscount -L -c CG" | "constat -c CG") ratios="$(ratio "$added" "$floor2" "floor (enter+exit)")" ;;
    esac
    printf '| %s | %.0f | %+.0f | %s |\n' "$name" "$ns" "$added" "$ratios"
done
