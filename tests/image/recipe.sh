# The container test image's recipe, sourced by `scripts/runtimes image`.
# The image's tag is a hash of this file, the static workload and busybox
# (scripts/runtimes image_tag; tests/src/runtime.rs computes the same), so a
# change here gives a new tag and never overwrites another checkout's image.

# What a container runs when given no command.
IMAGE_CMD='CMD ["/bin/sh"]'
# The pod sandbox ("pause") image: sleeps, so RunPodSandbox never pulls.
PAUSE_CMD='CMD ["/bin/sleep","1000000"]'

# make_rootfs ROOT WORKLOAD BUSYBOX: busybox with its applets, the static
# workload as /bin/workload, root and nobody.
make_rootfs() {
    local root=$1 workload=$2 busybox=$3 applet
    mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root}
    cp "$busybox" "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    cp "$workload" "$root/bin/workload"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    chmod 1777 "$root/tmp"
}
