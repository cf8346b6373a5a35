//! Runtimes' on-disk state, read when their daemon does not answer:
//! docker's `config.v2.json` files, podman's `containers.json`, containerd's
//! task bundles, kubelet's log directories, runc's state roots.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;

use super::info::{ContainerInfo, Runtime};
use super::layout::{is_hex, valid_uid, FULL_ID_LEN};

/// Kubernetes labels runtimes put on a container (CRI, dockershim,
/// cri-dockerd): pod name, namespace, pod UID, container name.
pub(super) fn apply_kube_labels(info: &mut ContainerInfo, labels: &HashMap<String, String>) {
    let get = |k: &str| labels.get(k).filter(|v| !v.is_empty()).cloned();
    if let Some(pod) = get("io.kubernetes.pod.name") {
        info.pod = Some(pod);
        info.namespace = get("io.kubernetes.pod.namespace");
        info.pod_uid = get("io.kubernetes.pod.uid");
        // The sandbox ("POD" under dockershim) has no container name.
        info.name = get("io.kubernetes.container.name").filter(|n| n != "POD");
    }
}

/// A container record with only an id and a runtime.
pub(super) fn bare(id: &str, runtime: Runtime) -> ContainerInfo {
    ContainerInfo {
        id: id.to_string(),
        name: None,
        image: None,
        runtime,
        pod: None,
        namespace: None,
        pod_uid: None,
    }
}

#[derive(Deserialize)]
struct DockerConfigV2 {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Config", default)]
    config: Option<DockerConfig>,
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(rename = "Image", default)]
    image: String,
    #[serde(rename = "Labels", default)]
    labels: Option<HashMap<String, String>>,
}

/// One docker `config.v2.json`.
pub(super) fn parse_docker_config(text: &str) -> Option<ContainerInfo> {
    let c: DockerConfigV2 = serde_json::from_str(text).ok()?;
    let mut info = bare(&c.id, Runtime::Docker);
    let name = c.name.trim_start_matches('/');
    info.name = (!name.is_empty()).then(|| name.to_string());
    if let Some(config) = c.config {
        info.image = (!config.image.is_empty()).then_some(config.image);
        if let Some(labels) = config.labels {
            apply_kube_labels(&mut info, &labels);
        }
    }
    Some(info)
}

/// Every container in docker's state directory (`/var/lib/docker/containers`).
pub(super) fn read_docker_state(dir: &Path) -> io::Result<Vec<ContainerInfo>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let Some(id) = name.to_str() else { continue };
        if is_hex(id) {
            found.extend(read_docker_container(dir, id));
        }
    }
    Ok(found)
}

/// Container `id` in docker's state directory; `None` when its file is not
/// there or not readable (a container being removed may lose it under us).
pub(super) fn read_docker_container(dir: &Path, id: &str) -> Option<ContainerInfo> {
    let text = fs::read_to_string(dir.join(id).join("config.v2.json")).ok()?;
    parse_docker_config(&text)
}

#[derive(Deserialize)]
struct StorageContainer {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    metadata: String,
}

#[derive(Deserialize, Default)]
struct PodmanMetadata {
    #[serde(rename = "image-name", default)]
    image_name: String,
}

/// podman's `containers.json` (containers/storage): ids, names, image names.
pub(super) fn parse_podman_state(text: &str) -> Vec<ContainerInfo> {
    let list: Vec<StorageContainer> = serde_json::from_str(text).unwrap_or_default();
    list.into_iter()
        .map(|c| {
            let mut info = bare(&c.id, Runtime::Podman);
            info.name = c.names.into_iter().next();
            let meta: PodmanMetadata = serde_json::from_str(&c.metadata).unwrap_or_default();
            info.image = (!meta.image_name.is_empty()).then_some(meta.image_name);
            info
        })
        .collect()
}

/// podman's containers from `path`: a `containers.json`, or a storage root
/// (`/var/lib/containers/storage`) whose every `<driver>-containers/`
/// holds one (overlay, vfs, btrfs...).
pub(super) fn read_podman_state(path: &Path) -> io::Result<Vec<ContainerInfo>> {
    if !path.is_dir() {
        return Ok(parse_podman_state(&fs::read_to_string(path)?));
    }
    let mut found = Vec::new();
    let drivers = fs::read_dir(path)?.flatten().filter(|e| {
        e.file_name()
            .to_str()
            .is_some_and(|n| n.ends_with("-containers"))
    });
    for driver in drivers {
        // A driver's directory without containers yet has no file.
        if let Ok(text) = fs::read_to_string(driver.path().join("containers.json")) {
            found.extend(parse_podman_state(&text));
        }
    }
    Ok(found)
}

#[derive(Deserialize)]
struct OciSpec {
    #[serde(default)]
    annotations: HashMap<String, String>,
}

/// One containerd task bundle's OCI spec (`config.json`): CRI containers
/// carry their Kubernetes names in annotations, nerdctl ones their name.
/// `None` for a bundle that names nothing beyond its id.
pub(super) fn parse_containerd_bundle(id: &str, text: &str) -> Option<ContainerInfo> {
    let spec: OciSpec = serde_json::from_str(text).ok()?;
    let get = |k: &str| spec.annotations.get(k).filter(|v| !v.is_empty()).cloned();
    let mut info = bare(id, Runtime::Containerd);
    if let Some(pod) = get("io.kubernetes.cri.sandbox-name") {
        info.pod = Some(pod);
        info.namespace = get("io.kubernetes.cri.sandbox-namespace");
        info.pod_uid = get("io.kubernetes.cri.sandbox-uid");
        info.name = get("io.kubernetes.cri.container-name");
        info.image = get("io.kubernetes.cri.image-name");
        return Some(info);
    }
    info.name = Some(get("nerdctl/name")?);
    Some(info)
}

/// Running containerd containers, from the task bundles under `root`
/// (`<root>/<namespace>/<id>/config.json`; docker's `moby` namespace is
/// docker's own state's business); with `only`, that container's bundle alone.
pub(super) fn read_containerd_tasks(
    root: &Path,
    only: Option<&str>,
) -> io::Result<Vec<ContainerInfo>> {
    let mut found = Vec::new();
    for namespace in fs::read_dir(root)?.flatten() {
        if namespace.file_name() == "moby" {
            continue;
        }
        let ids: Vec<String> = match only {
            Some(id) => vec![id.to_string()],
            None => fs::read_dir(namespace.path())
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|task| task.file_name().to_str().map(str::to_string))
                .collect(),
        };
        for id in ids {
            // A task ending under us loses its bundle: skip it.
            let bundle = namespace.path().join(&id).join("config.json");
            if let Ok(text) = fs::read_to_string(bundle) {
                found.extend(parse_containerd_bundle(&id, &text));
            }
        }
    }
    Ok(found)
}

/// A Kubernetes pod as kubelet's `/var/log/pods/<ns>_<pod>_<uid>` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct KubePod {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// `<namespace>_<pod>_<uid>`: namespaces and pod names never hold `_`.
pub(super) fn parse_pod_log_dir(name: &str) -> Option<KubePod> {
    let mut parts = name.splitn(3, '_');
    let (ns, pod, uid) = (parts.next()?, parts.next()?, parts.next()?);
    if ns.is_empty() || pod.is_empty() {
        return None;
    }
    Some(KubePod {
        namespace: ns.to_string(),
        name: pod.to_string(),
        uid: valid_uid(uid)?,
    })
}

/// `/var/log/containers/<pod>_<ns>_<container>-<id>.log`.
pub(super) fn parse_container_log(name: &str) -> Option<ContainerInfo> {
    let stem = name.strip_suffix(".log")?;
    let mut parts = stem.splitn(3, '_');
    let (pod, ns, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let (container, id) = rest.rsplit_once('-')?;
    if pod.is_empty() || ns.is_empty() || container.is_empty() {
        return None;
    }
    if id.len() != FULL_ID_LEN || !is_hex(id) {
        return None;
    }
    let mut info = bare(id, Runtime::Unknown);
    info.name = Some(container.to_string());
    info.pod = Some(pod.to_string());
    info.namespace = Some(ns.to_string());
    Some(info)
}

/// kubelet's log directories: pods (by UID) and containers (by id).
pub(super) fn read_kubelet_logs(dir: &Path) -> io::Result<(Vec<KubePod>, Vec<ContainerInfo>)> {
    let pods: Vec<KubePod> = match fs::read_dir(dir.join("pods")) {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| parse_pod_log_dir(e.file_name().to_str()?))
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut containers: Vec<ContainerInfo> = match fs::read_dir(dir.join("containers")) {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| {
                let mut info = parse_container_log(e.file_name().to_str()?)?;
                // The link's target names the pod's directory, UID included
                // (a pod recreated under the same name has another UID).
                info.pod_uid = fs::read_link(e.path()).ok().and_then(|target| {
                    target
                        .components()
                        .find_map(|c| parse_pod_log_dir(c.as_os_str().to_str()?))
                        .map(|p| p.uid)
                });
                Some(info)
            })
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    for c in containers.iter_mut().filter(|c| c.pod_uid.is_none()) {
        c.pod_uid = pods
            .iter()
            .find(|p| Some(&p.name) == c.pod.as_ref() && Some(&p.namespace) == c.namespace.as_ref())
            .map(|p| p.uid.clone());
    }
    Ok((pods, containers))
}

#[derive(Deserialize)]
struct RuncState {
    id: String,
    #[serde(default)]
    cgroup_paths: HashMap<String, String>,
}

/// `(id, cgroup v2 directory)` from a runc `state.json`; the v2 path is
/// under the key `""` (hybrid and pure v2 hosts alike).
pub(super) fn parse_runc_state(text: &str) -> Option<(String, Option<String>)> {
    let state: RuncState = serde_json::from_str(text).ok()?;
    let v2 = state.cgroup_paths.get("").cloned();
    Some((state.id, v2))
}

/// Containers runc keeps state for under `root` (`<root>/<id>/state.json`):
/// id and absolute cgroup v2 directory (any `cgroupsPath`, not only `/<id>`).
pub(super) fn read_runc_root(root: &Path) -> io::Result<Vec<(String, Option<String>)>> {
    Ok(fs::read_dir(root)?
        .flatten()
        .filter_map(|e| fs::read_to_string(e.path().join("state.json")).ok())
        .filter_map(|text| parse_runc_state(&text))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_CONFIG: &str = include_str!("fixtures/docker-config.v2.json");
    const PODMAN_STATE: &str = include_str!("fixtures/podman-containers.json");

    #[test]
    fn docker_config_v2() {
        let info = parse_docker_config(DOCKER_CONFIG).unwrap();
        assert_eq!(
            info.id,
            "b42845850f7e30e7b95adc6ad0b1f421fa22a54c496484cbeaa8754123800ce0"
        );
        assert_eq!(info.name.as_deref(), Some("contrace-probe-d"));
        assert_eq!(info.image.as_deref(), Some("contrace-busybox:test"));
        assert_eq!(info.runtime, Runtime::Docker);
        assert!(parse_docker_config("{").is_none());
        assert!(parse_docker_config("{}").is_none());
    }

    #[test]
    fn podman_containers_json() {
        let list = parse_podman_state(PODMAN_STATE);
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].id,
            "a1f168bebc9d5d52a780ae2bb3e8eee8db69fcf146a796d00e186d15b836b334"
        );
        assert_eq!(list[0].name.as_deref(), Some("contrace-probe-p"));
        assert_eq!(
            list[0].image.as_deref(),
            Some("localhost/contrace-busybox:test")
        );
        assert!(parse_podman_state("garbage").is_empty());
    }

    #[test]
    fn podman_state_from_a_file_or_every_driver_of_a_storage_root() {
        let root = tempfile::tempdir().expect("tempdir");
        for driver in ["overlay", "vfs"] {
            let dir = root.path().join(format!("{driver}-containers"));
            fs::create_dir_all(&dir).expect("mkdir");
            let id = if driver == "vfs" { "bb" } else { "aa" };
            let json = format!(r#"[{{"id": "{id}", "names": ["{driver}-one"], "metadata": ""}}]"#);
            fs::write(dir.join("containers.json"), json).expect("write");
        }
        fs::create_dir_all(root.path().join("overlay-images")).expect("mkdir");
        fs::create_dir_all(root.path().join("btrfs-containers")).expect("mkdir");
        let mut names: Vec<String> = read_podman_state(root.path())
            .expect("read the root")
            .into_iter()
            .filter_map(|c| c.name)
            .collect();
        names.sort();
        assert_eq!(names, ["overlay-one", "vfs-one"]);
        let file = root.path().join("vfs-containers/containers.json");
        let one = read_podman_state(&file).expect("read the file");
        assert_eq!(one[0].name.as_deref(), Some("vfs-one"));
    }

    #[test]
    fn containerd_bundles() {
        // Annotations of a container made through containerd 1.6's CRI.
        let cri = r#"{"annotations": {
            "io.kubernetes.cri.container-name": "app",
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.image-name": "docker.io/library/contrace-busybox:test",
            "io.kubernetes.cri.sandbox-name": "web-0",
            "io.kubernetes.cri.sandbox-namespace": "shop",
            "io.kubernetes.cri.sandbox-uid": "5ec00000-0000-4000-8000-000000005412"}}"#;
        let c = parse_containerd_bundle("21c0", cri).unwrap();
        assert_eq!(c.label(), "shop/web-0/app");
        assert_eq!(
            c.pod_uid.as_deref(),
            Some("5ec00000-0000-4000-8000-000000005412")
        );
        assert_eq!(c.runtime, Runtime::Containerd);
        // The sandbox: a pod, no container name.
        let sandbox = cri.replace("\"io.kubernetes.cri.container-name\": \"app\",", "");
        assert_eq!(
            parse_containerd_bundle("9092", &sandbox).unwrap().name,
            None
        );
        let nerdctl = r#"{"annotations": {"nerdctl/name": "db"}}"#;
        assert_eq!(
            parse_containerd_bundle("ab", nerdctl)
                .unwrap()
                .name
                .as_deref(),
            Some("db")
        );
        assert!(parse_containerd_bundle("ab", r#"{"ociVersion": "1.0.2"}"#).is_none());
        assert!(parse_containerd_bundle("ab", "{").is_none());
    }

    #[test]
    fn containerd_task_bundles_all_or_one() {
        let root = tempfile::tempdir().expect("tempdir");
        let bundle = |ns: &str, id: &str, name: &str| {
            let dir = root.path().join(ns).join(id);
            fs::create_dir_all(&dir).expect("mkdir");
            let spec = format!(r#"{{"annotations": {{"nerdctl/name": "{name}"}}}}"#);
            fs::write(dir.join("config.json"), spec).expect("write bundle");
        };
        bundle("default", "aa", "one");
        bundle("k8s.io", "bb", "two");
        bundle("moby", "cc", "docker's");
        let names = |only| {
            let mut n: Vec<String> = read_containerd_tasks(root.path(), only)
                .expect("read")
                .into_iter()
                .filter_map(|c| c.name)
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(None), ["one", "two"]);
        assert_eq!(names(Some("bb")), ["two"]);
        assert_eq!(names(Some("cc")), Vec::<String>::new());
        assert_eq!(names(Some("dd")), Vec::<String>::new());
    }

    #[test]
    fn runc_state() {
        let (id, v2) = parse_runc_state(include_str!("fixtures/runc-state.json")).unwrap();
        assert_eq!(id, "c0ffee1234");
        assert_eq!(v2.as_deref(), Some("/sys/fs/cgroup/unified/c0ffee1234"));
        assert!(parse_runc_state("{}").is_none());
    }

    #[test]
    fn kubelet_log_names() {
        let uid = "6f1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6b";
        assert_eq!(
            parse_pod_log_dir(&format!("kube-system_coredns-5d78c9869d-abcde_{uid}")),
            Some(KubePod {
                namespace: "kube-system".into(),
                name: "coredns-5d78c9869d-abcde".into(),
                uid: uid.into()
            })
        );
        assert_eq!(parse_pod_log_dir("default_web"), None);
        assert_eq!(parse_pod_log_dir("default_web_notauid"), None);
        let id = "b42845850f7e30e7b95adc6ad0b1f421fa22a54c496484cbeaa8754123800ce0";
        let c = parse_container_log(&format!(
            "coredns-5d78c9869d-abcde_kube-system_coredns-{id}.log"
        ))
        .unwrap();
        assert_eq!(c.id, id);
        assert_eq!(c.name.as_deref(), Some("coredns"));
        assert_eq!(c.pod.as_deref(), Some("coredns-5d78c9869d-abcde"));
        assert_eq!(c.namespace.as_deref(), Some("kube-system"));
        // Container names may hold dashes: the id is after the last one.
        let c = parse_container_log(&format!("web-0_shop_side-car-{id}.log")).unwrap();
        assert_eq!(c.name.as_deref(), Some("side-car"));
        assert!(parse_container_log("web-0_shop_app-1234.log").is_none());
        assert!(parse_container_log(&format!("web-0_shop_app-{id}.txt")).is_none());
    }

    #[test]
    fn kubelet_logs_tree() {
        let dir = tempfile::tempdir().unwrap();
        let uid = "6f1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6b";
        let id = "b42845850f7e30e7b95adc6ad0b1f421fa22a54c496484cbeaa8754123800ce0";
        fs::create_dir_all(dir.path().join(format!("pods/shop_web-0_{uid}/app"))).unwrap();
        fs::create_dir_all(dir.path().join("containers")).unwrap();
        fs::write(
            dir.path()
                .join(format!("containers/web-0_shop_app-{id}.log")),
            "",
        )
        .unwrap();
        let (pods, containers) = read_kubelet_logs(dir.path()).unwrap();
        assert_eq!(pods.len(), 1);
        assert_eq!(containers.len(), 1);
        assert_eq!(containers[0].pod_uid.as_deref(), Some(uid));
        // kubelet's link: its target names the pod's UID, also when an
        // older pod of the same name left its directory behind.
        let old_uid = "0fd00000-3a4d-4e5f-9a0b-1c2d3e4f5a6b";
        fs::create_dir_all(dir.path().join(format!("pods/shop_web-0_{old_uid}/app"))).unwrap();
        let id2 = "c".repeat(64);
        std::os::unix::fs::symlink(
            format!("/var/log/pods/shop_web-0_{uid}/app/0.log"),
            dir.path()
                .join(format!("containers/web-0_shop_app-{id2}.log")),
        )
        .unwrap();
        let (_, containers) = read_kubelet_logs(dir.path()).unwrap();
        let linked = containers.iter().find(|c| c.id == id2).unwrap();
        assert_eq!(linked.pod_uid.as_deref(), Some(uid));
        // No kubelet: nothing, no error.
        let (p, c) = read_kubelet_logs(&dir.path().join("absent")).unwrap();
        assert!(p.is_empty() && c.is_empty());
    }
}
