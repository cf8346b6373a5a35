//! Who a cgroup id is: the cgroup v2 hierarchy and its paths, what a
//! `-c TARGET` names (a path, pid:N, a container by name or id, a pod),
//! and the containers and pods behind cgroups, from the runtimes' on-disk
//! state and, where asked, their APIs (the only part that needs tokio and
//! gRPC).
//!
//! Above the kernel layer (ids) and below the reports: the BPF programs
//! never see a name.

pub mod cgroup;
pub mod container;
pub mod resolver;
pub mod target;
