//! Seccomp profiles from what containers really do: record, check, merge.
//!
//! - [`usage`]: the neutral input. What a cgroup did per (ABI, syscall
//!   name): count, errors by errno, calls a filter denied. One adapter per
//!   source: a live sample's rows, a recording's JSON rows.
//! - [`profile`]: what to allow from that (every call let through at least
//!   once, by name; calls only ever denied stay denied and are said so);
//!   [`oci`] and [`spo`] write it for Docker/Podman/runc and for the
//!   Kubernetes Security Profiles Operator.
//! - [`policy`] reads an existing profile; [`check`] says what it would
//!   deny of what was traced, and what it allows unused.
//! - [`files`] and [`session`]: the flags, where files go, and the calls
//!   constat's live run, `--replay` and `--seccomp-merge` make.
//!
//! Names only: a profile made here filters no arguments (see the man page).

pub mod check;
pub mod files;
pub mod oci;
pub mod policy;
pub mod profile;
pub mod session;
pub mod spo;
pub mod usage;

pub use files::ProfileFormat;
pub use session::{merge, replayed, SeccompArgs, Session, EXIT_WOULD_DENY};
