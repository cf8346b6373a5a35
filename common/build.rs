fn main() {
    // The identity layer's cgroup_mkdir watcher (common::identity::births).
    contrace_build::skeleton("cgroup_births");
}
