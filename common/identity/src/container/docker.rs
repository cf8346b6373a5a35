//! Docker Engine API over its unix socket (`GET /containers/json?all=1`):
//! docker's own, and podman's compatible service. One request lists every
//! container with its name, image and labels.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::UnixStream;

use super::info::{ContainerInfo, Runtime};
use super::state::{apply_kube_labels, bare};

/// Unversioned path: the daemon answers in its own API version (docker 29
/// refuses versions below 1.44, docker 20.10 knows none above 1.41), and
/// this listing's fields have not changed across them.
const LIST_PATH: &str = "/containers/json?all=1";

/// Listing entries are capped so a broken daemon cannot make us buffer
/// without bound (1000 containers take about 1.5 MB).
const MAX_BODY: usize = 64 << 20;

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Names", default)]
    names: Option<Vec<String>>,
    #[serde(rename = "Image", default)]
    image: Option<String>,
    #[serde(rename = "Labels", default)]
    labels: Option<HashMap<String, String>>,
}

/// Containers from a `/containers/json` answer.
pub(super) fn parse_list(body: &[u8], runtime: Runtime) -> Result<Vec<ContainerInfo>> {
    let entries: Vec<Entry> =
        serde_json::from_slice(body).context("the container list is not the JSON expected")?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let mut info = bare(&e.id, runtime);
            // Names carry a leading '/'; the first is the container's own.
            info.name = e
                .names
                .and_then(|n| n.into_iter().next())
                .map(|n| n.trim_start_matches('/').to_string())
                .filter(|n| !n.is_empty());
            info.image = e.image.filter(|i| !i.is_empty());
            if let Some(labels) = e.labels {
                apply_kube_labels(&mut info, &labels);
            }
            info
        })
        .collect())
}

/// Lists the containers of the Engine API daemon on `socket`.
pub(super) async fn list(
    socket: &Path,
    runtime: Runtime,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<Vec<ContainerInfo>> {
    let stream = tokio::time::timeout(connect_timeout, UnixStream::connect(socket))
        .await
        .map_err(|_| anyhow!("no answer within {} ms", connect_timeout.as_millis()))?
        .context("connecting")?;
    let body = tokio::time::timeout(request_timeout, get(stream, LIST_PATH))
        .await
        .map_err(|_| anyhow!("no answer within {} s", request_timeout.as_secs_f32()))??;
    parse_list(&body, runtime)
}

async fn get(stream: UnixStream, path: &str) -> Result<Bytes> {
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    // The connection task ends when the request is done and `sender` dropped.
    tokio::spawn(conn);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .context("building the request")?;
    let response = sender.send_request(request).await.context("GET")?;
    let status = response.status();
    let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| anyhow!("reading the answer: {e}"))?
        .to_bytes();
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        bail!("GET {path}: HTTP {status}: {}", text.trim());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = include_str!("fixtures/docker-api-containers.json");
    const PODMAN: &str = include_str!("fixtures/podman-api-containers.json");
    const KUBE: &str = include_str!("fixtures/docker-api-kube-labels.json");

    #[test]
    fn docker_list() {
        let list = parse_list(DOCKER.as_bytes(), Runtime::Docker).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name.as_deref(), Some("contrace-probe-d"));
        assert_eq!(list[0].image.as_deref(), Some("contrace-busybox:test"));
        assert_eq!(list[0].runtime, Runtime::Docker);
        assert!(list[0].pod.is_none());
    }

    #[test]
    fn podman_compat_list() {
        let list = parse_list(PODMAN.as_bytes(), Runtime::Podman).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].id,
            "a1f168bebc9d5d52a780ae2bb3e8eee8db69fcf146a796d00e186d15b836b334"
        );
        assert_eq!(list[0].name.as_deref(), Some("contrace-probe-p"));
        assert_eq!(list[0].runtime, Runtime::Podman);
    }

    #[test]
    fn kubernetes_labels_on_engine_containers() {
        // cri-dockerd/dockershim containers: the labels name pod and container.
        let list = parse_list(KUBE.as_bytes(), Runtime::Docker).unwrap();
        let app = list.iter().find(|c| c.name.is_some()).unwrap();
        assert_eq!(app.name.as_deref(), Some("app"));
        assert_eq!(app.pod.as_deref(), Some("web-0"));
        assert_eq!(app.namespace.as_deref(), Some("shop"));
        assert_eq!(
            app.pod_uid.as_deref(),
            Some("6f1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6b")
        );
        // The sandbox is named "POD": it is the pod, not a container.
        let sandbox = list.iter().find(|c| c.name.is_none()).unwrap();
        assert_eq!(sandbox.pod.as_deref(), Some("web-0"));
    }

    #[test]
    fn bad_answers() {
        assert!(parse_list(b"{\"message\":\"page not found\"}", Runtime::Docker).is_err());
        assert!(parse_list(b"", Runtime::Docker).is_err());
        assert!(parse_list(b"[]", Runtime::Docker).unwrap().is_empty());
        // Null names and labels (seen from podman for some containers).
        let list = parse_list(
            br#"[{"Id":"ab","Names":null,"Labels":null,"Image":""}]"#,
            Runtime::Podman,
        )
        .unwrap();
        assert_eq!(
            (list[0].name.as_ref(), list[0].image.as_ref()),
            (None, None)
        );
    }

    #[test]
    fn missing_and_silent_sockets() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.sock");
        let fast = Duration::from_millis(200);
        assert!(rt
            .block_on(list(&gone, Runtime::Docker, fast, fast))
            .is_err());
        // A socket that accepts but never answers: bounded by the timeout.
        let silent = dir.path().join("silent.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&silent).unwrap();
        let start = std::time::Instant::now();
        let err = rt
            .block_on(list(&silent, Runtime::Docker, fast, fast))
            .unwrap_err();
        assert!(err.to_string().contains("no answer"), "{err:#}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
