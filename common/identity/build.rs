fn main() {
    // The identity layer's cgroup_mkdir watcher (identity::resolver::births).
    contrace_build::skeleton("cgroup_births");
}
