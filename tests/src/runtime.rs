//! Real container runtimes for the tests: named docker and podman containers
//! from the local busybox image, and plain runc containers, each removed on
//! drop. Needs `scripts/runtimes install && scripts/runtimes start &&
//! scripts/runtimes image` (scripts/test runs them).
//!
//! The image holds busybox and the static `workload` as `/bin/workload`;
//! inside a container run it with `--no-wait` and without `--cgroup`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The test image `scripts/runtimes image` builds for this checkout
/// (podman: `localhost/…`): `contrace-busybox:TAG`, TAG a hash of what goes
/// in it (see [`image_tag`]), so that two checkouts or an older build never
/// run each other's image.
pub fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| format!("contrace-busybox:{}", image_tag()))
}

/// The static workload `scripts/runtimes image` builds into the image.
fn static_workload() -> PathBuf {
    crate::bin_dir()
        .parent()
        .expect("the target directory")
        .join("x86_64-unknown-linux-gnu/release/workload")
}

/// SHA-256 of `data` in hex, by coreutils' `sha256sum` as scripts/runtimes
/// computes it.
fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(data).expect("write to sha256sum");
    drop(stdin);
    let out = child.wait_with_output().expect("sha256sum");
    assert!(out.status.success(), "sha256sum: {}", out.status);
    let hex = String::from_utf8_lossy(&out.stdout);
    hex.split_whitespace().next().expect("a hash").to_string()
}

/// The image's tag: 16 hex digits of the SHA-256 of the SHA-256s (one a
/// line) of the static workload, busybox and tests/image/recipe.sh; the
/// same as `image_tag` in scripts/runtimes.
pub fn image_tag() -> String {
    let busybox = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("busybox"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("busybox not on PATH: {FIX}"));
    let recipe = crate::repo_path("tests/image/recipe.sh");
    let mut lines = String::new();
    for file in [static_workload(), busybox, recipe] {
        let data =
            std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}; {FIX}", file.display()));
        lines.push_str(&sha256_hex(&data));
        lines.push('\n');
    }
    sha256_hex(lines.as_bytes())[..16].to_string()
}

const FIX: &str =
    "run `scripts/runtimes install && scripts/runtimes start && scripts/runtimes image` \
                   (as root) before the tests; scripts/test does";

/// A container engine the tests drive through its CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    pub fn cli(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
        }
    }

    fn image(self) -> String {
        match self {
            Self::Docker => image().to_string(),
            Self::Podman => format!("localhost/{}", image()),
        }
    }

    /// Options every container of this engine needs on this kind of host:
    /// no network (nothing to pull, no bridge); podman: runc (crun refuses
    /// hybrid cgroups) and rlimits no higher than podman's own (without
    /// CAP_SYS_RESOURCE runc cannot raise them; podman caps its nproc at
    /// 32768 and would ask for nofile 1048576).
    fn run_options(self) -> Vec<String> {
        let mut opts = vec!["--network".to_string(), "none".to_string()];
        if self == Self::Podman {
            let nofile = hard_limit(libc::RLIMIT_NOFILE);
            let nproc = hard_limit(libc::RLIMIT_NPROC).min(32768);
            opts.extend([
                "--ulimit".into(),
                format!("nofile={nofile}:{nofile}"),
                "--ulimit".into(),
                format!("nproc={nproc}:{nproc}"),
            ]);
        }
        opts
    }

    /// `podman` takes `--runtime` before the subcommand.
    fn command(self) -> Command {
        let mut cmd = Command::new(self.cli());
        if self == Self::Podman {
            cmd.args(["--runtime", "runc"]);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs `args` in a new container named `name` until it ends (`run
    /// --rm`), `extra` options before the image; its output, whatever its
    /// exit status.
    pub fn run_to_end(self, name: &str, extra: &[&str], args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(["run", "--rm", "--name", name])
            .args(self.run_options())
            .args(extra)
            .arg(self.image())
            .args(args);
        run(cmd)
    }

    /// True when the engine answers and has the test image. Otherwise a
    /// skip message, or a panic with the fix when `REQUIRE_BPF_TESTS` is set.
    pub fn available(self) -> bool {
        if !crate::require_root() {
            return false;
        }
        let answers = self
            .command()
            .args(["image", "inspect", &self.image()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if answers {
            return true;
        }
        let why = format!(
            "{} does not answer or has no image {}: {FIX}",
            self.cli(),
            self.image()
        );
        if std::env::var_os("REQUIRE_BPF_TESTS").is_some() {
            panic!("{why}");
        }
        eprintln!("skipping: {why}");
        false
    }
}

fn hard_limit(resource: libc::__rlimit_resource_t) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    let ok = unsafe { libc::getrlimit(resource, &mut lim) } == 0;
    if ok && lim.rlim_max != libc::RLIM_INFINITY {
        lim.rlim_max
    } else {
        1 << 20
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (or run) uses: `contrace-test-<purpose>-<pid>-<n>`.
pub fn unique_name(purpose: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    format!("contrace-test-{purpose}-{}-{n}", std::process::id())
}

fn run(mut cmd: Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.output().unwrap_or_else(|e| panic!("{shown}: {e}"))
}

fn ok(cmd: Command) -> String {
    let shown = format!("{cmd:?}");
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{shown} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A running docker or podman container, removed (`rm -f`) on drop.
pub struct Container {
    pub engine: Engine,
    name: String,
    id: String,
}

impl Container {
    /// Starts `sleep` in a container named `contrace-test-<purpose>-…`.
    pub fn start(engine: Engine, purpose: &str) -> Self {
        Self::start_named(engine, &unique_name(purpose), &[])
    }

    /// Starts a container with this exact name; `extra` goes before the image.
    pub fn start_named(engine: Engine, name: &str, extra: &[&str]) -> Self {
        let mut cmd = engine.command();
        cmd.args(["run", "-d", "--name", name])
            .args(engine.run_options())
            .args(extra)
            .arg(engine.image())
            .args(["sleep", "100000"]);
        // Removes what a failed run left behind (a created container).
        let mut container = Self {
            engine,
            name: name.to_string(),
            id: String::new(),
        };
        container.id = ok(cmd);
        let id = &container.id;
        assert!(id.len() == 64, "{} run printed no id: {id}", engine.cli());
        container
    }

    /// Creates a container without starting it (it has no cgroup).
    pub fn create(engine: Engine, purpose: &str) -> Self {
        let name = unique_name(purpose);
        let mut cmd = engine.command();
        cmd.args(["create", "--name", &name])
            .args(engine.run_options())
            .arg(engine.image())
            .args(["sleep", "100000"]);
        let mut container = Self {
            engine,
            name,
            id: String::new(),
        };
        container.id = ok(cmd);
        container
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full 64-hex id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs `args` in the container (`docker exec`); its output, whatever
    /// the exit status.
    pub fn exec_output(&self, args: &[&str]) -> Output {
        let mut cmd = self.engine.command();
        cmd.args(["exec", &self.name]).args(args);
        run(cmd)
    }

    /// Runs `args` in the container and returns its stdout; panics on failure.
    pub fn exec(&self, args: &[&str]) -> String {
        let mut cmd = self.engine.command();
        cmd.args(["exec", &self.name]).args(args);
        ok(cmd)
    }

    /// Pid (on the host) of the container's first process.
    pub fn pid(&self) -> u32 {
        let mut cmd = self.engine.command();
        cmd.args(["inspect", "--format", "{{.State.Pid}}", &self.name]);
        let text = ok(cmd);
        text.parse()
            .unwrap_or_else(|_| panic!("inspect printed no pid: {text}"))
    }

    /// The container's cgroup v2 path (relative to the mount, `/docker/<id>`),
    /// as its first process sees it.
    pub fn cgroup(&self) -> String {
        proc_cgroup(self.pid())
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self
            .engine
            .command()
            .args(["rm", "-f", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The cgroup v2 path (`0::` line) of a process.
pub fn proc_cgroup(pid: u32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/cgroup: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or_else(|| panic!("no cgroup v2 line in {text}"))
        .to_string()
}

/// A plain `runc run` container with an id we choose, running `sleep` in a
/// busybox rootfs; killed and deleted on drop.
pub struct RuncContainer {
    pub id: String,
    bundle: tempdir::Dir,
}

/// A temporary directory removed on drop (the test crate has no tempfile).
mod tempdir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> Self {
            let path = std::env::temp_dir().join(super::unique_name(tag));
            std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Self(path)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl RuncContainer {
    /// True when runc and busybox are there (else skip, or panic in CI).
    pub fn available() -> bool {
        if !crate::require_root() {
            return false;
        }
        let there = ["runc", "busybox"].iter().all(|b| {
            Command::new(b)
                .arg("--help")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        });
        if there {
            return true;
        }
        let why = format!("runc or busybox missing: {FIX}");
        if std::env::var_os("REQUIRE_BPF_TESTS").is_some() {
            panic!("{why}");
        }
        eprintln!("skipping: {why}");
        false
    }

    /// Starts container `id`; `cgroups_path` is runc's `linux.cgroupsPath`
    /// (`None`: runc's default).
    pub fn start(id: &str, cgroups_path: Option<&str>) -> Self {
        let bundle = tempdir::Dir::new("runc");
        let rootfs = bundle.path().join("rootfs");
        let bin = rootfs.join("bin");
        std::fs::create_dir_all(&bin).expect("rootfs/bin");
        let busybox = which("busybox");
        std::fs::copy(&busybox, bin.join("busybox")).expect("copy busybox");
        for applet in ["sh", "sleep", "cat"] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("symlink");
        }
        let mut spec = Command::new("runc");
        spec.args(["spec", "--bundle"]).arg(bundle.path());
        ok(spec);
        let config_path = bundle.path().join("config.json");
        let text = std::fs::read_to_string(&config_path).expect("config.json");
        let mut config: serde_json::Value =
            serde_json::from_str(&text).expect("config.json is JSON");
        config["process"]["terminal"] = false.into();
        config["process"]["args"] = serde_json::json!(["/bin/sleep", "100000"]);
        config["root"]["readonly"] = false.into();
        if let Some(path) = cgroups_path {
            config["linux"]["cgroupsPath"] = path.into();
        }
        std::fs::write(&config_path, config.to_string()).expect("write config.json");
        let mut runc = Command::new("runc");
        runc.args(["run", "-d", "--bundle"])
            .arg(bundle.path())
            .arg(id)
            // Detached: runc hands these to the container; pipes would
            // keep our output() waiting for the container to exit.
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = runc.status().expect("runc run");
        assert!(status.success(), "runc run {id} failed: {status}");
        Self {
            id: id.to_string(),
            bundle,
        }
    }

    /// Pid of the container's process.
    pub fn pid(&self) -> u32 {
        let mut cmd = Command::new("runc");
        cmd.args(["state", &self.id]);
        let state: serde_json::Value = serde_json::from_str(&ok(cmd)).expect("runc state JSON");
        state["pid"].as_u64().expect("pid in runc state") as u32
    }

    pub fn cgroup(&self) -> String {
        proc_cgroup(self.pid())
    }

    pub fn bundle(&self) -> &Path {
        self.bundle.path()
    }
}

impl Drop for RuncContainer {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["kill", &self.id, "KILL"])
            .stderr(Stdio::null())
            .status();
        for _ in 0..50 {
            let deleted = Command::new("runc")
                .args(["delete", "--force", &self.id])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if deleted {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn which(bin: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{bin} not in PATH: {FIX}"))
}

/// A Kubernetes pod with one container, made through containerd's CRI
/// endpoint as kubelet would (cgroupfs driver: the pod's cgroup is
/// `/kubepods/besteffort/pod<uid>`, its containers' `<pod cgroup>/<id>`).
/// Host network, so no CNI. Needs `scripts/runtimes image`, which imports
/// the test image into containerd's `k8s.io` namespace and provides the
/// sandbox ("pause") image. Stopped, removed and its cgroups deleted on drop.
pub struct CriPod {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub sandbox_id: String,
    pub container_name: String,
    pub container_id: String,
    rt: tokio::runtime::Runtime,
    client: k8s_cri::v1::runtime_service_client::RuntimeServiceClient<tonic::transport::Channel>,
}

/// containerd's socket; its cri plugin serves the CRI there.
pub const CONTAINERD_SOCKET: &str = "/run/containerd/containerd.sock";
/// Where the pod cgroups go (kubelet's cgroupfs layout, QoS besteffort).
pub const KUBEPODS: &str = "kubepods";

impl CriPod {
    /// True when containerd's CRI answers (else skip, or panic in CI).
    pub fn available() -> bool {
        if !crate::require_root() {
            return false;
        }
        let answers = Command::new("ctr")
            .args(["--address", CONTAINERD_SOCKET, "--connect-timeout", "2s"])
            .args([
                "-n",
                "k8s.io",
                "images",
                "check",
                &format!("name==docker.io/library/{}", image()),
            ])
            .output()
            .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
        if answers {
            return true;
        }
        let why = format!("containerd does not answer or lacks the test image in k8s.io: {FIX}");
        if std::env::var_os("REQUIRE_BPF_TESTS").is_some() {
            panic!("{why}");
        }
        eprintln!("skipping: {why}");
        false
    }

    pub fn start(namespace: &str, name: &str, uid: &str, container_name: &str) -> Self {
        Self::start_logged(namespace, name, uid, container_name, None)
    }

    /// [`start`](Self::start), and with `log_root` a log directory laid out
    /// as kubelet lays out `/var/log` (`log_root` stands for it): the
    /// sandbox's `log_directory` `pods/<namespace>_<pod>_<uid>`, the
    /// container's `log_path` `<container>/0.log` (containerd writes it),
    /// and once it runs the link `containers/<pod>_<namespace>_<container>-<id>.log`
    /// pointing at `/var/log/pods/…/<container>/0.log`, kubelet's names.
    pub fn start_logged(
        namespace: &str,
        name: &str,
        uid: &str,
        container_name: &str,
        log_root: Option<&Path>,
    ) -> Self {
        Self::start_custom(namespace, name, uid, container_name, log_root, |_, _| {})
    }

    /// [`start_logged`](Self::start_logged), with `customize` changing the
    /// sandbox and container configurations kubelet would send (security
    /// context, mounts, command) before they are sent.
    pub fn start_custom(
        namespace: &str,
        name: &str,
        uid: &str,
        container_name: &str,
        log_root: Option<&Path>,
        customize: impl FnOnce(&mut k8s_cri::v1::PodSandboxConfig, &mut k8s_cri::v1::ContainerConfig),
    ) -> Self {
        use k8s_cri::v1::*;
        let pod_logs = format!("pods/{namespace}_{name}_{uid}");
        if let Some(root) = log_root {
            std::fs::create_dir_all(root.join(&pod_logs).join(container_name))
                .expect("pod log directory");
            std::fs::create_dir_all(root.join("containers")).expect("containers log directory");
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let channel = rt
            .block_on(
                tonic::transport::Endpoint::try_from("http://localhost")
                    .expect("endpoint")
                    .connect_with_connector(tower::service_fn(|_| async {
                        let s = tokio::net::UnixStream::connect(CONTAINERD_SOCKET).await?;
                        Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(s))
                    })),
            )
            .expect("connecting to containerd's CRI");
        let mut client = runtime_service_client::RuntimeServiceClient::new(channel);
        // The labels kubelet puts on sandboxes and containers.
        let labels: std::collections::HashMap<String, String> = [
            ("io.kubernetes.pod.name", name),
            ("io.kubernetes.pod.namespace", namespace),
            ("io.kubernetes.pod.uid", uid),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut sandbox_config = PodSandboxConfig {
            labels: labels.clone(),
            metadata: Some(PodSandboxMetadata {
                name: name.into(),
                uid: uid.into(),
                namespace: namespace.into(),
                attempt: 0,
            }),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: format!("/{KUBEPODS}/besteffort/pod{uid}"),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: NamespaceMode::Node as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            log_directory: log_root
                .map(|root| root.join(&pod_logs).display().to_string())
                .unwrap_or_default(),
            ..Default::default()
        };
        let mut labels_with_name = labels.clone();
        labels_with_name.insert("io.kubernetes.container.name".into(), container_name.into());
        let mut config = ContainerConfig {
            labels: labels_with_name,
            metadata: Some(ContainerMetadata {
                name: container_name.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: format!("docker.io/library/{}", image()),
                ..Default::default()
            }),
            command: vec!["/bin/sleep".into(), "100000".into()],
            log_path: log_root
                .map(|_| format!("{container_name}/0.log"))
                .unwrap_or_default(),
            ..Default::default()
        };
        customize(&mut sandbox_config, &mut config);
        let sandbox_id = rt
            .block_on(client.run_pod_sandbox(RunPodSandboxRequest {
                config: Some(sandbox_config.clone()),
                runtime_handler: String::new(),
            }))
            .unwrap_or_else(|e| {
                remove_pod_cgroups(uid);
                panic!("RunPodSandbox: {e}")
            })
            .into_inner()
            .pod_sandbox_id;
        let mut pod = Self {
            namespace: namespace.into(),
            name: name.into(),
            uid: uid.into(),
            sandbox_id,
            container_name: container_name.into(),
            container_id: String::new(),
            rt,
            client,
        };
        let id = pod
            .rt
            .block_on(pod.client.create_container(CreateContainerRequest {
                pod_sandbox_id: pod.sandbox_id.clone(),
                config: Some(config),
                sandbox_config: Some(sandbox_config),
            }))
            .unwrap_or_else(|e| panic!("CreateContainer: {e}"))
            .into_inner()
            .container_id;
        pod.container_id = id.clone();
        pod.rt
            .block_on(
                pod.client
                    .start_container(StartContainerRequest { container_id: id }),
            )
            .unwrap_or_else(|e| panic!("StartContainer: {e}"));
        if let Some(root) = log_root {
            let link = root.join(format!(
                "containers/{name}_{namespace}_{container_name}-{}.log",
                pod.container_id
            ));
            let target = format!("/var/log/{pod_logs}/{container_name}/0.log");
            std::os::unix::fs::symlink(target, &link)
                .unwrap_or_else(|e| panic!("{}: {e}", link.display()));
        }
        pod
    }

    /// Runs `cmd` in the container (CRI ExecSync, as `kubectl exec` does);
    /// panics unless it exits 0.
    pub fn exec(&mut self, cmd: &[&str]) {
        let request = k8s_cri::v1::ExecSyncRequest {
            container_id: self.container_id.clone(),
            cmd: cmd.iter().map(|c| c.to_string()).collect(),
            timeout: 60,
        };
        let answer = self
            .rt
            .block_on(self.client.exec_sync(request))
            .unwrap_or_else(|e| panic!("ExecSync {cmd:?}: {e}"))
            .into_inner();
        assert_eq!(
            answer.exit_code,
            0,
            "{cmd:?}: {}",
            String::from_utf8_lossy(&answer.stderr)
        );
    }

    /// The container's cgroup v2 path (relative to the mount).
    pub fn cgroup(&mut self) -> String {
        proc_cgroup(self.pid())
    }

    /// Host pid of the container's first process (CRI ContainerStatus).
    pub fn pid(&mut self) -> u32 {
        let status = self
            .rt
            .block_on(
                self.client
                    .container_status(k8s_cri::v1::ContainerStatusRequest {
                        container_id: self.container_id.clone(),
                        verbose: true,
                    }),
            )
            .expect("ContainerStatus")
            .into_inner();
        let info: serde_json::Value =
            serde_json::from_str(status.info.get("info").map_or("{}", String::as_str))
                .unwrap_or_default();
        let pid = info["pid"]
            .as_u64()
            .unwrap_or_else(|| panic!("no pid in ContainerStatus: {info}"));
        pid as u32
    }

    /// The CRI's own answers, as JSON (recorded as unit-test fixtures).
    pub fn list_json(&mut self) -> (String, String) {
        let containers = self
            .rt
            .block_on(
                self.client
                    .list_containers(k8s_cri::v1::ListContainersRequest::default()),
            )
            .expect("ListContainers")
            .into_inner();
        let sandboxes = self
            .rt
            .block_on(
                self.client
                    .list_pod_sandbox(k8s_cri::v1::ListPodSandboxRequest::default()),
            )
            .expect("ListPodSandbox")
            .into_inner();
        (
            serde_json::to_string_pretty(&containers).unwrap_or_default(),
            serde_json::to_string_pretty(&sandboxes).unwrap_or_default(),
        )
    }
}

impl Drop for CriPod {
    fn drop(&mut self) {
        use k8s_cri::v1::*;
        let id = self.sandbox_id.clone();
        let _ = self
            .rt
            .block_on(self.client.stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: id.clone(),
            }));
        let _ = self.rt.block_on(
            self.client
                .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id }),
        );
        remove_pod_cgroups(&self.uid);
    }
}

/// kubelet owns the pod cgroups; here the test made them (through runc):
/// removes `pod<uid>` wherever it is, in the v2 tree and in every v1
/// hierarchy of a hybrid host, then `besteffort` and `kubepods` when empty.
fn remove_pod_cgroups(uid: &str) {
    fn walk(dir: &Path, depth: usize, target: &str, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name() == target {
                out.push(path);
            } else if depth < 6 {
                walk(&path, depth + 1, target, out);
            }
        }
    }
    let mut found = Vec::new();
    walk(
        Path::new("/sys/fs/cgroup"),
        0,
        &format!("pod{uid}"),
        &mut found,
    );
    for pod in found {
        // Container cgroups runc left (if any) first, then the pod, then
        // its parents while empty.
        if let Ok(entries) = std::fs::read_dir(&pod) {
            for e in entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            {
                let _ = std::fs::remove_dir(e.path());
            }
        }
        let _ = std::fs::remove_dir(&pod);
        for parent in pod.ancestors().skip(1).take(2) {
            let name = parent.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "besteffort" || name == KUBEPODS {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}
