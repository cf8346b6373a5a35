#!/bin/sh
# The VM matrix checks: runs each contrace tool against the ground-truth
# workload and records what it printed. Judging happens on the host
# (vmjudge reads $OUT), so this script only runs things and writes files.
#
# Runs in the guest (busybox sh, started by tests/vm/init) and on the host
# (`scripts/vmtest --kernel host`). Environment:
#   BIN      directory with constat, syscount, unsharesnoop, conbiograph, contrace-exporter, workload
#   OUT      where each run's files go (one directory per run)
#   CGROOT   the cgroup2 mount
#   SCRATCH  a directory on a real block device (ext4), for conbiograph
#   ATTACH_TIMEOUT, STOP_TIMEOUT, WORK_TIMEOUT  seconds (defaults below)
#
# Per run directory: cmd, stdout, stderr, meta (key=value: ground truth and
# what happened: attached, hung, rc), and w-<name>.out for each workload.
set -u

: "${BIN:?}" "${OUT:?}" "${CGROOT:?}" "${SCRATCH:?}"
ATTACH_TIMEOUT=${ATTACH_TIMEOUT:-180}
STOP_TIMEOUT=${STOP_TIMEOUT:-60}
WORK_TIMEOUT=${WORK_TIMEOUT:-300}

# Ground truth. The judge reads these from each run's meta file.
GETPPID_N=1234
OPENFAIL_K=17
OUTSIDER_GETPPID=500
OUTSIDER_OPENFAIL=5
EXACT_OWN_GETPPID=77
BURST_N=20000
OUTSIDER_BURST=300
SMALL_BURST_N=100000
SMALL_ROUNDS=3
IO_BYTES=33554432 # 32 MiB
NATIVE_GETPPID=100
I386_GETPPID=50 # through int 0x80: i386 number 64 (x86_64's semget)
DENY_OPENFAIL=3
DENIED_GETPPID=20
DENIED_GETPPID32=7
EPERM=1
IO_PERIOD_MS=200

CG=$CGROOT/contrace-vmtest-$$
TARGET=$CG/target
INNER=$TARGET/inner
OUTSIDE=$CG/outside

# Console lines the host shows, stamped with seconds since boot.
say() { echo "@@vmtest [$(cut -d' ' -f1 /proc/uptime)] $*"; }

# Removes a cgroup tree after killing what is left in it.
remove_cgroup() {
    [ -d "$1" ] || return 0
    for sub in "$1"/*/; do
        [ -d "$sub" ] && remove_cgroup "${sub%/}"
    done
    [ -f "$1/cgroup.kill" ] && echo 1 >"$1/cgroup.kill" 2>/dev/null
    for p in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    i=0
    while ! rmdir "$1" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
}

cleanup() {
    [ -n "${TOOL_PID:-}" ] && kill -KILL "$TOOL_PID" 2>/dev/null
    remove_cgroup "$CG"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT" "$CG" || exit 1
# Controllers for the target (on the VM: io, so bios carry the target's blkcg).
want=""
for c in io memory pids; do
    grep -qw "$c" "$CG/cgroup.controllers" 2>/dev/null && want="$want +$c"
done
[ -n "$want" ] && echo "$want" >"$CG/cgroup.subtree_control"
mkdir -p "$INNER" "$OUTSIDE" || exit 1
{
    echo "kernel=$(uname -r)"
    echo "cgroup_root=$CGROOT"
    echo "controllers=$(cat "$TARGET/cgroup.controllers" 2>/dev/null)"
} >"$OUT/env"

RUN=""
TOOL_PID=""

# begin RUN TOOL ARGS...: starts TOOL in the background and waits for its
# "Ctrl-C" status line (printed once attached). Returns 1 if it never attached.
begin() {
    RUN=$OUT/$1
    shift
    mkdir -p "$RUN"
    echo "$*" >"$RUN/cmd"
    : >"$RUN/meta"
    say "run $(basename "$RUN"): $*"
    tool=$1
    shift
    "$BIN/$tool" "$@" >"$RUN/stdout" 2>"$RUN/stderr" </dev/null &
    TOOL_PID=$!
    ticks=0
    while ! grep -qs "Ctrl-C" "$RUN/stderr"; do
        if ! kill -0 "$TOOL_PID" 2>/dev/null; then
            wait "$TOOL_PID"
            echo "rc=$?" >>"$RUN/meta"
            echo "attached=0" >>"$RUN/meta"
            TOOL_PID=""
            say "  $tool exited before attaching"
            # Once more with libbpf's log, so the report can say why.
            timeout "$ATTACH_TIMEOUT" "$BIN/$tool" "$@" -v >/dev/null 2>"$RUN/stderr-verbose" </dev/null
            return 1
        fi
        ticks=$((ticks + 1))
        if [ $ticks -gt $((ATTACH_TIMEOUT * 10)) ]; then
            kill -KILL "$TOOL_PID" 2>/dev/null
            wait "$TOOL_PID"
            echo "attached=0" >>"$RUN/meta"
            echo "attach_timeout=$ATTACH_TIMEOUT" >>"$RUN/meta"
            TOOL_PID=""
            say "  $tool did not attach within ${ATTACH_TIMEOUT}s"
            return 1
        fi
        sleep 0.1
    done
    echo "attached=1" >>"$RUN/meta"
    echo "attach_ticks=$ticks" >>"$RUN/meta"
    sync # the host can tell a run the guest stalled in from one never started
    return 0
}

# finish: SIGINT (Ctrl-C) and wait for the final report; a tool still
# running after STOP_TIMEOUT is recorded as hung and killed.
finish() {
    kill -INT "$TOOL_PID" 2>/dev/null
    ticks=0
    while kill -0 "$TOOL_PID" 2>/dev/null; do
        # A zombie is done: wait reaps it below.
        state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$TOOL_PID/status" 2>/dev/null)
        [ "$state" = Z ] && break
        ticks=$((ticks + 1))
        if [ $ticks -gt $((STOP_TIMEOUT * 10)) ]; then
            echo "hung=1" >>"$RUN/meta"
            say "  still running ${STOP_TIMEOUT}s after SIGINT: killed"
            kill -KILL "$TOOL_PID" 2>/dev/null
            break
        fi
        sleep 0.1
    done
    wait "$TOOL_PID"
    echo "rc=$?" >>"$RUN/meta"
    echo "stop_ticks=$ticks" >>"$RUN/meta"
    TOOL_PID=""
    sync
}

# end_by_itself SECONDS: waits for a run given -d SECONDS to end on its own;
# STOP_TIMEOUT seconds after that it is recorded as hung and killed.
end_by_itself() {
    ticks=0
    while kill -0 "$TOOL_PID" 2>/dev/null; do
        state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$TOOL_PID/status" 2>/dev/null)
        [ "$state" = Z ] && break
        ticks=$((ticks + 1))
        if [ $ticks -gt $((($1 + STOP_TIMEOUT) * 10)) ]; then
            echo "hung=1" >>"$RUN/meta"
            say "  still running ${STOP_TIMEOUT}s after its -d ${1}s: killed"
            kill -KILL "$TOOL_PID" 2>/dev/null
            break
        fi
        sleep 0.1
    done
    wait "$TOOL_PID"
    echo "rc=$?" >>"$RUN/meta"
    echo "stop_ticks=$ticks" >>"$RUN/meta"
    TOOL_PID=""
    sync
}

# work NAME CGROUP ACTIONS...: runs the workload to the end in CGROUP. Its
# output goes through a pipe: a file it wrote itself would be pages it
# dirtied, and conbiograph would rightly charge their writeback to it.
work() {
    name=$1
    cg=$2
    shift 2
    wout=$(timeout "$WORK_TIMEOUT" "$BIN/workload" --cgroup "$cg" --no-wait "$@" 2>&1)
    echo "w_${name}_rc=$?" >>"$RUN/meta"
    printf '%s\n' "$wout" >"$RUN/w-$name.out"
}

meta() { echo "$1" >>"$RUN/meta"; }

# resident CGROUP: starts a workload that pauses in CGROUP until killed;
# prints its pid once it is in there.
resident() {
    "$BIN/workload" --cgroup "$1" --no-wait pause >/dev/null 2>&1 </dev/null &
    i=0
    while ! grep -qx "$!" "$1/cgroup.procs" 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    echo "$!"
}

# 1. constat: descendants in, outsiders out, --exact without the child.
if begin constat-tree constat -c "$TARGET" -o json; then
    meta "getppid=$GETPPID_N"
    meta "openfail=$OPENFAIL_K"
    meta "outsider_getppid=$OUTSIDER_GETPPID"
    work inner "$INNER" getppid $GETPPID_N openfail $OPENFAIL_K
    work outsider "$OUTSIDE" getppid $OUTSIDER_GETPPID openfail $OUTSIDER_OPENFAIL
    finish
fi
if begin constat-exact constat -c "$TARGET" --exact -o json; then
    meta "getppid=$EXACT_OWN_GETPPID"
    meta "child_getppid=$GETPPID_N"
    work own "$TARGET" getppid $EXACT_OWN_GETPPID
    work inner "$INNER" getppid $GETPPID_N openfail $OPENFAIL_K
    finish
fi

# constat: 32-bit calls under their i386 names, seccomp-denied calls.
if begin constat-i386 constat -c "$TARGET" -o json; then
    meta "getppid=$NATIVE_GETPPID"
    meta "getppid32=$I386_GETPPID"
    work inner "$INNER" getppid $NATIVE_GETPPID getppid32 $I386_GETPPID
    finish
fi
if begin constat-denied constat -c "$TARGET" -o json; then
    meta "openfail=$DENY_OPENFAIL"
    meta "denied_getppid=$DENIED_GETPPID"
    meta "denied_getppid32=$DENIED_GETPPID32"
    work inner "$INNER" openfail $DENY_OPENFAIL seccomp-deny getppid $EPERM \
        getppid $DENIED_GETPPID getppid32 $DENIED_GETPPID32
    finish
fi

# 2. syscount: count-only, latency and histogram modes load and count exactly.
for mode in count latency histogram; do
    case $mode in
    count) flags="" ;;
    latency) flags="-L" ;;
    histogram) flags="--histogram" ;;
    esac
    # shellcheck disable=SC2086 # $flags is one word or none
    if begin "syscount-$mode" syscount -c "$TARGET" $flags -T 50 -o json; then
        meta "getppid=$GETPPID_N"
        meta "outsider_getppid=$OUTSIDER_GETPPID"
        work inner "$INNER" getppid $GETPPID_N
        work outsider "$OUTSIDE" getppid $OUTSIDER_GETPPID
        finish
    fi
done
# Host-wide: every cgroup keyed in the kernel (constat with the entry hook,
# syscount count-only); the inner cgroup's rows are judged exactly (so none
# of the outsider's calls are in them). Every row is printed (-T): on a busy
# host the inner cgroup need not be among the top ten.
for mode in constat syscount; do
    case $mode in
    constat) cmd="constat" ;;
    syscount) cmd="syscount --by-cgroup" ;;
    esac
    # shellcheck disable=SC2086 # the tool and its one flag
    if begin "hostwide-$mode" $cmd --syscall getppid,openat -T 100000 -o json; then
        meta "getppid=$GETPPID_N"
        meta "openfail=$OPENFAIL_K"
        meta "cgroup=${INNER#"$CGROOT"}"
        work inner "$INNER" getppid $GETPPID_N openfail $OPENFAIL_K
        work outsider "$OUTSIDE" getppid $OUTSIDER_GETPPID
        finish
    fi
done

# 3. unsharesnoop: every event of a burst, or counted lost; ends on SIGINT.
# A resident task in the target from the start, in the host's namespaces:
# an outsider joining one of those (kthreadd's net; init's where pid 2 is
# no kernel thread) is not entering the target, so the tool must not show it.
resident=$(resident "$INNER")
host_ns_pid=2
[ "$(cat /proc/2/comm 2>/dev/null)" = kthreadd ] || host_ns_pid=1
if begin unsharesnoop-burst unsharesnoop --all -c "$TARGET" -o json; then
    meta "burst=$BURST_N"
    meta "outsider_burst=$OUTSIDER_BURST"
    work outsider "$OUTSIDE" unshare-burst $OUTSIDER_BURST setns $host_ns_pid net
    work inner "$INNER" unshare-burst $BURST_N
    finish
fi
[ -n "$resident" ] && kill -KILL "$resident" 2>/dev/null
# The shutdown race of a full one-page buffer does not show every time:
# several rounds, each judged (run directories unsharesnoop-small.N).
round=1
while [ $round -le $SMALL_ROUNDS ]; do
    if begin "unsharesnoop-small.$round" unsharesnoop --all -c "$TARGET" --buffer-pages 1 -o json; then
        meta "burst=$SMALL_BURST_N"
        work inner "$INNER" unshare-burst $SMALL_BURST_N
        finish
    fi
    round=$((round + 1))
done

# 4. conbiograph on the scratch disk.
IO=$SCRATCH/contrace-vmtest-$$
mkdir -p "$IO"
echo "scratch_device=$(stat -c %d "$IO" 2>/dev/null)" >>"$OUT/env"
if begin conbiograph-direct-write conbiograph -c "$TARGET" -t $IO_PERIOD_MS -o json; then
    meta "bytes=$IO_BYTES"
    meta "period_ms=$IO_PERIOD_MS"
    work writer "$TARGET" write-direct "$IO/direct" $IO_BYTES
    finish
fi
# The file read back is written before the tracer starts, from outside.
"$BIN/workload" --cgroup "$OUTSIDE" --no-wait write-direct "$IO/toread" $IO_BYTES >/dev/null 2>&1
if begin conbiograph-direct-read conbiograph -c "$TARGET" -t $IO_PERIOD_MS -o json; then
    meta "bytes=$IO_BYTES"
    meta "period_ms=$IO_PERIOD_MS"
    work reader "$TARGET" read-direct "$IO/toread" $IO_BYTES
    finish
fi
if begin conbiograph-fsync conbiograph -c "$TARGET" -t $IO_PERIOD_MS --write -o json; then
    meta "bytes=$IO_BYTES"
    meta "period_ms=$IO_PERIOD_MS"
    work writer "$TARGET" write-buffered "$IO/fsynced" $IO_BYTES fsync "$IO/fsynced"
    finish
fi
if begin conbiograph-sync conbiograph -c "$TARGET" -t $IO_PERIOD_MS -o json; then
    meta "bytes=$IO_BYTES"
    meta "period_ms=$IO_PERIOD_MS"
    work writer "$TARGET" write-buffered "$IO/synced" $IO_BYTES
    # sync from another cgroup: flusher threads write the pages.
    sh -c 'echo $$ >"$1/cgroup.procs" && exec sync' sh "$OUTSIDE"
    meta "sync_rc=$?"
    finish
fi
rm -rf "$IO"

# conbiograph -d S -t MS: exactly S*1000/MS periods, and a last, partial one
# (the rest's length) when MS does not divide the run.
for spec in periods:500:2 partial:300:1; do
    name=${spec%%:*}
    ms=${spec#*:}
    secs=${ms#*:}
    ms=${ms%:*}
    if begin "conbiograph-$name" conbiograph -c "$TARGET" -t "$ms" -d "$secs" -o json; then
        meta "period_ms=$ms"
        meta "seconds=$secs"
        meta "full=$((secs * 1000 / ms))"
        meta "partial_ms=$((secs * 1000 % ms))"
        end_by_itself "$secs"
    fi
done
# 5. contrace-exporter: every cgroup at once, counts, errors and namespace
# changes in one sys_exit program (its per-cgroup counter arrays, the index
# cached per CPU, then in task storage where the kernel has it), scraped over HTTP after the
# work until the work is served (a scrape waits for a drain only so long,
# and emulation is slow), for at most WORK_TIMEOUT s; the last scrape is
# judged.
# served FILE CGROUP N: FILE shows CGROUP's N getppid and its UTS change.
served() {
    awk -v cg="cgroup=\"$2\"" -v n="$3" '
        index($0, cg) && /^contrace_syscalls_total\{/ && /syscall="getppid"/ && $NF == n { calls = 1 }
        index($0, cg) && /^contrace_namespace_changes_total\{/ && /kind="uts"/ && $NF == 1 { uts = 1 }
        END { exit !(calls && uts) }' "$1"
}
for mode in default latency; do
    flags=""
    [ "$mode" = latency ] && flags=--latency
    # shellcheck disable=SC2086 # no flag, or one
    if begin "exporter-$mode" contrace-exporter --listen 127.0.0.1:9808 --no-block \
        --syscalls getppid,openat $flags; then
        meta "getppid=$GETPPID_N"
        meta "openfail=$OPENFAIL_K"
        meta "cgroup=${INNER#"$CGROOT"}"
        work inner "$INNER" getppid $GETPPID_N openfail $OPENFAIL_K unshare 0x04000000
        tries=0
        while :; do
            busybox wget -q -O "$RUN/metrics" http://127.0.0.1:9808/metrics
            rc=$?
            tries=$((tries + 1))
            [ $rc -eq 0 ] && served "$RUN/metrics" "${INNER#"$CGROOT"}" $GETPPID_N && break
            [ $tries -ge "$WORK_TIMEOUT" ] && break
            sleep 1
        done
        meta "scrape_rc=$rc"
        meta "scrapes=$tries"
        finish
    fi
done
# 6. Every other mode loads, attaches and ends cleanly: each is its own
# configuration of a BPF program (.rodata), so its own verifier run, and an
# older verifier may refuse one the others pass (6.1 refused the exporter's
# default once). A little work runs while each is attached.
i=0
while IFS= read -r mode; do
    [ -n "$mode" ] || continue
    i=$((i + 1))
    # shellcheck disable=SC2086 # a tool and its flags, split on purpose
    if begin "modes-load.$i" $mode; then
        work inner "$INNER" getppid 10 openfail 2
        finish
    fi
done <<MODES
constat -P
constat -c $TARGET -P
constat -c $TARGET --errno
constat -c $TARGET --histogram
constat -p 1
syscount -P
syscount -c $TARGET -x
syscount -c $TARGET -e ENOENT
syscount -c $TARGET --errno
syscount -c $TARGET --denied
syscount -L --by-cgroup
syscount --histogram --by-cgroup
syscount -p 1
unsharesnoop
unsharesnoop --all
unsharesnoop -p 1
contrace-exporter --listen 127.0.0.1:9808
contrace-exporter --listen 127.0.0.1:9808 --denied
contrace-exporter --listen 127.0.0.1:9808 --no-namespaces --latency
MODES
sync
say "checks done"
