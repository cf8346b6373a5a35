//! Which container (and Kubernetes pod) a cgroup v2 path belongs to, from
//! the directory names runtimes give cgroups. Pure parsing: no file system,
//! no daemon.
//!
//! | runtime, driver             | container cgroup                                  |
//! |-----------------------------|---------------------------------------------------|
//! | docker, cgroupfs            | `/docker/<id>`                                    |
//! | docker, systemd             | `/system.slice/docker-<id>.scope`                 |
//! | podman, cgroupfs            | `/libpod_parent/libpod-<id>`                      |
//! | podman, systemd             | `/machine.slice/libpod-<id>.scope`                |
//! | containerd (CRI), systemd   | `…/cri-containerd-<id>.scope`                     |
//! | CRI-O, systemd              | `…/crio-<id>.scope` (`crio-conmon-` is conmon)    |
//! | Kubernetes, systemd         | `/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_with_underscores>.slice/<container>` |
//! | Kubernetes, cgroupfs        | `/kubepods/<qos>/pod<uid>/<id>` (guaranteed: `/kubepods/pod<uid>/<id>`) |
//!
//! A cgroup below a container's cgroup belongs to that container; with
//! containers nested in containers the innermost one wins.

use super::info::{ContainerInfo, Runtime};

/// What a cgroup path says about the container it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerRef {
    /// Container id as the directory name carries it (lowercase hex).
    pub id: String,
    /// The runtime the naming points to (`Unknown` for a bare id whose
    /// parent does not tell, e.g. below a Kubernetes pod with cgroupfs).
    pub runtime: Runtime,
    /// The container's own cgroup, relative to the cgroup2 mount (`/docker/<id>`).
    pub cgroup: String,
    /// The Kubernetes pod the container runs in, when the path shows one.
    pub pod: Option<PodRef>,
}

impl ContainerInfo {
    /// What the cgroup naming alone says.
    pub fn from_ref(r: &ContainerRef) -> Self {
        Self {
            id: r.id.clone(),
            name: None,
            image: None,
            runtime: r.runtime,
            pod: None,
            namespace: None,
            pod_uid: r.pod.as_ref().map(|p| p.uid.clone()),
        }
    }
}

/// A Kubernetes pod cgroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRef {
    /// Pod UID in its API form (dashes; systemd slices carry underscores).
    pub uid: String,
    /// QoS class: `guaranteed`, `burstable` or `besteffort`.
    pub qos: &'static str,
    /// The pod's cgroup, relative to the cgroup2 mount.
    pub cgroup: String,
}

/// Length of a full container id (docker, podman, containerd, CRI-O).
pub const FULL_ID_LEN: usize = 64;
/// Shortest id a runtime-prefixed directory name may carry.
const MIN_NAMED_ID: usize = 12;

const QOS_CLASSES: [&str; 2] = ["burstable", "besteffort"];

pub(crate) fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_full_id(text: &str) -> bool {
    text.len() == FULL_ID_LEN && is_hex(text)
}

/// The container a cgroup path (relative to the cgroup2 mount, with or
/// without a leading `/`) belongs to: the innermost container directory on
/// the path.
pub fn info_from_path(rel_cgroup_path: &str) -> Option<ContainerRef> {
    let parts: Vec<&str> = rel_cgroup_path
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let mut pod: Option<PodRef> = None;
    let mut kube = false;
    let mut found = None;
    for (i, name) in parts.iter().enumerate() {
        let parent = if i > 0 { parts[i - 1] } else { "" };
        if name.starts_with("kubepods") {
            kube = true;
        }
        if kube {
            if let Some((uid, qos)) = pod_of_dir(name, parent) {
                pod = Some(PodRef {
                    uid,
                    qos,
                    cgroup: join(&parts[..=i]),
                });
                continue;
            }
        }
        if let Some((id, runtime)) = container_of_dir(name, parent) {
            found = Some(ContainerRef {
                id: id.to_ascii_lowercase(),
                runtime,
                cgroup: join(&parts[..=i]),
                pod: pod.clone(),
            });
        }
    }
    found
}

/// The Kubernetes pod a cgroup path belongs to (the pod's own cgroup or
/// anything below it).
pub fn pod_from_path(rel_cgroup_path: &str) -> Option<PodRef> {
    let parts: Vec<&str> = rel_cgroup_path
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let mut kube = false;
    for (i, name) in parts.iter().enumerate() {
        kube |= name.starts_with("kubepods");
        let parent = if i > 0 { parts[i - 1] } else { "" };
        if kube {
            if let Some((uid, qos)) = pod_of_dir(name, parent) {
                return Some(PodRef {
                    uid,
                    qos,
                    cgroup: join(&parts[..=i]),
                });
            }
        }
    }
    None
}

fn join(parts: &[&str]) -> String {
    format!("/{}", parts.join("/"))
}

/// `(id, runtime)` when a directory name is a container's cgroup.
pub fn container_of_dir<'a>(name: &'a str, parent: &str) -> Option<(&'a str, Runtime)> {
    // conmon's own scopes sit beside the container's: never the container.
    if name.starts_with("crio-conmon-") || name.starts_with("libpod-conmon-") {
        return None;
    }
    let named: [(&str, &str, Runtime); 5] = [
        ("docker-", ".scope", Runtime::Docker),
        ("cri-containerd-", ".scope", Runtime::Containerd),
        ("crio-", ".scope", Runtime::CriO),
        ("libpod-", ".scope", Runtime::Podman),
        // podman's cgroupfs manager: no .scope.
        ("libpod-", "", Runtime::Podman),
    ];
    for (prefix, suffix, runtime) in named {
        let Some(id) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
        else {
            continue;
        };
        if (MIN_NAMED_ID..=FULL_ID_LEN).contains(&id.len()) && is_hex(id) {
            return Some((id, runtime));
        }
    }
    if is_full_id(name) {
        let runtime = if parent == "docker" {
            Runtime::Docker
        } else {
            Runtime::Unknown
        };
        return Some((name, runtime));
    }
    None
}

/// `(uid, qos)` when a directory name is a Kubernetes pod's cgroup:
/// `pod<uid>` (cgroupfs, QoS from the parent) or
/// `kubepods[-<qos>]-pod<uid_with_underscores>.slice` (systemd).
fn pod_of_dir(name: &str, parent: &str) -> Option<(String, &'static str)> {
    if let Some(slice) = name.strip_suffix(".slice") {
        let rest = slice.strip_prefix("kubepods-")?;
        let (qos, uid) = match rest.split_once("-pod") {
            Some((qos, uid)) => (qos_class(qos)?, uid),
            None => ("guaranteed", rest.strip_prefix("pod")?),
        };
        return valid_uid(uid).map(|u| (u, qos));
    }
    let uid = name.strip_prefix("pod")?;
    let qos = match parent {
        "kubepods" => "guaranteed",
        other => qos_class(other)?,
    };
    valid_uid(uid).map(|u| (u, qos))
}

fn qos_class(text: &str) -> Option<&'static str> {
    QOS_CLASSES.into_iter().find(|q| *q == text)
}

/// Pod UIDs are UUIDs (`8-4-4-4-12`), or 32 hex digits for static pods;
/// systemd slice names carry `_` where the UID has `-`.
pub fn valid_uid(text: &str) -> Option<String> {
    let uid = text.replace('_', "-").to_ascii_lowercase();
    let groups: Vec<&str> = uid.split('-').collect();
    let uuid = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && is_hex(g));
    let hash = groups.len() == 1 && uid.len() == 32 && is_hex(&uid);
    (uuid || hash).then_some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "b42845850f7e30e7b95adc6ad0b1f421fa22a54c496484cbeaa8754123800ce0";
    const ID2: &str = "a1f168bebc9d5d52a780ae2bb3e8eee8db69fcf146a796d00e186d15b836b334";
    const UID: &str = "6f1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6b";

    fn at(path: &str) -> (String, Runtime, String) {
        let r = info_from_path(path).unwrap_or_else(|| panic!("no container in {path}"));
        (r.id, r.runtime, r.cgroup)
    }

    #[test]
    fn docker_layouts() {
        // As docker 20.10 (cgroupfs driver) made them on the test host.
        assert_eq!(
            at(&format!("/docker/{ID}")),
            (ID.into(), Runtime::Docker, format!("/docker/{ID}"))
        );
        assert_eq!(
            at(&format!("/system.slice/docker-{ID}.scope")),
            (
                ID.into(),
                Runtime::Docker,
                format!("/system.slice/docker-{ID}.scope")
            )
        );
        // Without a leading slash, and an uppercase id from a hand-made path.
        assert_eq!(at(&format!("docker/{}", ID.to_uppercase())).0, ID);
    }

    #[test]
    fn podman_layouts() {
        for path in [
            format!("/libpod_parent/libpod-{ID2}"),
            format!("/machine.slice/libpod-{ID2}.scope"),
            format!("/libpod_parent/libpod-{ID2}.scope"),
            format!("/machine.slice/machine-libpod_pod_{ID}.slice/libpod-{ID2}.scope"),
            format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID2}.scope"),
        ] {
            let (id, rt, cg) = at(&path);
            assert_eq!((id.as_str(), rt), (ID2, Runtime::Podman), "{path}");
            assert_eq!(cg, path, "{path}");
        }
        assert_eq!(
            info_from_path(&format!("/machine.slice/libpod-conmon-{ID2}.scope")),
            None
        );
        // Below the container (podman's systemd mode puts the payload in /container).
        let (id, _, cg) = at(&format!("/machine.slice/libpod-{ID2}.scope/container"));
        assert_eq!(id, ID2);
        assert_eq!(cg, format!("/machine.slice/libpod-{ID2}.scope"));
    }

    #[test]
    fn cri_layouts() {
        let (id, rt, _) = at(&format!("/system.slice/cri-containerd-{ID}.scope"));
        assert_eq!((id.as_str(), rt), (ID, Runtime::Containerd));
        let (id, rt, _) = at(&format!("/system.slice/crio-{ID}.scope"));
        assert_eq!((id.as_str(), rt), (ID, Runtime::CriO));
        assert_eq!(
            info_from_path(&format!("/system.slice/crio-conmon-{ID}.scope")),
            None
        );
    }

    #[test]
    fn kubernetes_systemd_slices() {
        let us = UID.replace('-', "_");
        for (qos_dir, qos) in [
            (
                format!("kubepods-burstable.slice/kubepods-burstable-pod{us}.slice"),
                "burstable",
            ),
            (
                format!("kubepods-besteffort.slice/kubepods-besteffort-pod{us}.slice"),
                "besteffort",
            ),
            (format!("kubepods-pod{us}.slice"), "guaranteed"),
        ] {
            for (leaf, rt) in [
                (format!("cri-containerd-{ID}.scope"), Runtime::Containerd),
                (format!("crio-{ID}.scope"), Runtime::CriO),
                (format!("docker-{ID}.scope"), Runtime::Docker),
            ] {
                let pod_dir = format!("/kubepods.slice/{qos_dir}");
                let path = format!("{pod_dir}/{leaf}");
                let r = info_from_path(&path).unwrap();
                assert_eq!((r.id.as_str(), r.runtime), (ID, rt), "{path}");
                let pod = r.pod.expect("pod");
                assert_eq!((pod.uid.as_str(), pod.qos), (UID, qos), "{path}");
                assert_eq!(pod.cgroup, pod_dir);
                assert_eq!(pod_from_path(&path), Some(pod.clone()));
                assert_eq!(pod_from_path(&pod_dir), Some(pod));
                // The pod's own cgroup is no container.
                assert_eq!(info_from_path(&pod_dir), None);
            }
        }
        assert_eq!(
            info_from_path(&format!(
                "/kubepods.slice/kubepods-burstable.slice/crio-conmon-{ID}.scope"
            )),
            None
        );
    }

    #[test]
    fn kubernetes_cgroupfs() {
        for (dir, qos) in [
            ("/kubepods/besteffort", "besteffort"),
            ("/kubepods/burstable", "burstable"),
            ("/kubepods", "guaranteed"),
        ] {
            let path = format!("{dir}/pod{UID}/{ID}");
            let r = info_from_path(&path).unwrap();
            assert_eq!((r.id.as_str(), r.runtime), (ID, Runtime::Unknown));
            assert_eq!(r.cgroup, path);
            let pod = r.pod.unwrap();
            assert_eq!((pod.uid.as_str(), pod.qos), (UID, qos));
            assert_eq!(pod.cgroup, format!("{dir}/pod{UID}"));
        }
        // A static pod's UID is a 32-hex hash.
        let hash = "0123456789abcdef0123456789abcdef";
        let r = info_from_path(&format!("/kubepods/burstable/pod{hash}/{ID}")).unwrap();
        assert_eq!(r.pod.unwrap().uid, hash);
        // `pod…` outside kubepods is no pod.
        assert_eq!(pod_from_path(&format!("/podman/pod{UID}")), None);
        assert_eq!(pod_from_path(&format!("/kubepods/other/pod{UID}")), None);
    }

    #[test]
    fn innermost_container_wins() {
        let r = info_from_path(&format!("/docker/{ID}/docker/{ID2}/sub")).unwrap();
        assert_eq!((r.id.as_str(), r.runtime), (ID2, Runtime::Docker));
        assert_eq!(r.cgroup, format!("/docker/{ID}/docker/{ID2}"));
        let r = info_from_path(&format!("/docker/{ID}/init.scope")).unwrap();
        assert_eq!(r.id, ID);
    }

    #[test]
    fn not_containers() {
        for path in [
            "",
            "/",
            "/user.slice",
            "/system.slice/docker.service",
            "/system.slice/containerd.service",
            "/docker",
            "/libpod_parent",
            "/docker/b428458", // short bare ids are not recognised by name
            "/system.slice/docker-xyz.scope",
            "/system.slice/docker-abc.scope", // too short
            "/kubepods.slice/kubepods-burstable.slice",
        ] {
            assert_eq!(info_from_path(path), None, "{path}");
        }
    }

    #[test]
    fn uids() {
        assert_eq!(valid_uid(&UID.replace('-', "_")).as_deref(), Some(UID));
        assert_eq!(valid_uid(&UID.to_uppercase()).as_deref(), Some(UID));
        assert_eq!(valid_uid("1234"), None);
        assert_eq!(valid_uid("6f1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6"), None);
        assert_eq!(valid_uid("zf1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6b"), None);
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = info_from_path(&text);
            let _ = pod_from_path(&text);
        }

        #[test]
        fn never_panics_on_runtime_like_paths(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("kubepods".to_string()),
                    Just("kubepods.slice".to_string()),
                    Just("besteffort".to_string()),
                    Just("docker".to_string()),
                    "kubepods-[a-z]{0,10}-pod[0-9a-f_-]{0,40}\\.slice",
                    "pod[0-9a-f_-]{0,40}",
                    "(docker|crio|cri-containerd|libpod|crio-conmon)-[0-9a-f]{0,70}(\\.scope)?",
                    "[0-9a-f]{60,68}",
                ],
                0..8,
            )
        ) {
            let path = parts.join("/");
            if let Some(r) = info_from_path(&path) {
                // The container's cgroup is a prefix of the path and ends with its id.
                let full = format!("/{}", path);
                prop_assert!(full.starts_with(&r.cgroup));
                prop_assert!(r.cgroup.to_ascii_lowercase().contains(&r.id));
            }
            let _ = pod_from_path(&path);
        }
    }
}
