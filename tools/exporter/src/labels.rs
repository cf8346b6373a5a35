//! What a cgroup's series are labelled with besides its path: the
//! container labels, and the resolver's stand-in for a path it could not
//! find. Shared by the store (which serves them) and the identity threads
//! (which find them); depends on neither.

use ::identity::container::ContainerInfo;

/// The container labels of a cgroup; empty strings where unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerLabels {
    pub id: String,
    pub name: String,
    pub pod: String,
    pub namespace: String,
}

impl From<ContainerInfo> for ContainerLabels {
    fn from(c: ContainerInfo) -> Self {
        Self {
            id: c.id,
            name: c.name.unwrap_or_default(),
            pod: c.pod.unwrap_or_default(),
            namespace: c.namespace.unwrap_or_default(),
        }
    }
}

impl ContainerLabels {
    /// A container whose name is not known yet: worth asking again while
    /// the cgroup is young.
    pub fn incomplete(&self) -> bool {
        !self.id.is_empty() && self.name.is_empty()
    }
}

/// Whether `path` is the resolver's stand-in for a cgroup it could not
/// find (gone before it was looked up, or created after its last walk).
pub fn unresolved(path: &str) -> bool {
    path.starts_with("<cgroup id ")
}
