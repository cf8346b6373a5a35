# shellcheck shell=bash
# Sourced by `scripts/deb --check` (root, repository root as cwd, TOOLS,
# EXPORTER, BOOT and name_of from scripts/deb): installs the two packages,
# checks them, runs the exporter as its systemd unit would (setpriv, then
# under systemd itself in a systemd-nspawn container unless --no-boot),
# removes and purges them, and checks that nothing is left.

SVC_USER=contrace-exporter
DEFAULTS=/etc/default/contrace-exporter
WORKLOAD_CALLS=4321
strace_pid=""
exporter_pid=""
nspawn_pid=""
nspawn_cgroups=()
machine=contrace-deb-check-$$
exec_env=()
check_cgroup=""
installed=0

fail() { echo "deb: check failed: $*" >&2; exit 1; }

# Whether child PID still runs (an exited child stays a zombie until waited for).
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $st != Z* ]]; }

# Undoes whatever the check did, on success and on failure alike.
check_cleanup() {
    local pid cg
    [ -z "$exporter_pid" ] || kill -TERM "$exporter_pid" 2>/dev/null || true
    if [ -n "$strace_pid" ]; then
        for pid in $(pgrep -P "$strace_pid"); do kill -TERM "$pid" 2>/dev/null || true; done
        wait "$strace_pid" 2>/dev/null || true
    fi
    [ -z "$nspawn_pid" ] || stop_container
    for cg in "${nspawn_cgroups[@]}"; do
        [ ! -d "$cg" ] || find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    if [ -n "$check_cgroup" ] && [ -d "$check_cgroup" ]; then
        echo 1 > "$check_cgroup/cgroup.kill" 2>/dev/null || true
        for _ in $(seq 50); do rmdir "$check_cgroup" 2>/dev/null && break; sleep 0.1; done
    fi
    if [ "$installed" = 1 ]; then
        dpkg -P "$EXPORTER" contrace >/dev/null 2>&1 || true
    fi
    [ -z "${check_tmp:-}" ] || rm -rf --one-file-system "$check_tmp"
}

# Installs (apt) the packages of commands the check needs and lacks.
need_commands() {
    local want=(systemd-analyze:systemd curl:curl strace:strace man:man-db setpriv:util-linux)
    [ "$BOOT" = 0 ] || want+=(systemd-nspawn:systemd-container nsenter:util-linux)
    local missing=() pair
    for pair in "${want[@]}"; do
        command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
    done
    [ "${#missing[@]}" = 0 ] && return
    echo "deb: installing ${missing[*]} for the check" >&2
    # A fresh machine may have no package lists yet.
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# What of contrace is on the system outside the packages' own files: paths
# named *contrace* where packages, units and their state live (not
# /usr/local, where scripts/install puts its copies), and the user.
leftovers() {
    find /etc /usr /var/lib/systemd /var/lib/dpkg/info /run/systemd -xdev \
        -path /usr/local -prune -o -name '*contrace*' -print 2>/dev/null | sort
    getent passwd "$SVC_USER" || true
    getent group "$SVC_USER" || true
}

refuse_if_present() {
    local p
    for p in contrace "$EXPORTER"; do
        if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
            fail "$p is already installed; not touching it"
        fi
    done
    ! getent passwd "$SVC_USER" >/dev/null || fail "user $SVC_USER exists already; not touching it"
}

check_tools() {
    local t n
    for t in "${TOOLS[@]}"; do
        n=$(name_of "$t")
        [ -x "/usr/sbin/$n" ] || fail "/usr/sbin/$n missing"
        "/usr/sbin/$n" --version | grep -q "^$t " || fail "/usr/sbin/$n --version"
        "/usr/sbin/$n" -d 0.5 -o json > /dev/null 2>&1 || fail "/usr/sbin/$n -d 0.5 did not run"
        check_page_and_completion "$n" "$t"
    done
    ! dpkg -L contrace | grep -q '^/usr/sbin/syscount$' ||
        fail "the package must not own /usr/sbin/syscount"
}

# NAME: the installed command; BIN: the binary's own name (clap's function).
check_page_and_completion() {
    local n=$1 bin=$2
    [ -f "/usr/share/man/man8/$n.8.gz" ] || fail "man page of $n missing"
    man -w "$n" >/dev/null 2>&1 || fail "man $n does not find the page"
    bash -c "source /usr/share/bash-completion/completions/$n && complete -p $n" \
        | grep -q -- "-F _clap_complete_${bin//-/_} $n" || fail "completion of $n"
}

# The exporter package's files, user and unit state right after dpkg -i.
check_exporter_install() {
    [ -x "/usr/sbin/$EXPORTER" ] || fail "/usr/sbin/$EXPORTER missing"
    "/usr/sbin/$EXPORTER" --version | grep -q "^$EXPORTER " || fail "$EXPORTER --version"
    check_page_and_completion "$EXPORTER" "$EXPORTER"
    grep -qx 'ARGS=""' "$DEFAULTS" || fail "$DEFAULTS has no ARGS=\"\" line"
    dpkg-query -W -f='${Conffiles}' "$EXPORTER" | grep -q " $DEFAULTS " ||
        fail "$DEFAULTS is not a conffile"
    local uid shell
    IFS=: read -r _ _ uid _ _ _ shell < <(getent passwd "$SVC_USER") ||
        fail "postinst did not create user $SVC_USER"
    [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] || fail "$SVC_USER has uid $uid, not a system uid"
    [ "$shell" = /usr/sbin/nologin ] || fail "$SVC_USER has shell $shell"
    getent group "$SVC_USER" >/dev/null || fail "no group $SVC_USER"
    local link=/etc/systemd/system/multi-user.target.wants/$EXPORTER.service
    [ "$(readlink -f "$link")" = "$(readlink -f "$UNIT")" ] || fail "the unit is not enabled ($link)"
    if [ ! -d /run/systemd/system ] && pgrep -u "$SVC_USER" >/dev/null; then
        fail "something runs as $SVC_USER although systemd does not run here"
    fi
    local out
    out=$(systemd-analyze verify "$UNIT" 2>&1) || fail "systemd-analyze verify $UNIT: $out"
    ! grep -q . <<<"$out" || fail "systemd-analyze verify $UNIT warns: $out"
}

# Values of KEY in the unit's [Service] section, space-joined (a key given
# on several lines accumulates, as systemd's list settings do).
unit_values() {
    awk -v key="$1" '/^\[/ { s = ($0 == "[Service]") } s && index($0, key "=") == 1 {
        v = v (v == "" ? "" : " ") substr($0, length(key) + 2) } END { print v }' "$UNIT"
}

# "CAP_BPF CAP_PERFMON" -> "+bpf,+perfmon" (setpriv's spelling).
setpriv_caps() {
    local c out=""
    for c in $1; do
        c=${c#CAP_}
        out+="${out:+,}+${c,,}"
    done
    echo "$out"
}

# Capability names of a /proc status mask, sorted ("bpf perfmon").
cap_names() {
    local mask=$((16#$1)) n=0 name names=()
    while read -r name; do
        (( (mask >> n) & 1 )) && names+=("$name")
        n=$((n + 1))
    done < <(setpriv --list-caps)
    printf '%s\n' "${names[@]}" | sort | tr '\n' ' '
}

# KEY=VALUE lines of an EnvironmentFile, as systemd reads the simple case:
# comments (# or ;) skipped, one pair of surrounding quotes removed.
read_env_file() {
    local line name value
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line#"${line%%[![:space:]]*}"}
        [[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || continue
        name=${line%%=*}
        value=${line#*=}
        if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
            value=${BASH_REMATCH[1]}
        fi
        printf '%s=%s\n' "$name" "$value"
    done < "$1"
}

# The unit's ExecStart as words (exec_cmd) and its environment (exec_env),
# with $VAR and ${VAR} expanded as systemd does ($VAR splits at whitespace).
exec_words() {
    local word name value split
    local -A env=()
    while IFS='=' read -r name value; do
        env[$name]=$value
        exec_env+=("$name=$value")
    done < <(read_env_file "$ENV_FILE")
    exec_cmd=()
    set -f
    for word in $(unit_values ExecStart); do
        if [[ $word =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
            read -ra split <<<"${env[${BASH_REMATCH[1]}]:-}"
            exec_cmd+=("${split[@]}")
        elif [[ $word =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$ ]]; then
            exec_cmd+=("${env[${BASH_REMATCH[1]}]:-}")
        elif [[ $word == *'$'* ]]; then
            set +f; fail "ExecStart word '$word': this check expands only \$VAR and \${VAR}"
        else
            exec_cmd+=("$word")
        fi
    done
    set +f
}

# Starts the exporter the way the unit would, under strace (to compare its
# syscalls with the unit's filter); sets strace_pid, and exporter_pid and
# exporter_port once it serves.
start_as_unit() {
    local user group caps nnp umask_value
    user=$(unit_values User); group=$(unit_values Group)
    caps=$(setpriv_caps "$(unit_values AmbientCapabilities)")
    [ "$caps" = +bpf,+perfmon ] || fail "the unit grants $caps, not exactly CAP_BPF and CAP_PERFMON"
    [ "$(setpriv_caps "$(unit_values CapabilityBoundingSet)")" = "$caps" ] ||
        fail "the unit's bounding set differs from its ambient capabilities"
    nnp=$(unit_values NoNewPrivileges)
    [ "$nnp" = yes ] || fail "the unit must set NoNewPrivileges=yes (has '$nnp')"
    ENV_FILE=$(unit_values EnvironmentFile); ENV_FILE=${ENV_FILE#-}
    [ "$ENV_FILE" = "$DEFAULTS" ] || fail "the unit reads $ENV_FILE, not $DEFAULTS"
    umask_value=$(unit_values UMask)
    exec_words
    echo "deb: as the unit: setpriv --reuid=$user --regid=$group --init-groups" \
        "--inh-caps/--ambient-caps/--bounding-set=-all,$caps --no-new-privs;" \
        "umask ${umask_value:-0022}; ${exec_cmd[*]}" >&2
    (
        cd /
        umask "${umask_value:-0022}"
        exec strace -f -qq -s 256 -o "$check_tmp/trace" -- \
            env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            "${exec_env[@]}" \
            setpriv --reuid="$user" --regid="$group" --init-groups \
            --inh-caps=-all,"$caps" --ambient-caps=-all,"$caps" \
            --bounding-set=-all,"$caps" --no-new-privs -- "${exec_cmd[@]}"
    ) </dev/null >/dev/null 2>"$check_tmp/stderr" &
    strace_pid=$!
    wait_until_serving
    exporter_pid=$(pgrep -P "$strace_pid" -u "$SVC_USER" | head -1 || true)
    [ -n "$exporter_pid" ] || fail "no exporter process of user $SVC_USER under strace"
}

wait_until_serving() {
    local serving=""
    for _ in $(seq 600); do
        serving=$(grep -o 'serving https\?://[^ ]*/metrics' "$check_tmp/stderr" || true)
        [ -n "$serving" ] && break
        alive "$strace_pid" ||
            fail "the exporter exited before serving: $(tail -5 "$check_tmp/stderr")"
        sleep 0.1
    done
    [ -n "$serving" ] || fail "the exporter did not serve within 60 s: $(tail -5 "$check_tmp/stderr")"
    exporter_port=${serving%/metrics}
    exporter_port=${exporter_port##*:}
}

# Process PID runs as the unit says: its user and group, exactly its
# capabilities (permitted, effective, ambient, bounding), no new privileges.
check_credentials() {
    local pid=$1 status uid gid want set
    status=$(cat "/proc/$pid/status")
    uid=$(id -u "$SVC_USER"); gid=$(id -g "$SVC_USER")
    grep -qx "Uid:	$uid	$uid	$uid	$uid" <<<"$status" || fail "uids: $(grep Uid <<<"$status")"
    grep -qx "Gid:	$gid	$gid	$gid	$gid" <<<"$status" || fail "gids: $(grep Gid <<<"$status")"
    grep -qx "Groups:	$gid *" <<<"$status" || fail "groups: $(grep Groups <<<"$status")"
    grep -qx "NoNewPrivs:	1" <<<"$status" || fail "no_new_privs is not set"
    want=$(unit_values AmbientCapabilities | tr 'A-Z ' 'a-z\n' | sed 's/^cap_//' | sort | tr '\n' ' ')
    for set in CapPrm CapEff CapAmb CapBnd; do
        [ "$(cap_names "$(awk -v s="$set:" '$1 == s { print $2 }' <<<"$status")")" = "$want" ] ||
            fail "$set of the exporter is not exactly: $want"
    done
}

# Where cgroup2 is mounted (the field after "-" is the file system type).
cgroup2_mount() {
    local mount
    mount=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' \
        /proc/self/mountinfo | head -1)
    [ -n "$mount" ] || fail "no cgroup2 mount in /proc/self/mountinfo"
    echo "$mount"
}

# Value of contrace_syscalls_total{cgroup=CG,syscall=getppid}, empty if none.
served_getppid() {
    curl -fsS --noproxy '*' "http://127.0.0.1:$exporter_port/metrics" |
        grep '^contrace_syscalls_total{' | grep -F "cgroup=\"$1\"" |
        grep -F 'syscall="getppid"' | awk '{ print $2 }'
}

# A workload makes a known number of getppid calls in a fresh cgroup; the
# exporter must serve exactly that number.
check_exact_counts() {
    local cg2 name=contrace-deb-check-$$-$1 got=""
    [ "$(curl -fsS --noproxy '*' "http://127.0.0.1:$exporter_port/healthz")" = ok ] ||
        fail "/healthz is not ok"
    cg2=$(cgroup2_mount)
    check_cgroup=$cg2/$name
    mkdir "$check_cgroup"
    target/debug/workload --cgroup "$check_cgroup" --no-wait getppid "$WORKLOAD_CALLS" >/dev/null
    for _ in $(seq 300); do
        got=$(served_getppid "/$name")
        [ "$got" = "$WORKLOAD_CALLS" ] && break
        [ -z "$got" ] || [ "$got" -lt "$WORKLOAD_CALLS" ] ||
            fail "served $got getppid calls, more than the $WORKLOAD_CALLS made"
        sleep 0.1
    done
    [ "$got" = "$WORKLOAD_CALLS" ] ||
        fail "served '$got' getppid calls for /$name within 30 s, expected $WORKLOAD_CALLS"
    rmdir "$check_cgroup" && check_cgroup=""
}

# SIGTERM: the exporter detaches and exits 0 (strace exits with its status).
stop_exporter() {
    local code=0
    kill -TERM "$exporter_pid"
    wait "$strace_pid" || code=$?
    strace_pid=""; exporter_pid=""
    [ "$code" = 0 ] || fail "the exporter exited $code on SIGTERM: $(tail -5 "$check_tmp/stderr")"
}

# Syscall names of filter entries, groups (@name) expanded recursively.
expand_syscalls() {
    local item
    for item in "$@"; do
        if [[ $item == @* ]]; then
            expand_syscalls $(systemd-analyze syscall-filter "$item" | awk 'NR > 1 && $1 !~ /^#/ { print $1 }')
        else
            echo "$item"
        fi
    done
}

# strace's lines of the exporter itself (after setpriv's exec of it).
exporter_trace() {
    awk '/execve\("\/usr\/sbin\/'"$EXPORTER"'"/ { on = 1; next } on' "$check_tmp/trace"
}

# What the exporter did under strace fits the unit's sandbox: every syscall
# in SystemCallFilter, every socket family in RestrictAddressFamilies, no
# writable+executable memory (MemoryDenyWriteExecute), no file opened for
# writing (ProtectSystem=strict: nothing writable), no device but the
# pseudo ones (PrivateDevices), nothing ProtectHome or ProtectKernel* hide.
check_sandbox_fits() {
    local allowed used family bad
    allowed=$(expand_syscalls $(unit_values SystemCallFilter) | sort -u)
    used=$(exporter_trace | sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' | sort -u)
    [ -n "$used" ] || fail "strace saw no syscalls of $EXPORTER"
    bad=$(comm -13 <(echo "$allowed") <(echo "$used") | tr '\n' ' ')
    [ -z "$bad" ] || fail "syscalls outside the unit's SystemCallFilter: $bad"
    for family in $(exporter_trace | grep -oE ' socket(pair)?\(AF_[A-Z0-9]+' | sed 's/.*(//' | sort -u); do
        grep -qw "$family" <<<"$(unit_values RestrictAddressFamilies)" ||
            fail "socket family $family is outside the unit's RestrictAddressFamilies"
    done
    bad=$(exporter_trace | grep -E ' (mmap|mprotect|pkey_mprotect)\(.*PROT_(WRITE\|PROT_EXEC|EXEC\|PROT_WRITE)' || true)
    [ -z "$bad" ] || fail "writable and executable memory (MemoryDenyWriteExecute): $bad"
    bad=$(exporter_trace | grep -E ' (open|openat|openat2|creat)\(' |
        grep -E 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|creat\(' |
        grep -vE '"/dev/(null|zero|full|u?random|tty|pts/[0-9]+)"' || true)
    [ -z "$bad" ] || fail "a file opened for writing (ProtectSystem=strict): $bad"
    bad=$(exporter_trace | grep -oE '"/(dev/[^"]*|home(/[^"]*)?|root(/[^"]*)?|run/user(/[^"]*)?|proc/(kallsyms|kcore|kmsg))"' |
        grep -vE '"/dev/(null|zero|full|u?random|tty|pts/[0-9]+)"' | sort -u | tr '\n' ' ' || true)
    [ -z "$bad" ] || fail "paths the unit hides: $bad"
    echo "deb: the exporter made $(wc -l <<<"$used") distinct syscalls, all in the unit's" \
        "filter, and nothing its sandbox forbids" >&2
}

# A root for systemd-nspawn: this host's /usr (bound read-only at boot)
# and an /etc made of what the packages installed: the user (passwd,
# group), /etc/default/contrace-exporter and the enable link of the
# postinst. Nothing else of the host's /etc, so none of its services boot.
make_boot_root() {
    local root=$1 d link=/etc/systemd/system/multi-user.target.wants/$EXPORTER.service
    mkdir -p "$root"/{usr/lib,etc/default,var,proc,sys,dev,run,tmp,root,home,cgroup2}
    for d in bin sbin lib lib64; do
        if [ -L "/$d" ]; then cp -P "/$d" "$root/$d"; elif [ -d "/$d" ]; then mkdir "$root/$d"; fi
    done
    # nspawn looks for os-release before it binds /usr over this copy.
    cp /usr/lib/os-release "$root/usr/lib/"
    cp -P /etc/os-release "$root/etc/"
    cp /etc/passwd /etc/group "$root/etc/"
    cp "$DEFAULTS" "$root/etc/default/"
    mkdir -p "$root/$(dirname "$link")"
    cp -P "$link" "$root/$link"
    # A machine id of its own: not a first boot (no firstboot prompts), and
    # not the host's (its journal stays apart).
    tr -d '-' < /proc/sys/kernel/random/uuid > "$root/etc/machine-id"
}

# Where the v1 name=systemd hierarchy is mounted (hybrid hosts), if anywhere.
systemd_v1_mount() {
    awk '{ for (i = 7; i < NF; i++) if ($i == "-") {
        if ($(i + 1) == "cgroup" && $(i + 3) ~ /(^|,)name=systemd(,|$)/) print $5; break } }' \
        /proc/self/mountinfo | head -1
}

# Boots systemd in the container: the default target (multi-user) starts
# the service through the enable link alone. The container gets CAP_BPF
# and CAP_PERFMON and bpf(2) in nspawn's own filter; the host's cgroup2
# is bound read-only at /cgroup2 (on a hybrid host nspawn gives the
# container v1 controllers only). Sets nspawn_pid and boot_init.
boot_container() {
    local root=$check_tmp/root d binds=()
    make_boot_root "$root"
    for d in bin sbin lib lib64; do
        if [ -d "/$d" ] && [ ! -L "/$d" ]; then binds+=(--bind-ro="/$d"); fi
    done
    # nspawn makes its cgroups (payload, supervisor) below its own: give
    # it cgroups of ours, removed afterwards with all below them.
    for d in $(cgroup2_mount) $(systemd_v1_mount); do
        mkdir "$d/$machine"
        nspawn_cgroups+=("$d/$machine")
    done
    (
        for d in "${nspawn_cgroups[@]}"; do echo "$BASHPID" > "$d/cgroup.procs"; done
        exec systemd-nspawn --quiet --directory="$root" --bind-ro=/usr "${binds[@]}" \
            --bind-ro="$(cgroup2_mount):/cgroup2" --register=no --keep-unit \
            --capability=CAP_BPF,CAP_PERFMON --system-call-filter=bpf \
            --machine="$machine" --console=pipe --boot
    ) </dev/null >"$check_tmp/boot.log" 2>&1 &
    nspawn_pid=$!
    boot_init=""
    for _ in $(seq 300); do
        boot_init=$(pgrep -P "$nspawn_pid" -x systemd | head -1 || true)
        [ -n "$boot_init" ] && break
        alive "$nspawn_pid" || fail "systemd-nspawn: $(tail -5 "$check_tmp/boot.log")"
        sleep 0.1
    done
    [ -n "$boot_init" ] || fail "systemd-nspawn started no init within 30 s"
}

# SIGTERM asks nspawn to halt the container; a second one, after 30 s,
# ends it at once (a systemd still starting may miss the first).
stop_container() {
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    for _ in $(seq 300); do
        alive "$nspawn_pid" || break
        sleep 0.1
    done
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    wait "$nspawn_pid" 2>/dev/null || true
    nspawn_pid=""
    rmdir "/run/systemd/nspawn/propagate/$machine" 2>/dev/null || true
}

# Runs a command inside the booted container.
in_container() { nsenter --target "$boot_init" --all -- "$@"; }

# The service's journal in the container: the exporter's own last lines
# ("contrace-exporter: ..."), else systemd's about it.
service_log() {
    local log
    log=$(in_container journalctl -q -u "$EXPORTER" -o cat 2>/dev/null || true)
    grep "^$EXPORTER: " <<<"$log" | tail -2 | grep . || tail -5 <<<"$log"
}

# Waits until the container's systemd has the service serving; sets
# exporter_pid and exporter_port.
wait_for_service() {
    local serving=""
    for _ in $(seq 1200); do
        serving=$(in_container journalctl -q -u "$EXPORTER" -o cat 2>/dev/null |
            grep -o 'serving https\?://[^ ]*/metrics' | tail -1 || true)
        [ -n "$serving" ] && break
        alive "$nspawn_pid" || fail "the container stopped: $(tail -5 "$check_tmp/boot.log")"
        if in_container systemctl -q is-failed "$EXPORTER" 2>/dev/null; then
            fail "systemd could not start the service: $(service_log)"
        fi
        sleep 0.1
    done
    [ -n "$serving" ] || fail "systemd did not start the service within 120 s"
    exporter_port=${serving%/metrics}
    exporter_port=${exporter_port##*:}
    # The service's process, a child of the container's systemd.
    exporter_pid=$(pgrep -P "$boot_init" -u "$SVC_USER" | head -1 || true)
    [ -n "$exporter_pid" ] || fail "no process of $SVC_USER under the container's systemd"
}

# The service under systemd: started at boot by its enable link, with its
# credentials and sandbox (a seccomp filter, a read-only root), serving
# exact counts; `systemctl stop` ends it cleanly.
check_under_systemd() {
    boot_container
    wait_for_service
    check_credentials "$exporter_pid"
    grep -qx 'Seccomp:	2' "/proc/$exporter_pid/status" || fail "no seccomp filter on the service"
    awk '$5 == "/" { print $6 }' "/proc/$exporter_pid/mountinfo" | grep -q '^ro' ||
        fail "the service's root is not read-only (ProtectSystem=strict)"
    check_exact_counts systemd
    in_container systemctl stop "$EXPORTER"
    [ "$(in_container systemctl show -P Result "$EXPORTER")" = success ] ||
        fail "systemctl stop: $(service_log)"
    exporter_pid=""
    stop_container
    echo "deb: under systemd (nspawn): started at boot by the enable link, sandboxed," \
        "served exactly $WORKLOAD_CALLS getppid calls, stopped with result success" >&2
}

# dpkg -r, then dpkg -P: nothing of either package may be left.
remove_and_purge() {
    local t n before=$1
    dpkg -r "$EXPORTER" contrace >/dev/null
    for t in "${TOOLS[@]}" "$EXPORTER"; do
        n=$(name_of "$t")
        [ ! -e "/usr/sbin/$n" ] || fail "/usr/sbin/$n left after removal"
    done
    [ ! -e "$UNIT" ] || fail "$UNIT left after removal"
    getent passwd "$SVC_USER" >/dev/null || fail "remove (not purge) took the user away"
    # contrace has no conffiles: removing it purged it already.
    dpkg -P "$EXPORTER" >/dev/null
    for n in contrace "$EXPORTER"; do
        case "$(dpkg-query -W -f='${db:Status-Status}' "$n" 2>/dev/null || true)" in
            "" | not-installed) ;;
            *) fail "$n is not purged" ;;
        esac
    done
    installed=0
    local after
    after=$(leftovers)
    [ "$after" = "$before" ] || fail "left after purge: $(comm -13 <(echo "$before") <(echo "$after"))"
}

run_check() {
    local deb=$1 exporter_deb=$2 before
    # A command failing outside a check's own test says where.
    set -E
    trap 'echo "deb: check failed at ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND" >&2' ERR
    refuse_if_present
    need_commands
    cargo build --locked --quiet -p contrace-workload --bin workload
    check_tmp=$(mktemp -d /tmp/contrace-deb-check.XXXXXX)
    trap check_cleanup EXIT
    before=$(leftovers)
    installed=1
    dpkg -i "$deb" "$exporter_deb" >/dev/null
    UNIT=$(dpkg -L "$EXPORTER" | grep "/$EXPORTER.service\$" | head -1)
    [ -n "$UNIT" ] || fail "the package has no $EXPORTER.service"
    check_tools
    check_exporter_install
    # Flags as an operator sets them; purge must remove the changed file too.
    sed -i 's/^ARGS=""$/ARGS="--listen 127.0.0.1:0 --syscalls getppid --top-syscalls 4"/' "$DEFAULTS"
    start_as_unit
    check_credentials "$exporter_pid"
    check_exact_counts setpriv
    stop_exporter
    check_sandbox_fits
    [ "$BOOT" = 0 ] || check_under_systemd
    remove_and_purge "$before"
    echo "deb: installed, checked and purged $deb and $exporter_deb: tools, pages," \
        "completions; unit verified; the exporter as its unit runs it served exactly" \
        "$WORKLOAD_CALLS getppid calls; nothing left" >&2
}
