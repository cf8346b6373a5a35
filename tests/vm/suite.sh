#!/usr/bin/env bash
# Runs the integration test binaries inside a virtme-ng guest
# (`scripts/vmtest --suite K`), one test at a time, timed.
#
# usage: suite.sh TEST-BINARY... [-- LIBTEST-ARGS...]   (e.g. -- --skip soak)
# Environment: CONTRACE_TEST_TIME_SCALE (passed on to the harness).
# The guest is pure cgroup v2; a scratch virtio disk (the first vd*) is
# mounted on /var/tmp (the block tests make their scratch file systems
# there, on a tmpfs and a loop device each).
set -u
export REQUIRE_BPF_TESTS=1
bins=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    bins+=("$1")
    shift
done
[ $# -gt 0 ] && shift
libtest=("$@")

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
echo "+io +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
disk=""
for d in /sys/block/vd*; do
    [ -e "$d" ] && disk=${d##*/} && break
done
if [ -z "$disk" ] || ! mount "/dev/$disk" /var/tmp; then
    echo "@@suite no scratch disk for /var/tmp"
    exit 1
fi
echo "@@suite kernel $(uname -r), cgroup2 subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)," \
    "/var/tmp on $disk, time scale ${CONTRACE_TEST_TIME_SCALE:-1}"

passed=0
failed=0
log=$(mktemp)
for bin in "${bins[@]}"; do
    suite=$(basename "$bin")
    suite=${suite%-*}
    for t in $("$bin" --list --format terse "${libtest[@]}" | sed -n 's/: test$//p'); do
        start=$(date +%s)
        "$bin" --exact "$t" --test-threads=1 >"$log" 2>&1
        rc=$?
        secs=$(($(date +%s) - start))
        if [ $rc -eq 0 ]; then
            passed=$((passed + 1))
            printf '@@suite ok     %4ss %s::%s\n' "$secs" "$suite" "$t"
        else
            failed=$((failed + 1))
            printf '@@suite FAILED %4ss %s::%s\n' "$secs" "$suite" "$t"
            sed -n '/^---- /,/^failures:$/p' "$log" | head -n 40 | sed 's/^/@@suite   | /'
        fi
    done
done
rm -f "$log"
umount /var/tmp
echo "@@suite $passed passed, $failed failed"
