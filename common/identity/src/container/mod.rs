//! Container identity: cgroup paths to containers, and names or ids that a
//! user types to cgroup v2 directories. BPF records cgroup ids only; this
//! module says which container (and Kubernetes pod) a cgroup is.
//!
//! - [`info_from_path`]: pure parsing of runtime cgroup layouts (no I/O).
//! - [`Registry`]: asks the runtimes that are there (Docker Engine API, also
//!   served by podman; containerd; the CRI of containerd or CRI-O), falls
//!   back to their on-disk state, and caches. A host without runtimes pays
//!   one `stat` per socket and state directory.
//!
//! Which cgroup a container uses is always found by scanning the cgroup2
//! tree for its id, whatever the runtime reports: the tools trace cgroup v2.

mod candidate;
mod docker;
mod explain;
mod info;
pub mod layout;
mod query;
mod registry;
mod scan;
mod sources;
mod state;

#[cfg(feature = "cri")]
mod grpc;

pub use candidate::Candidate;
pub use explain::{ambiguous_line, not_running_line, unknown_line};
pub use info::{ContainerInfo, Runtime, SHORT_ID_LEN};
pub use layout::{info_from_path, pod_from_path, ContainerRef, PodRef};
pub use query::{Query, MIN_ID_PREFIX};
pub use registry::{Found, Registry};
pub use sources::{SourceReport, SourceStatus, Sources};
