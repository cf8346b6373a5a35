//! One walk of the cgroup2 tree: every container cgroup (by the runtimes'
//! naming), every Kubernetes pod cgroup, and directories with a given name
//! (a plain runc container's cgroup is often just its id).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::layout::{self, ContainerRef, PodRef};

/// What the cgroup2 tree holds right now.
#[derive(Default, Debug)]
pub(super) struct Scan {
    /// Container id -> its cgroup (the shallowest directory carrying it).
    pub containers: HashMap<String, (PathBuf, ContainerRef)>,
    /// Pod UID -> the pod's cgroup.
    pub pods: HashMap<String, (PathBuf, PodRef)>,
    /// Directories whose name is exactly the name asked for.
    pub named: Vec<PathBuf>,
}

/// Walks `root`; `dir_name` collects directories with that exact name.
pub(super) fn scan(root: &Path, dir_name: Option<&str>) -> Scan {
    let mut out = Scan::default();
    for entry in WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .same_file_system(true)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir())
    {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if dir_name == Some(name) {
            out.named.push(path.to_path_buf());
        }
        let parent = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("");
        let looks_like_container = layout::container_of_dir(name, parent).is_some();
        let looks_like_pod = name.starts_with("pod") || name.starts_with("kubepods-");
        if !looks_like_container && !looks_like_pod {
            continue;
        }
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let rel = format!("/{}", rel.display());
        if looks_like_container {
            if let Some(r) = layout::info_from_path(&rel).filter(|r| r.cgroup == rel) {
                let keep = out
                    .containers
                    .get(&r.id)
                    .is_none_or(|(p, _)| p.components().count() > path.components().count());
                if keep {
                    out.containers.insert(r.id.clone(), (path.to_path_buf(), r));
                }
            }
        } else if let Some(p) = layout::pod_from_path(&rel).filter(|p| p.cgroup == rel) {
            out.pods.insert(p.uid.clone(), (path.to_path_buf(), p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const ID: &str = "b42845850f7e30e7b95adc6ad0b1f421fa22a54c496484cbeaa8754123800ce0";
    const ID2: &str = "a1f168bebc9d5d52a780ae2bb3e8eee8db69fcf146a796d00e186d15b836b334";
    const UID: &str = "6f1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6b";

    #[test]
    fn finds_every_layout() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let us = UID.replace('-', "_");
        for d in [
            format!("docker/{ID}/init"),
            format!("libpod_parent/libpod-{ID2}"),
            format!(
                "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{us}.slice/cri-containerd-{}.scope",
                "c".repeat(64)
            ),
            "c0ffee1234".to_string(),
            "user.slice/c0ffee1234x".to_string(),
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        let s = scan(root, Some("c0ffee1234"));
        assert_eq!(s.containers.len(), 3, "{:?}", s.containers.keys());
        assert_eq!(s.containers[ID].0, root.join(format!("docker/{ID}")));
        assert_eq!(
            s.containers[ID2].0,
            root.join(format!("libpod_parent/libpod-{ID2}"))
        );
        let (pod_dir, pod) = &s.pods[UID];
        assert_eq!(pod.qos, "burstable");
        assert!(pod_dir.ends_with(format!("kubepods-burstable-pod{us}.slice")));
        assert_eq!(
            s.containers[&"c".repeat(64)].1.pod.as_ref().unwrap().uid,
            UID
        );
        assert_eq!(s.named, vec![root.join("c0ffee1234")]);
    }
}
