//! contrace-exporter with least privilege, end to end:
//! - pods and containers named with no runtime socket reachable: containerd's
//!   CRI driven as kubelet drives it, with kubelet's log layout, and the
//!   exporter in a mount namespace where every runtime socket path is a
//!   socket of the test's that counts connections;
//! - `--web.config.file`: a real Prometheus scraping over TLS with a client
//!   certificate and basic auth gets exact counts; anonymous, wrong-password,
//!   plain-HTTP and untrusted-certificate clients are refused; `/healthz`
//!   stays open to probes; bad files exit 4 with one line naming the field.
//!
//! Certificates are made at test time (rcgen); no key is in the repository.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use contrace_tests::exporter::{q, WAIT};
use contrace_tests::prometheus::{
    free_local_port, require_prometheus, Prometheus, ScrapeConfig, ScrapeTls,
};
use contrace_tests::runtime::{unique_name, CriPod};
use contrace_tests::*;

const USER: &str = "prometheus";
const PASSWORD: &str = "correct horse battery staple";

/// A private CA, the exporter's certificate (for 127.0.0.1), a client
/// certificate from the CA, and a client certificate from another CA.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        let ca = |name: &str| {
            let mut params = CertificateParams::new(Vec::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            let key = KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            (cert, Issuer::new(params, key))
        };
        let leaf = |names: Vec<String>, issuer: &Issuer<'static, KeyPair>, file: &str| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, issuer)
                .unwrap();
            write(&format!("{file}.crt"), cert.pem());
            write(&format!("{file}.key"), key.serialize_pem());
        };
        let (ca_cert, ca_issuer) = ca("contrace test CA");
        write("ca.crt", ca_cert.pem());
        leaf(vec!["127.0.0.1".into()], &ca_issuer, "server");
        leaf(vec!["scraper".into()], &ca_issuer, "client");
        let (_, rogue_issuer) = ca("someone else's CA");
        leaf(vec!["scraper".into()], &rogue_issuer, "rogue");
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A web configuration file in the same directory (relative paths
    /// resolve from there).
    fn web_config(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Server TLS with `client_auth` (and the CA for verifying ones),
    /// basic auth for [`USER`] when `auth`.
    fn config_text(&self, client_auth: &str, auth: bool) -> String {
        let mut text = format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
             client_auth_type: {client_auth}\n"
        );
        if client_auth.contains("Verify") {
            text.push_str("  client_ca_file: ca.crt\n");
        }
        if auth {
            let hash = bcrypt::hash(PASSWORD, 4).unwrap();
            text.push_str(&format!("basic_auth_users:\n  {USER}: '{hash}'\n"));
        }
        text
    }

    /// An HTTPS client trusting the CA, showing `client` (`client` or
    /// `rogue`) when given.
    fn agent(&self, client: Option<&str>) -> ureq::Agent {
        use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
        let pem = |name: &str| std::fs::read(self.path(name)).unwrap();
        let ca = Certificate::from_pem(&pem("ca.crt")).unwrap();
        let mut tls = TlsConfig::builder().root_certs(RootCerts::new_with_certs(&[ca]));
        if let Some(who) = client {
            let cert = Certificate::from_pem(&pem(&format!("{who}.crt"))).unwrap();
            let key = PrivateKey::from_pem(&pem(&format!("{who}.key"))).unwrap();
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
        }
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .proxy(None)
            .tls_config(tls.build())
            .build()
            .into()
    }
}

/// GET over HTTPS: the status and body, or the error (a refused handshake).
fn get(
    agent: &ureq::Agent,
    addr: SocketAddr,
    path: &str,
    auth: Option<(&str, &str)>,
) -> Result<(u16, String), ureq::Error> {
    let mut request = agent.get(format!("https://{addr}{path}"));
    if let Some((user, password)) = auth {
        use base64::Engine;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request = request.header("Authorization", format!("Basic {encoded}"));
    }
    let mut response = request.call()?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()?;
    Ok((status, body))
}

/// The exporter on a free loopback port with a web configuration.
fn start_exporter(web_config: &Path, extra: &[&str]) -> (Tool, SocketAddr) {
    let addr = free_local_port().expect("free port");
    let listen = addr.to_string();
    let config = web_config.display().to_string();
    let mut args = vec!["--listen", &listen, "--web.config.file", &config];
    args.extend_from_slice(extra);
    (Tool::start("contrace-exporter", &args), addr)
}

/// A plain-HTTP request to the HTTPS port: what came back (never an HTTP
/// answer).
fn plain_http(addr: SocketAddr) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    answer
}

root_test!(
    prometheus_scrapes_over_tls_with_auth_and_strangers_are_refused,
    {
        if !require_prometheus() {
            return;
        }
        let pki = Pki::new();
        let web = pki.web_config("web.yml", &pki.config_text("VerifyClientCertIfGiven", true));
        let cg = TestCgroup::new("sec-tls");
        let (exporter, addr) = start_exporter(&web, &["--no-block"]);

        let mut scrape = ScrapeConfig::new(&[&addr.to_string()]);
        scrape.tls = Some(ScrapeTls {
            ca_file: pki.path("ca.crt"),
            client: Some((pki.path("client.crt"), pki.path("client.key"))),
        });
        scrape.basic_auth = Some((USER.into(), PASSWORD.into()));
        let prom = Prometheus::start_with(&scrape).expect("start prometheus");
        prom.wait_targets_up(scaled(WAIT))
            .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));
        run_workload(Some(&cg.path), &["getppid", "4321", "openfail", "17"]);
        let cgroup = cg.rel();
        for (expr, want) in [
            (
                q("contrace_syscalls_total", &cgroup, ",syscall=\"getppid\""),
                4321.0,
            ),
            (
                q(
                    "contrace_syscall_errors_total",
                    &cgroup,
                    ",syscall=\"openat\"",
                ),
                17.0,
            ),
            (
                q("contrace_syscall_errno_total", &cgroup, ",errno=\"ENOENT\""),
                17.0,
            ),
        ] {
            prom.wait_for_value(&expr, want, scaled(WAIT))
                .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));
        }

        // Credentials: none, a wrong password, an unknown user: 401.
        let trusted = pki.agent(None);
        for auth in [None, Some((USER, "wrong")), Some(("mallory", PASSWORD))] {
            let (status, body) = get(&trusted, addr, "/metrics", auth).expect("TLS handshake");
            assert_eq!(status, 401, "{auth:?}: {body}");
            assert!(!body.contains("contrace_"), "{body}");
        }
        let (status, body) = get(&trusted, addr, "/metrics", Some((USER, PASSWORD))).unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("contrace_syscalls_total"));
        // Probes: /healthz without credentials or client certificate.
        assert_eq!(
            get(&trusted, addr, "/healthz", None).unwrap(),
            (200, "ok\n".to_string())
        );
        // A client certificate from another CA: the handshake fails.
        let rogue = pki.agent(Some("rogue"));
        let refused = get(&rogue, addr, "/healthz", Some((USER, PASSWORD)));
        assert!(refused.is_err(), "{refused:?}");
        // Plain HTTP on the HTTPS port: no HTTP answer, no metrics.
        let answer = plain_http(addr);
        assert!(
            !answer.starts_with(b"HTTP/"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        assert!(!String::from_utf8_lossy(&answer).contains("contrace_"));
        // And Prometheus with the wrong password sees the target down with 401.
        let mut wrong = scrape.clone();
        wrong.basic_auth = Some((USER.into(), "wrong".into()));
        let prom = Prometheus::start_with(&wrong).expect("start prometheus");
        let deadline = Instant::now() + scaled(WAIT);
        loop {
            let targets = prom.targets().unwrap();
            if targets.iter().any(|t| t.1 == "down" && t.2.contains("401")) {
                break;
            }
            assert!(Instant::now() < deadline, "{targets:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
        // SIGTERM still ends it cleanly.
        let done = exporter.signal(nix::sys::signal::Signal::SIGTERM);
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        assert!(
            done.stderr
                .contains(&format!("serving https://{addr}/metrics"))
                && done.stderr.contains("basic auth"),
            "{}",
            done.stderr
        );
    }
);

root_test!(required_client_certificates_are_enforced, {
    let pki = Pki::new();
    let fast = ["--no-block", "--no-namespaces"];
    // Verified: only the CA's clients get through.
    let web = pki.web_config(
        "verify.yml",
        &pki.config_text("RequireAndVerifyClientCert", false),
    );
    let (_exporter, addr) = start_exporter(&web, &fast);
    let (status, body) = get(&pki.agent(Some("client")), addr, "/metrics", None).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("contrace_exporter_series"));
    for who in [None, Some("rogue")] {
        let refused = get(&pki.agent(who), addr, "/healthz", None);
        assert!(refused.is_err(), "{who:?}: {refused:?}");
    }
    // Any certificate, but one is required.
    let web = pki.web_config("any.yml", &pki.config_text("RequireAnyClientCert", false));
    let (_exporter, addr) = start_exporter(&web, &fast);
    assert_eq!(
        get(&pki.agent(Some("rogue")), addr, "/healthz", None)
            .unwrap()
            .0,
        200
    );
    assert!(get(&pki.agent(None), addr, "/healthz", None).is_err());
});

/// Web configurations that must not start: (file name, text, the field
/// the error must name).
fn bad_configs(pki: &Pki) -> Vec<(&'static str, String, &'static str)> {
    let good = pki.config_text("NoClientCert", false);
    vec![
        (
            "typo.yml",
            good.replace("cert_file", "certfile"),
            "certfile",
        ),
        (
            "nocert.yml",
            good.replace("server.crt", "absent.crt"),
            "tls_server_config.cert_file",
        ),
        (
            "mismatch.yml",
            good.replace("server.key", "client.key"),
            "tls_server_config.key_file",
        ),
        (
            "notpem.yml",
            good.replace("server.key", "web-notpem.yml"),
            "tls_server_config.key_file",
        ),
        (
            "hash.yml",
            format!("{good}basic_auth_users:\n  prom: hunter2\n"),
            "basic_auth_users.prom",
        ),
        (
            "noca.yml",
            good.replace("NoClientCert", "RequireAndVerifyClientCert"),
            "tls_server_config.client_ca_file",
        ),
        (
            "badca.yml",
            pki.config_text("VerifyClientCertIfGiven", false)
                .replace("client_ca_file: ca.crt", "client_ca_file: server.key"),
            "tls_server_config.client_ca_file",
        ),
        (
            "kind.yml",
            good.replace("NoClientCert", "Sometimes"),
            "client_auth_type",
        ),
        (
            "yaml.yml",
            "tls_server_config: [\n".into(),
            "tls_server_config",
        ),
        // Files that would block or never end: refused before reading.
        (
            "device.yml",
            good.replace("server.crt", "/dev/zero"),
            "tls_server_config.cert_file",
        ),
        (
            "fifo.yml",
            good.replace("server.key", "key.fifo"),
            "tls_server_config.key_file",
        ),
    ]
}

#[test]
fn bad_web_configurations_exit_4_naming_the_field() {
    let pki = Pki::new();
    let exe = bin("contrace-exporter");
    let cases = bad_configs(&pki);
    nix::unistd::mkfifo(&pki.path("key.fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    pki.web_config("web-notpem.yml", "not a key\n");
    for (name, text, field) in cases {
        let file = pki.web_config(name, &text);
        let out = run_command(
            Command::new(&exe)
                .args(["--listen", "127.0.0.1:0", "--web.config.file"])
                .arg(&file),
        );
        let err = &out.stderr;
        assert_eq!(out.code, Some(4), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(field), "{name}: wanted {field}: {err}");
        assert!(err.contains(&file.display().to_string()), "{err}");
    }
    let out = run_tool(
        "contrace-exporter",
        &["--web.config.file", "/nonexistent/web.yml"],
    );
    let err = &out.stderr;
    assert_eq!(out.code, Some(4), "{err}");
    assert!(
        err.contains("/nonexistent/web.yml") && err.contains("cannot read"),
        "{err}"
    );
}

/// A unix socket bound at every runtime socket path of the exporter's
/// mount namespace: counts the connections it gets.
struct Honeypot {
    path: PathBuf,
    connects: Arc<AtomicUsize>,
}

impl Honeypot {
    fn new(dir: &Path) -> Self {
        let path = dir.join("honeypot.sock");
        let listener = UnixListener::bind(&path).expect("bind honeypot");
        let connects = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&connects);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                // Accepted and closed: the client's request fails.
                count.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        Self { path, connects }
    }

    fn connects(&self) -> usize {
        self.connects.load(Ordering::SeqCst)
    }
}

/// The exporter in a mount namespace of its own: `/run` is an empty tmpfs
/// where the runtimes' socket paths (containerd, CRI-O, docker, podman)
/// are the honeypot, and `/var/log` is `logs`.
fn exporter_without_sockets(
    honeypot: &Honeypot,
    logs: &Path,
    extra: &[&str],
) -> (Tool, SocketAddr) {
    let addr = free_local_port().expect("free port");
    let script = r#"set -e
mount --make-rprivate /
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/containerd /run/crio /run/podman
for s in containerd/containerd.sock crio/crio.sock podman/podman.sock docker.sock; do
    : > "/run/$s"
    mount --bind "$HONEYPOT" "/run/$s"
done
mount --bind "$LOGS" /var/log
exec "$@""#;
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--", "sh", "-c", script, "sh"])
        .arg(bin("contrace-exporter"))
        .args([
            "--listen",
            &addr.to_string(),
            "--no-block",
            "--no-namespaces",
        ])
        .args(extra)
        .env("HONEYPOT", &honeypot.path)
        .env("LOGS", logs);
    (Tool::start_command("contrace-exporter", cmd), addr)
}

/// Scrapes until the series of `cgroup` carry `want` as (container_id,
/// container_name, pod, namespace).
fn wait_for_names(addr: SocketAddr, cgroup: &str, want: [&str; 4]) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let deadline = Instant::now() + scaled(WAIT);
    loop {
        let body = agent
            .get(format!("http://{addr}/metrics"))
            .call()
            .and_then(|mut r| r.body_mut().with_config().limit(64 << 20).read_to_string())
            .unwrap_or_default();
        let mine: Vec<&str> = body
            .lines()
            .filter(|l| {
                l.starts_with("contrace_syscalls_total{")
                    && l.contains(&format!("cgroup=\"{cgroup}\""))
            })
            .collect();
        let [id, name, pod, namespace] = want;
        let labelled = format!(
            "container_id=\"{id}\",container_name=\"{name}\",pod=\"{pod}\",namespace=\"{namespace}\""
        );
        if !mine.is_empty() && mine.iter().all(|l| l.contains(&labelled)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "wanted {labelled} on {cgroup}: {mine:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

root_test!(
    pods_and_containers_named_from_kubelet_logs_with_no_socket_reachable,
    {
        if !CriPod::available() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("log");
        std::fs::create_dir_all(&logs).unwrap();
        let honeypot = Honeypot::new(dir.path());
        let ns = "sec-shop";
        let pod_name = unique_name("web");
        let uid = format!("5ec00000-0000-4000-8000-{:012x}", std::process::id());
        let mut pod = CriPod::start_logged(ns, &pod_name, &uid, "app", Some(&logs));
        let cgroup = pod.cgroup();
        assert!(logs
            .join(format!(
                "containers/{pod_name}_{ns}_app-{}.log",
                pod.container_id
            ))
            .is_symlink());

        let (exporter, addr) = exporter_without_sockets(&honeypot, &logs, &[]);
        pod.exec(&["/bin/workload", "--no-wait", "getppid", "10"]);
        wait_for_names(addr, &cgroup, [&pod.container_id, "app", &pod_name, ns]);
        assert_eq!(
            honeypot.connects(),
            0,
            "the exporter connected to a runtime socket"
        );
        drop(exporter);

        // The honeypot does see a client: --runtime-api connects (and, refused
        // there, still names the pod from the files).
        let (_exporter, addr) = exporter_without_sockets(&honeypot, &logs, &["--runtime-api"]);
        pod.exec(&["/bin/workload", "--no-wait", "getppid", "10"]);
        wait_for_names(addr, &cgroup, [&pod.container_id, "app", &pod_name, ns]);
        assert!(honeypot.connects() > 0, "--runtime-api never connected");
    }
);

/// What the containers below a kubelet-style log root printed.
fn container_log(logs: &Path) -> String {
    let mut text = String::new();
    for entry in walkdir(logs) {
        text.push_str(&std::fs::read_to_string(&entry).unwrap_or_default());
    }
    text
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            files.extend(walkdir(&path));
        } else if path.is_file() {
            files.push(path);
        }
    }
    files
}

/// What a process of the host holds: (uid, CapEff, CapAmb, NoNewPrivs)
/// from /proc/PID/status.
fn privileges(pid: u32) -> (String, u64, u64, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {status}"))
            .trim()
            .to_string()
    };
    let mask = |name: &str| u64::from_str_radix(&field(name), 16).unwrap();
    let uid = field("Uid:").split_whitespace().nth(1).unwrap().to_string();
    (uid, mask("CapEff:"), mask("CapAmb:"), field("NoNewPrivs:"))
}

// The DaemonSet's security context, as kubelet sends it to containerd's
// CRI: uid 65534, capabilities drop ALL add BPF and PERFMON (kubelet passes
// the names without CAP_; containerd adds it), no_new_privs
// (allowPrivilegeEscalation: false), seccomp Unconfined, hostPID, the host
// cgroup tree read-only. A non-root process loses the added capabilities
// at execve (Kubernetes sets no ambient ones); the binary's file
// capabilities give them back, and no_new_privs does not stop that: they
// are no gain over the permitted set the runtime set before execve.
root_test!(
    the_exporter_runs_as_non_root_with_file_capabilities_under_cri,
    {
        use k8s_cri::v1::*;
        if !CriPod::available() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let exe = dir.path().join("contrace-exporter");
        let logs = dir.path().join("log");
        std::fs::copy(bin("contrace-exporter"), &exe).unwrap();
        let setcap = Command::new("setcap")
            .args(["cap_bpf,cap_perfmon=ep"])
            .arg(&exe)
            .status()
            .expect("setcap (libcap2-bin)");
        assert!(setcap.success());
        let addr = free_local_port().unwrap();
        let cg = TestCgroup::new("sec-nonroot");
        let mount = |host: &str, container: &str| Mount {
            host_path: host.into(),
            container_path: container.into(),
            readonly: true,
            ..Default::default()
        };
        let exe_path = exe.display().to_string();
        let uid = format!("5ec00001-0000-4000-8000-{:012x}", std::process::id());
        let mut pod = CriPod::start_custom(
            "contrace",
            &unique_name("exp"),
            &uid,
            "exporter",
            Some(&logs),
            |sandbox, c| {
                if let Some(ns) = sandbox
                    .linux
                    .as_mut()
                    .and_then(|l| l.security_context.as_mut())
                    .and_then(|s| s.namespace_options.as_mut())
                {
                    ns.pid = NamespaceMode::Node as i32;
                }
                c.command = vec![
                    "/usr/bin/contrace-exporter".into(),
                    "--listen".into(),
                    addr.to_string(),
                ];
                c.mounts = vec![
                    mount(&exe_path, "/usr/bin/contrace-exporter"),
                    // The debug build links glibc, libelf and zlib dynamically
                    // (the image's build is static).
                    mount("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu"),
                    mount("/usr/lib64", "/lib64"),
                    mount("/sys/fs/cgroup", "/sys/fs/cgroup"),
                ];
                c.linux = Some(LinuxContainerConfig {
                    security_context: Some(LinuxContainerSecurityContext {
                        run_as_user: Some(Int64Value { value: 65534 }),
                        run_as_group: Some(Int64Value { value: 65534 }),
                        capabilities: Some(Capability {
                            add_capabilities: vec!["BPF".into(), "PERFMON".into()],
                            drop_capabilities: vec!["ALL".into()],
                            ..Default::default()
                        }),
                        no_new_privs: true,
                        readonly_rootfs: true,
                        seccomp: Some(SecurityProfile {
                            profile_type: security_profile::ProfileType::Unconfined as i32,
                            ..Default::default()
                        }),
                        namespace_options: Some(NamespaceOption {
                            network: NamespaceMode::Node as i32,
                            pid: NamespaceMode::Node as i32,
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            },
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        let get = |path: &str| {
            agent
                .get(format!("http://{addr}{path}"))
                .call()
                .and_then(|mut r| {
                    Ok((
                        r.status().as_u16(),
                        r.body_mut()
                            .with_config()
                            .limit(64 << 20)
                            .read_to_string()?,
                    ))
                })
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !matches!(get("/healthz"), Ok((200, _))) {
            assert!(
                Instant::now() < deadline,
                "the exporter in the pod never got ready: {:?}\n{}",
                get("/healthz"),
                container_log(&logs)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        let pid = pod.pid();
        let (uid, eff, ambient, nnp) = privileges(pid);
        assert_eq!(uid, "65534");
        assert_eq!(
            eff,
            (1 << 38) | (1 << 39),
            "CapEff {eff:x}: exactly PERFMON and BPF"
        );
        assert_eq!(ambient, 0);
        assert_eq!(nnp, "1");
        run_workload(Some(&cg.path), &["getppid", "2345"]);
        let (status, body) = get("/metrics").unwrap();
        assert_eq!(status, 200);
        let line = format!("contrace_syscalls_total{{cgroup=\"{}\",", cg.rel());
        let getppid = body
            .lines()
            .find(|l| l.starts_with(&line) && l.contains("syscall=\"getppid\""))
            .unwrap_or_else(|| panic!("no getppid series for {line}"));
        assert!(getppid.ends_with(" 2345"), "{getppid}");
        drop(pod);
    }
);
