# Shell helpers shared by scripts/, bench/ and deploy/validate; sourced, not
# run:  . "$(dirname "$0")/../scripts/lib.sh"

# apt_need [--no-start] PACKAGE...: installs the Debian packages that are not
# installed yet (sudo when not root), quietly, without recommends.
# --no-start: their services are not started (a policy-rc.d answering 101
# for the duration, removed again unless one was there already).
apt_need() {
    local no_start=0 missing=() p sudo="" policy=/usr/sbin/policy-rc.d ours=0 rc=0
    if [ "${1:-}" = --no-start ]; then
        no_start=1
        shift
    fi
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "$(basename "$0"): installing ${missing[*]}" >&2
    if [ $no_start -eq 1 ] && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod 755 "$policy"
        ours=1
    fi
    {
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            $sudo env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    } || rc=$?
    [ $ours -eq 0 ] || $sudo rm -f "$policy"
    [ $rc -eq 0 ] || echo "$(basename "$0"): apt-get install ${missing[*]} failed ($rc)" >&2
    return $rc
}

# apt_need_commands COMMAND:PACKAGE...: apt_need for the packages whose
# command is not on PATH (it may come from elsewhere: a kubectl of another
# package, a python3 of pyenv).
apt_need_commands() {
    local want=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || want+=("${pair#*:}")
    done
    [ ${#want[@]} -eq 0 ] || apt_need "${want[@]}"
}

# median: the median of the numbers on stdin, one per line (empty if none).
median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# spread [FORMAT]: numbers on stdin, one per line -> "median (min..max)",
# each printed with FORMAT (default %.0f); nothing when there are none.
spread() {
    sort -g | awk -v f="${1:-%.0f}" '{ v[NR] = $1 } END { if (!NR) exit
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf f " (" f ".." f ")", m, v[1], v[NR] }'
}

# bench_pinning: sets LOOP_PIN (the workload's "pin CPU" action: the timed
# loop on the last CPU, pinned once in its cgroup) and TRACER_CPUS (a taskset
# prefix keeping tracers on the other CPUs); both empty with one CPU. As
# bench/floor.py does.
bench_pinning() {
    local cpus
    cpus=$(nproc)
    LOOP_PIN=() TRACER_CPUS=()
    if [ "$cpus" -gt 1 ]; then
        LOOP_PIN=(pin $((cpus - 1)))
        TRACER_CPUS=(taskset -c "0-$((cpus - 2))")
    fi
}

# code_revision: the commit a benchmark measured, "+changes" when the
# tracked files differ from it.
code_revision() {
    local rev
    rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || rev+="+changes"
    echo "$rev"
}
