//! cgroup v2: where it is mounted, turning a user's TARGET into a cgroup id
//! (and depth) for the BPF filter, and turning ids back into paths.

pub mod alive;
pub mod mountinfo;
pub mod names;
pub mod target;

pub use mountinfo::Hierarchy;
pub use names::CgroupNames;
pub use target::{Cgroup, TargetSpec};
