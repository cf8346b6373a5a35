//! What a cgroup's series are labelled with: its path (or the resolver's
//! stand-in for a path it could not find) and the container labels.
//! Shared by the store (which serves them) and the identity threads
//! (which find them); depends on neither.

use ::identity::container::ContainerInfo;
use ::identity::resolver::CgroupName;

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

/// A cgroup's `cgroup` label: its path relative to the cgroup2 mount, or
/// while none is known for its id (gone before anything saw it, or made
/// after the last walk of the tree) the stand-in the tools' JSON shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CgroupLabel {
    Path(String),
    /// `<cgroup id N, removed>`.
    Unseen(String),
}

impl From<CgroupName> for CgroupLabel {
    fn from(name: CgroupName) -> Self {
        match name {
            CgroupName::Path(path) => Self::Path(path),
            unseen @ CgroupName::Unseen(_) => Self::Unseen(unseen.to_string()),
        }
    }
}

/// In the order of the label values (series are served sorted by them).
impl Ord for CgroupLabel {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for CgroupLabel {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl CgroupLabel {
    /// The label value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Path(path) => path,
            Self::Unseen(shown) => shown,
        }
    }

    /// The path, when it is known.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Path(path) => Some(path),
            Self::Unseen(_) => None,
        }
    }
}
