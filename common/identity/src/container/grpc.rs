//! gRPC runtimes over unix sockets: containerd's own API (every namespace;
//! `k8s.io` holds the Kubernetes containers with their pod labels, `moby`
//! docker's) and the Kubernetes CRI (CRI-O; containerd's cri plugin).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::services::v1::namespaces_client::NamespacesClient;
use containerd_client::services::v1::{ListContainersRequest, ListNamespacesRequest};
use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tonic::transport::{Channel, Endpoint};

use super::info::{ContainerInfo, Runtime};
use super::state::{apply_kube_labels, bare};

/// containerd and CRI answers with every container's spec can exceed
/// tonic's 4 MiB default on a busy node.
const MAX_MESSAGE: usize = 64 << 20;

/// A channel to a unix socket; the URI is a placeholder tonic requires.
async fn channel(socket: &Path, connect_timeout: Duration) -> Result<Channel> {
    let path: PathBuf = socket.to_path_buf();
    let endpoint = Endpoint::try_from("http://localhost")
        .context("endpoint")?
        .connect_timeout(connect_timeout);
    let connect = endpoint.connect_with_connector(tower::service_fn(move |_| {
        let path = path.clone();
        async move {
            let stream = tokio::net::UnixStream::connect(path).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    }));
    tokio::time::timeout(connect_timeout, connect)
        .await
        .map_err(|_| anyhow!("no answer within {} ms", connect_timeout.as_millis()))?
        .context("connecting")
}

/// The runtime a containerd namespace's containers belong to.
fn namespace_runtime(namespace: &str) -> Runtime {
    match namespace {
        "moby" => Runtime::Docker,
        _ => Runtime::Containerd,
    }
}

/// One containerd container record (namespace, id, labels, image).
pub(super) fn from_containerd(
    namespace: &str,
    id: &str,
    labels: &HashMap<String, String>,
    image: &str,
) -> ContainerInfo {
    let mut info = bare(id, namespace_runtime(namespace));
    info.image = (!image.is_empty()).then(|| image.to_string());
    // nerdctl keeps the name the user gave in a label.
    info.name = labels.get("nerdctl/name").cloned();
    apply_kube_labels(&mut info, labels);
    info
}

/// Every container in every containerd namespace.
pub(super) async fn list_containerd(
    socket: &Path,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<Vec<ContainerInfo>> {
    let channel = channel(socket, connect_timeout).await?;
    let work = async {
        let namespaces = NamespacesClient::new(channel.clone())
            .list(ListNamespacesRequest::default())
            .await
            .context("listing namespaces")?
            .into_inner()
            .namespaces;
        let mut found = Vec::new();
        for ns in namespaces {
            let mut request = tonic::Request::new(ListContainersRequest::default());
            request.metadata_mut().insert(
                "containerd-namespace",
                ns.name
                    .parse()
                    .map_err(|_| anyhow!("namespace name {:?} is no header value", ns.name))?,
            );
            let containers = ContainersClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE)
                .list(request)
                .await
                .with_context(|| format!("listing containers in namespace {}", ns.name))?
                .into_inner()
                .containers;
            found.extend(
                containers
                    .iter()
                    .map(|c| from_containerd(&ns.name, &c.id, &c.labels, &c.image)),
            );
        }
        Ok::<_, anyhow::Error>(found)
    };
    tokio::time::timeout(request_timeout, work)
        .await
        .map_err(|_| anyhow!("no answer within {} s", request_timeout.as_secs_f32()))?
}

/// Containers from CRI `ListContainers` and `ListPodSandbox` answers: each
/// container gets its pod's name, namespace and UID from its sandbox.
pub(super) fn from_cri(
    containers: &[k8s_cri::v1::Container],
    sandboxes: &[k8s_cri::v1::PodSandbox],
    runtime: Runtime,
) -> Vec<ContainerInfo> {
    let pods: HashMap<&str, &k8s_cri::v1::PodSandboxMetadata> = sandboxes
        .iter()
        .filter_map(|s| Some((s.id.as_str(), s.metadata.as_ref()?)))
        .collect();
    let mut found: Vec<ContainerInfo> = containers
        .iter()
        .map(|c| {
            let mut info = bare(&c.id, runtime);
            apply_kube_labels(&mut info, &c.labels);
            if let Some(meta) = &c.metadata {
                info.name = Some(meta.name.clone());
            }
            info.image = c
                .image
                .as_ref()
                .map(|i| i.image.clone())
                .filter(|i| !i.is_empty())
                .or_else(|| (!c.image_ref.is_empty()).then(|| c.image_ref.clone()));
            if let Some(pod) = pods.get(c.pod_sandbox_id.as_str()) {
                info.pod = Some(pod.name.clone());
                info.namespace = Some(pod.namespace.clone());
                info.pod_uid = Some(pod.uid.clone());
            }
            info
        })
        .collect();
    // Sandboxes are containers too (the pause process): known by pod only.
    found.extend(sandboxes.iter().map(|s| {
        let mut info = bare(&s.id, runtime);
        if let Some(meta) = &s.metadata {
            info.pod = Some(meta.name.clone());
            info.namespace = Some(meta.namespace.clone());
            info.pod_uid = Some(meta.uid.clone());
        }
        info
    }));
    found
}

/// Every container and pod sandbox a CRI runtime knows.
pub(super) async fn list_cri(
    socket: &Path,
    runtime: Runtime,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<Vec<ContainerInfo>> {
    let channel = channel(socket, connect_timeout).await?;
    let mut client = RuntimeServiceClient::new(channel).max_decoding_message_size(MAX_MESSAGE);
    let work = async {
        let containers = client
            .list_containers(k8s_cri::v1::ListContainersRequest::default())
            .await
            .context("ListContainers")?
            .into_inner()
            .containers;
        let sandboxes = client
            .list_pod_sandbox(k8s_cri::v1::ListPodSandboxRequest::default())
            .await
            .context("ListPodSandbox")?
            .into_inner()
            .items;
        Ok::<_, anyhow::Error>(from_cri(&containers, &sandboxes, runtime))
    };
    tokio::time::timeout(request_timeout, work)
        .await
        .map_err(|_| anyhow!("no answer within {} s", request_timeout.as_secs_f32()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    // Recorded from containerd 1.6 driven through its CRI as kubelet would
    // (tests/tests/e2e/containers.rs, CONTRACE_RECORD_CRI=DIR).
    const POD: &str = "contrace-test-pod-24315-0";
    const NS: &str = "contrace-test";
    const UID: &str = "c0de5efb-0000-4000-8000-000000000001";

    /// `ctr -n k8s.io containers info` output, the fields we read.
    #[derive(Deserialize)]
    struct CtrInfo {
        #[serde(rename = "ID")]
        id: String,
        #[serde(rename = "Labels", default)]
        labels: HashMap<String, String>,
        #[serde(rename = "Image", default)]
        image: String,
    }

    #[test]
    fn containerd_k8s_namespace() {
        let recorded: Vec<CtrInfo> =
            serde_json::from_str(include_str!("fixtures/containerd-k8s-containers.json")).unwrap();
        let infos: Vec<ContainerInfo> = recorded
            .iter()
            .map(|c| from_containerd("k8s.io", &c.id, &c.labels, &c.image))
            .collect();
        let app = infos
            .iter()
            .find(|c| c.name.is_some())
            .expect("a container");
        assert_eq!(app.runtime, Runtime::Containerd);
        assert_eq!(app.name.as_deref(), Some("app"));
        assert_eq!(app.pod.as_deref(), Some(POD));
        assert_eq!(app.namespace.as_deref(), Some(NS));
        assert_eq!(app.pod_uid.as_deref(), Some(UID));
        assert_eq!(
            app.image.as_deref(),
            Some("docker.io/library/contrace-busybox:test")
        );
        let sandbox = infos.iter().find(|c| c.name.is_none()).expect("a sandbox");
        assert_eq!(sandbox.pod.as_deref(), Some(POD));
        // docker's containers in containerd: runtime docker, no name there.
        let moby = from_containerd("moby", "ab", &HashMap::new(), "");
        assert_eq!(
            (moby.runtime, moby.name, moby.image),
            (Runtime::Docker, None, None)
        );
    }

    #[test]
    fn cri_answers() {
        let containers: k8s_cri::v1::ListContainersResponse =
            serde_json::from_str(include_str!("fixtures/cri-list-containers.json")).unwrap();
        let sandboxes: k8s_cri::v1::ListPodSandboxResponse =
            serde_json::from_str(include_str!("fixtures/cri-list-pod-sandbox.json")).unwrap();
        let infos = from_cri(&containers.containers, &sandboxes.items, Runtime::CriO);
        assert_eq!(
            infos.len(),
            containers.containers.len() + sandboxes.items.len()
        );
        let app = infos
            .iter()
            .find(|c| c.name.as_deref() == Some("app"))
            .unwrap();
        assert_eq!(app.runtime, Runtime::CriO);
        assert_eq!(app.pod.as_deref(), Some(POD));
        assert_eq!(app.namespace.as_deref(), Some(NS));
        assert_eq!(app.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn missing_socket_fails_fast() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let fast = Duration::from_millis(200);
        let start = std::time::Instant::now();
        let gone = dir.path().join("gone.sock");
        assert!(rt.block_on(list_containerd(&gone, fast, fast)).is_err());
        assert!(rt
            .block_on(list_cri(&gone, Runtime::CriO, fast, fast))
            .is_err());
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
