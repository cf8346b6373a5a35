//! What a container is to the reports: its id, name, image, runtime and,
//! under Kubernetes, its pod.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The runtime that runs a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Runtime {
    #[serde(rename = "docker")]
    Docker,
    #[serde(rename = "podman")]
    Podman,
    #[serde(rename = "containerd")]
    Containerd,
    #[serde(rename = "cri-o")]
    CriO,
    /// A plain `runc run` container (the id is in runc's state directory).
    #[serde(rename = "runc")]
    Runc,
    /// The cgroup naming does not tell and no runtime claimed it.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
            Self::Containerd => "containerd",
            Self::CriO => "cri-o",
            Self::Runc => "runc",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container as reports show it. JSON:
/// `{"id", "name", "image", "runtime", "pod", "namespace", "pod_uid"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// Full id as the runtime knows it (64 hex for docker, podman, CRI).
    pub id: String,
    /// Container name (docker/podman name; in Kubernetes the container's
    /// name within its pod).
    pub name: Option<String>,
    /// Image reference the container was created from.
    pub image: Option<String>,
    pub runtime: Runtime,
    /// Kubernetes pod name.
    pub pod: Option<String>,
    /// Kubernetes namespace.
    pub namespace: Option<String>,
    /// Kubernetes pod UID.
    pub pod_uid: Option<String>,
}

/// Characters of an id that `docker ps` shows.
pub const SHORT_ID_LEN: usize = 12;

impl ContainerInfo {
    /// The first 12 characters of the id.
    pub fn short_id(&self) -> &str {
        self.id.get(..SHORT_ID_LEN).unwrap_or(&self.id)
    }

    /// How a table row names the container: `NAMESPACE/POD/NAME` in
    /// Kubernetes, else the name, else the short id.
    pub fn label(&self) -> String {
        match (&self.namespace, &self.pod, &self.name) {
            (Some(ns), Some(pod), Some(name)) => format!("{ns}/{pod}/{name}"),
            (Some(ns), Some(pod), None) => format!("{ns}/{pod}"),
            (_, _, Some(name)) => name.clone(),
            _ => self.short_id().to_string(),
        }
    }

    /// Fills fields this one lacks from `other` (same container, another
    /// source); the runtime is taken when this one is unknown.
    pub fn merge(&mut self, other: &ContainerInfo) {
        fn fill(mine: &mut Option<String>, theirs: &Option<String>) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        fill(&mut self.name, &other.name);
        fill(&mut self.image, &other.image);
        fill(&mut self.pod, &other.pod);
        fill(&mut self.namespace, &other.namespace);
        fill(&mut self.pod_uid, &other.pod_uid);
        if self.runtime == Runtime::Unknown {
            self.runtime = other.runtime;
        }
        if self.id.len() < other.id.len() && other.id.starts_with(&self.id) {
            self.id.clone_from(&other.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> ContainerInfo {
        ContainerInfo {
            id: id.into(),
            name: None,
            image: None,
            runtime: Runtime::Unknown,
            pod: None,
            namespace: None,
            pod_uid: None,
        }
    }

    #[test]
    fn json_shape() {
        let mut c = info("3f2a9c1e5b7d4e6f");
        c.name = Some("web".into());
        c.runtime = Runtime::CriO;
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["runtime"], "cri-o");
        assert_eq!(v["name"], "web");
        assert!(v["pod"].is_null() && v["namespace"].is_null() && v["image"].is_null());
        for (rt, text) in [
            (Runtime::Docker, "docker"),
            (Runtime::Podman, "podman"),
            (Runtime::Containerd, "containerd"),
            (Runtime::Runc, "runc"),
            (Runtime::Unknown, "unknown"),
        ] {
            assert_eq!(serde_json::to_value(rt).unwrap(), text);
            assert_eq!(rt.to_string(), text);
        }
    }

    #[test]
    fn labels_and_merge() {
        let mut c = info("3f2a9c1e5b7d4e6f8a9b");
        assert_eq!(c.label(), "3f2a9c1e5b7d");
        let mut other = info("3f2a9c1e5b7d4e6f8a9b");
        other.name = Some("nginx".into());
        other.pod = Some("web-1".into());
        other.namespace = Some("shop".into());
        other.runtime = Runtime::Containerd;
        c.merge(&other);
        assert_eq!(c.label(), "shop/web-1/nginx");
        assert_eq!(c.runtime, Runtime::Containerd);
        // A known runtime is kept.
        let mut d = info("ab");
        d.runtime = Runtime::Docker;
        d.merge(&other);
        assert_eq!(d.runtime, Runtime::Docker);
        assert_eq!(info("abc").short_id(), "abc");
    }
}
