//! The registry: asks the runtimes that are there for names, caches them,
//! and answers "which container is this cgroup" and "which cgroup is this
//! container".

use std::collections::HashMap;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use super::candidate::Candidate;
use super::explain;
use super::info::{ContainerInfo, Runtime};
use super::layout::{self, FULL_ID_LEN};
use super::query::{is_id_prefix, Query};
use super::scan::{scan, Scan};
use super::sources::{SourceReport, SourceStatus, Sources};
use super::state::{self, bare};
use kernel::exit::usage;

/// What a query named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Nothing: [`Registry::explain`] says where it looked.
    None,
    /// One running container and its cgroup v2 directory.
    One {
        cgroup_dir: PathBuf,
        info: ContainerInfo,
    },
    /// A Kubernetes pod (`NAMESPACE/POD` or UID): its cgroup holds all its
    /// containers. `info.id` is the pod UID, `info.name` is `None`.
    Pod {
        cgroup_dir: PathBuf,
        info: ContainerInfo,
    },
    /// Several containers match: the user must say which.
    Many(Vec<Candidate>),
    /// The container exists but has no cgroup: it is not running.
    NotRunning(Candidate),
}

/// Turns cgroups into containers and names into cgroups, asking runtimes
/// lazily. See the module documentation.
pub struct Registry {
    root: PathBuf,
    sources: Sources,
    /// Containers the runtimes know, by full id.
    known: HashMap<String, ContainerInfo>,
    /// Pod UID -> (namespace, name).
    pods: HashMap<String, (String, String)>,
    reports: Vec<SourceReport>,
    last_refresh: Option<Instant>,
    /// Built on first use, only when a socket is there.
    rt: Option<tokio::runtime::Runtime>,
    /// cgroup path -> the plain runc container it belongs to (by state dir).
    runc_paths: HashMap<String, Option<String>>,
    /// Plain runc containers: id -> cgroup v2 directory (from runc state).
    runc_cgroups: HashMap<String, PathBuf>,
    /// Container cgroups seen by the last `find`, for messages.
    scanned: usize,
}

impl Registry {
    /// A registry over the host's standard sockets and state directories.
    pub fn new(cgroup2_root: &Path) -> Self {
        Self::with_sources(cgroup2_root, Sources::default())
    }

    pub fn with_sources(cgroup2_root: &Path, sources: Sources) -> Self {
        Self {
            root: cgroup2_root.to_path_buf(),
            sources,
            known: HashMap::new(),
            pods: HashMap::new(),
            reports: Vec::new(),
            last_refresh: None,
            rt: None,
            runc_paths: HashMap::new(),
            runc_cgroups: HashMap::new(),
            scanned: 0,
        }
    }

    /// The cgroup2 mount this registry scans.
    pub fn cgroup_root(&self) -> &Path {
        &self.root
    }

    /// What each source gave at the last refresh.
    pub fn reports(&self) -> &[SourceReport] {
        &self.reports
    }

    /// The container a cgroup (path relative to the cgroup2 mount) belongs
    /// to, with what the runtimes know of it. An id the cache lacks causes
    /// a refresh, at most once per `Sources::refresh_every`.
    pub fn identify(&mut self, rel_cgroup_path: &str) -> Option<ContainerInfo> {
        let mut info = match layout::info_from_path(rel_cgroup_path) {
            Some(r) => ContainerInfo::from_ref(&r),
            None => bare(&self.runc_container(rel_cgroup_path)?, Runtime::Runc),
        };
        if !self.known.contains_key(&info.id) && self.refresh_due() {
            self.refresh();
        }
        if let Some(k) = self.known.get(&info.id) {
            info.merge(k);
        }
        self.fill_pod(&mut info);
        Some(info)
    }

    /// Resolves what a user typed: a container name or id (prefix), a bare
    /// runc id, `NAMESPACE/POD[/CONTAINER]` or a pod UID. `Err` only for
    /// text that cannot name a container (a usage error).
    pub fn find(&mut self, query: &str) -> Result<Found> {
        let parsed =
            Query::parse(query).map_err(|why| usage(format!("container '{query}': {why}")))?;
        let word = match &parsed {
            Query::Word(w) => Some(w.as_str()),
            _ => None,
        };
        let tree = scan(&self.root, word);
        self.scanned = tree.containers.len();
        if self
            .last_refresh
            .is_none_or(|t| t.elapsed() >= self.sources.refresh_every)
        {
            self.refresh();
        }
        Ok(match parsed {
            Query::Word(w) => self.find_word(&w, &tree),
            Query::PodUid(uid) => self.find_pod(&uid, &tree),
            Query::Pod {
                namespace,
                pod,
                container,
            } => {
                let uid = self
                    .pods
                    .iter()
                    .find(|(_, (ns, name))| *ns == namespace && *name == pod)
                    .map(|(uid, _)| uid.clone());
                match (uid, container) {
                    (None, _) => Found::None,
                    (Some(uid), None) => self.find_pod(&uid, &tree),
                    (Some(uid), Some(c)) => {
                        let matches: Vec<ContainerInfo> = self
                            .known
                            .values()
                            .filter(|k| k.pod_uid.as_deref() == Some(&uid))
                            .filter(|k| k.name.as_deref() == Some(&c))
                            .cloned()
                            .collect();
                        self.pick(matches, &tree)
                    }
                }
            }
        })
    }

    /// The one-line usage message for a query that did not name exactly
    /// one running container or pod; `None` for `One` and `Pod`.
    pub fn explain(&self, query: &str, found: &Found) -> Option<String> {
        match found {
            Found::One { .. } | Found::Pod { .. } => None,
            Found::Many(c) => Some(explain::ambiguous_line(query, c)),
            Found::NotRunning(c) => Some(explain::not_running_line(query, c, &self.root)),
            Found::None => Some(explain::unknown_line(
                query,
                &self.reports,
                &self.root,
                self.scanned,
            )),
        }
    }

    fn find_word(&self, word: &str, tree: &Scan) -> Found {
        let lower = word.to_ascii_lowercase();
        // A full id, as docker does, wins over names.
        if lower.len() == FULL_ID_LEN {
            if let Some((dir, r)) = tree.containers.get(&lower) {
                return self.one(dir, ContainerInfo::from_ref(r));
            }
        }
        let named: Vec<ContainerInfo> = self
            .known
            .values()
            .filter(|k| k.name.as_deref() == Some(word))
            .cloned()
            .collect();
        if !named.is_empty() {
            return self.pick(named, tree);
        }
        // A plain runc container: its state names its cgroup; without
        // state, a directory named exactly so.
        let mut bare_dirs: Vec<Candidate> = Vec::new();
        if let Some(dir) = self.runc_cgroups.get(word).filter(|d| d.is_dir()) {
            bare_dirs.push(Candidate {
                info: self.with_known(bare(word, Runtime::Runc)),
                cgroup_dir: Some(dir.clone()),
            });
        } else {
            bare_dirs.extend(
                tree.named
                    .iter()
                    .filter(|d| !tree.containers.values().any(|(p, _)| p == *d))
                    .map(|d| Candidate {
                        info: self.with_known(bare(word, Runtime::Unknown)),
                        cgroup_dir: Some(d.clone()),
                    }),
            );
        }
        if !bare_dirs.is_empty() {
            return self.settle(bare_dirs);
        }
        if !is_id_prefix(&lower) {
            return Found::None;
        }
        let mut prefixed: Vec<Candidate> = tree
            .containers
            .iter()
            .filter(|(id, _)| id.starts_with(&lower))
            .map(|(_, (dir, r))| Candidate {
                info: self.with_known(ContainerInfo::from_ref(r)),
                cgroup_dir: Some(dir.clone()),
            })
            .collect();
        prefixed.extend(
            self.runc_cgroups
                .iter()
                .filter(|(id, dir)| id.starts_with(&lower) && dir.is_dir())
                .filter(|(id, _)| !tree.containers.contains_key(*id))
                .map(|(id, dir)| Candidate {
                    info: self.with_known(bare(id, Runtime::Runc)),
                    cgroup_dir: Some(dir.clone()),
                }),
        );
        if prefixed.is_empty() {
            // Known to a runtime but without a cgroup: stopped.
            prefixed = self
                .known
                .values()
                .filter(|k| k.id.starts_with(&lower))
                .map(|k| Candidate {
                    info: k.clone(),
                    cgroup_dir: None,
                })
                .collect();
        }
        self.settle(prefixed)
    }

    fn find_pod(&self, uid: &str, tree: &Scan) -> Found {
        let Some((dir, pod)) = tree.pods.get(uid) else {
            return Found::None;
        };
        let mut info = bare(uid, Runtime::Unknown);
        info.pod_uid = Some(uid.to_string());
        // The pod's runtime is its containers'.
        if let Some((_, r)) = tree
            .containers
            .values()
            .find(|(_, r)| r.pod.as_ref().is_some_and(|p| p.uid == pod.uid))
        {
            info.runtime = self.with_known(ContainerInfo::from_ref(r)).runtime;
        }
        self.fill_pod(&mut info);
        Found::Pod {
            cgroup_dir: dir.clone(),
            info,
        }
    }

    /// Containers a runtime named: the running ones decide.
    fn pick(&self, matches: Vec<ContainerInfo>, tree: &Scan) -> Found {
        let candidates = matches
            .into_iter()
            .map(|info| {
                let cgroup_dir = tree.containers.get(&info.id).map(|(d, _)| d.clone());
                let mut info = info;
                if let Some((_, r)) = tree.containers.get(&info.id) {
                    info.merge(&ContainerInfo::from_ref(r));
                }
                Candidate { info, cgroup_dir }
            })
            .collect();
        self.settle(candidates)
    }

    /// One running candidate wins (a restarted container leaves stopped
    /// namesakes behind); several running ones are ambiguous.
    fn settle(&self, mut candidates: Vec<Candidate>) -> Found {
        candidates.sort_by(|a, b| (a.info.label(), &a.info.id).cmp(&(b.info.label(), &b.info.id)));
        let running: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| c.cgroup_dir.is_some())
            .collect();
        match (running.len(), candidates.len()) {
            (_, 0) => Found::None,
            (1, _) => {
                let c = running[0].clone();
                let dir = c.cgroup_dir.clone().unwrap_or_default();
                self.one(&dir, c.info)
            }
            (0, 1) => Found::NotRunning(candidates.remove(0)),
            (0, _) => Found::Many(candidates),
            _ => Found::Many(running.into_iter().cloned().collect()),
        }
    }

    fn one(&self, dir: &Path, info: ContainerInfo) -> Found {
        let mut info = self.with_known(info);
        self.fill_pod(&mut info);
        Found::One {
            cgroup_dir: dir.to_path_buf(),
            info,
        }
    }

    fn with_known(&self, mut info: ContainerInfo) -> ContainerInfo {
        if let Some(k) = self.known.get(&info.id) {
            info.merge(k);
        }
        info
    }

    fn fill_pod(&self, info: &mut ContainerInfo) {
        if let Some((ns, pod)) = info.pod_uid.as_ref().and_then(|u| self.pods.get(u)) {
            if info.pod.is_none() {
                info.pod = Some(pod.clone());
                info.namespace = Some(ns.clone());
            }
        }
    }

    fn refresh_due(&self) -> bool {
        self.last_refresh
            .is_none_or(|t| t.elapsed() >= self.sources.refresh_every)
    }

    /// A plain runc container whose cgroup is (an ancestor of) this path:
    /// a component named like a container in a runc state root.
    fn runc_container(&mut self, rel: &str) -> Option<String> {
        if let Some(hit) = self.runc_paths.get(rel) {
            return hit.clone();
        }
        // By the cgroup runc's state recorded (innermost wins).
        let dir = self.root.join(rel.trim_start_matches('/'));
        let by_state = self
            .runc_cgroups
            .iter()
            .filter(|(_, d)| dir.starts_with(d))
            .max_by_key(|(_, d)| d.components().count())
            .map(|(id, _)| id.clone());
        let hit = by_state.or_else(|| self.runc_by_name(rel));
        self.runc_paths.insert(rel.to_string(), hit.clone());
        hit
    }

    /// A path component named like a container in a runc state root.
    fn runc_by_name(&self, rel: &str) -> Option<String> {
        rel.split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .rev()
            .find(|name| {
                self.sources
                    .runc_roots
                    .iter()
                    .any(|root| root.join(name).join("state.json").is_file())
            })
            .map(str::to_string)
    }

    /// Learns the container of `rel_cgroup_path` from what its runtime
    /// wrote on disk, asking no daemon: docker's `config.v2.json`,
    /// podman's `containers.json`, containerd's task bundles. Each is
    /// written before the container's cgroup is made, and reading it waits
    /// on no daemon's lock (podman's API waits for the lock `podman run`
    /// holds while it starts the container, and `--rm` holds it again until
    /// the container is gone). What it finds is kept until the next refresh.
    pub fn learn_from_disk(&mut self, rel_cgroup_path: &str) {
        let Some(r) = layout::info_from_path(rel_cgroup_path) else {
            return;
        };
        if self.known.get(&r.id).is_some_and(|k| k.name.is_some()) {
            return;
        }
        let found = match r.runtime {
            Runtime::Docker => Ok(
                state::read_docker_container(&self.sources.docker_state, &r.id)
                    .into_iter()
                    .collect(),
            ),
            Runtime::Podman => state::read_podman_state(&self.sources.podman_state),
            Runtime::Containerd | Runtime::Unknown => {
                state::read_containerd_tasks(&self.sources.containerd_tasks, Some(&r.id))
            }
            Runtime::CriO | Runtime::Runc => return,
        };
        // Unreadable (not there, being rewritten): the daemons are asked next.
        let ours = found.into_iter().flatten().filter(|info| info.id == r.id);
        for info in ours {
            self.known
                .entry(info.id.clone())
                .and_modify(|k| k.merge(&info))
                .or_insert(info);
        }
    }

    /// Asks every source again (daemons first, then on-disk state where
    /// the daemon did not answer).
    pub fn refresh(&mut self) {
        self.last_refresh = Some(Instant::now());
        self.runc_paths.clear();
        let mut got = Gathered::default();
        let engines = self.ask_engines(&mut got);
        let kube_answered = self.ask_kube(&mut got);
        self.read_engine_state(&engines, &mut got);
        self.read_containerd_tasks(kube_answered, &mut got);
        let log_pods = self.read_kubelet_logs(kube_answered, &mut got);
        self.runc_cgroups = self.read_runc_roots(&mut got.found);
        let known = merge_by_id(got.found);
        self.pods = pods_of(&known, log_pods);
        self.known = known;
        self.reports = got.reports;
    }

    /// The Docker-compatible engines' APIs: the runtimes that answered.
    fn ask_engines(&mut self, got: &mut Gathered) -> Vec<Runtime> {
        let (connect, request) = (self.sources.connect_timeout, self.sources.request_timeout);
        let mut answered = Vec::new();
        for (socket, runtime) in self.sources.engine_sockets.clone() {
            let what = format!("{runtime} API {}", socket.display());
            let status = self.ask(&socket, |rt| {
                rt.block_on(super::docker::list(&socket, runtime, connect, request))
            });
            if got.add(what, status) {
                answered.push(runtime);
            }
        }
        answered
    }

    /// containerd's API and the CRI endpoints: whether any answered.
    #[cfg(feature = "cri")]
    fn ask_kube(&mut self, got: &mut Gathered) -> bool {
        let (connect, request) = (self.sources.connect_timeout, self.sources.request_timeout);
        let mut answered = false;
        if let Some(socket) = self.sources.containerd_socket.clone() {
            let what = format!("containerd API {}", socket.display());
            let status = self.ask(&socket, |rt| {
                rt.block_on(super::grpc::list_containerd(&socket, connect, request))
            });
            answered |= got.add(what, status);
        }
        for (socket, runtime) in self.sources.cri_sockets.clone() {
            let what = format!("{runtime} CRI {}", socket.display());
            let status = self.ask(&socket, |rt| {
                rt.block_on(super::grpc::list_cri(&socket, runtime, connect, request))
            });
            answered |= got.add(what, status);
        }
        answered
    }

    /// Built without gRPC: no containerd or CRI endpoint is asked.
    #[cfg(not(feature = "cri"))]
    fn ask_kube(&mut self, _got: &mut Gathered) -> bool {
        false
    }

    /// Docker's and podman's state on disk, where their daemon did not
    /// answer.
    fn read_engine_state(&self, engines_answered: &[Runtime], got: &mut Gathered) {
        let docker_dir = &self.sources.docker_state;
        got.reports.push(read_state(
            format!("docker state {}", docker_dir.display()),
            engines_answered.contains(&Runtime::Docker),
            docker_dir,
            || state::read_docker_state(docker_dir),
            &mut got.found,
        ));
        let podman_file = &self.sources.podman_state;
        got.reports.push(read_state(
            format!("podman state {}", podman_file.display()),
            engines_answered.contains(&Runtime::Podman),
            podman_file,
            || state::read_podman_state(podman_file),
            &mut got.found,
        ));
    }

    /// containerd's task bundles on disk, where its API did not answer.
    fn read_containerd_tasks(&self, kube_answered: bool, got: &mut Gathered) {
        let tasks = &self.sources.containerd_tasks;
        got.reports.push(read_state(
            format!("containerd tasks {}", tasks.display()),
            kube_answered,
            tasks,
            || state::read_containerd_tasks(tasks, None),
            &mut got.found,
        ));
    }

    /// The kubelet's pod logs, when no containerd or CRI endpoint
    /// answered: their containers, and the pods they name.
    fn read_kubelet_logs(&self, kube_answered: bool, got: &mut Gathered) -> Vec<state::KubePod> {
        let logs = &self.sources.kubelet_logs;
        if logs.as_os_str().is_empty() || kube_answered || !logs.join("pods").is_dir() {
            return Vec::new();
        }
        let what = format!("kubelet logs {}", logs.display());
        match state::read_kubelet_logs(logs) {
            Ok((pods, containers)) => {
                got.add(what, Ok(containers));
                pods
            }
            Err(e) => {
                got.add(what, Err(Some(e.to_string())));
                Vec::new()
            }
        }
    }

    /// Plain runc containers in the state roots, and the cgroup v2
    /// directory (under this hierarchy) each one's state records.
    fn read_runc_roots(&self, found: &mut Vec<ContainerInfo>) -> HashMap<String, PathBuf> {
        let mut runc_cgroups = HashMap::new();
        for root in &self.sources.runc_roots {
            for (id, v2) in state::read_runc_root(root).unwrap_or_default() {
                if let Some(dir) = v2.map(PathBuf::from).filter(|d| d.starts_with(&self.root)) {
                    runc_cgroups.insert(id.clone(), dir);
                }
                found.push(bare(&id, Runtime::Runc));
            }
        }
        runc_cgroups
    }

    /// Runs one daemon query when its socket exists; `Err(None)` when it
    /// does not (nothing tried), `Err(Some(e))` when it failed.
    fn ask(
        &mut self,
        socket: &Path,
        query: impl FnOnce(&tokio::runtime::Runtime) -> Result<Vec<ContainerInfo>>,
    ) -> Result<Vec<ContainerInfo>, Option<String>> {
        let is_socket = std::fs::metadata(socket)
            .map(|m| m.file_type().is_socket())
            .unwrap_or(false);
        if !is_socket {
            return Err(None);
        }
        if self.rt.is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(|e| Some(format!("starting the I/O runtime: {e}")))?;
            self.rt = Some(rt);
        }
        let rt = self.rt.as_ref().ok_or(None)?;
        query(rt).map_err(|e| Some(format!("{e:#}")))
    }
}

/// What a refresh has found so far, and what each source said.
#[derive(Default)]
struct Gathered {
    found: Vec<ContainerInfo>,
    reports: Vec<SourceReport>,
}

impl Gathered {
    /// Adds one source's answer (`Err(None)`: the source is not there);
    /// true when it answered.
    fn add(&mut self, what: String, answer: Result<Vec<ContainerInfo>, Option<String>>) -> bool {
        let answered = answer.is_ok();
        let status = match answer {
            Ok(list) => {
                let n = list.len();
                self.found.extend(list);
                SourceStatus::Listed(n)
            }
            Err(None) => SourceStatus::Absent,
            Err(Some(e)) => SourceStatus::Failed(e),
        };
        self.reports.push(SourceReport { what, status });
        answered
    }
}

/// One entry per container id, with what every source said merged.
fn merge_by_id(found: Vec<ContainerInfo>) -> HashMap<String, ContainerInfo> {
    let mut known: HashMap<String, ContainerInfo> = HashMap::new();
    for info in found {
        match known.get_mut(&info.id) {
            Some(k) => k.merge(&info),
            None => {
                known.insert(info.id.clone(), info);
            }
        }
    }
    known
}

/// Pod UID -> (namespace, name): the kubelet logs' pods, then those the
/// containers name.
fn pods_of(
    known: &HashMap<String, ContainerInfo>,
    log_pods: Vec<state::KubePod>,
) -> HashMap<String, (String, String)> {
    let mut pods: HashMap<String, (String, String)> = log_pods
        .into_iter()
        .map(|p| (p.uid, (p.namespace, p.name)))
        .collect();
    for k in known.values() {
        if let (Some(uid), Some(ns), Some(pod)) = (&k.pod_uid, &k.namespace, &k.pod) {
            pods.insert(uid.clone(), (ns.clone(), pod.clone()));
        }
    }
    pods
}

/// Reads one on-disk state source unless its daemon already answered.
fn read_state(
    what: String,
    daemon_answered: bool,
    path: &Path,
    read: impl FnOnce() -> std::io::Result<Vec<ContainerInfo>>,
    found: &mut Vec<ContainerInfo>,
) -> SourceReport {
    let status = if daemon_answered {
        SourceStatus::Skipped
    } else if path.as_os_str().is_empty() || !path.exists() {
        SourceStatus::Absent
    } else {
        match read() {
            Ok(list) => {
                let n = list.len();
                found.extend(list);
                SourceStatus::Listed(n)
            }
            Err(e) => SourceStatus::Failed(e.to_string()),
        }
    };
    SourceReport { what, status }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_ID: &str = "b42845850f7e30e7b95adc6ad0b1f421fa22a54c496484cbeaa8754123800ce0";
    const PODMAN_ID: &str = "a1f168bebc9d5d52a780ae2bb3e8eee8db69fcf146a796d00e186d15b836b334";

    /// Docker's and podman's state in a directory of its own; every daemon
    /// socket points at nothing.
    fn on_disk() -> (tempfile::TempDir, Sources) {
        let dir = tempfile::tempdir().expect("tempdir");
        let docker = dir.path().join("containers");
        std::fs::create_dir_all(docker.join(DOCKER_ID)).expect("mkdir");
        std::fs::write(
            docker.join(DOCKER_ID).join("config.v2.json"),
            include_str!("fixtures/docker-config.v2.json"),
        )
        .expect("write docker state");
        let podman = dir.path().join("containers.json");
        std::fs::write(&podman, include_str!("fixtures/podman-containers.json"))
            .expect("write podman state");
        let mut sources = Sources::none();
        sources.docker_state = docker;
        sources.podman_state = podman;
        (dir, sources)
    }

    #[test]
    fn a_new_container_is_named_from_disk_without_asking_a_daemon() {
        let (_dir, sources) = on_disk();
        let mut registry = Registry::with_sources(Path::new("/sys/fs/cgroup"), sources);
        // As if a refresh had just run: identify must not refresh again.
        registry.last_refresh = Some(Instant::now());
        for (path, name) in [
            (
                format!("/system.slice/docker-{DOCKER_ID}.scope"),
                "contrace-probe-d",
            ),
            (
                format!("/machine.slice/libpod-{PODMAN_ID}.scope"),
                "contrace-probe-p",
            ),
        ] {
            assert_eq!(registry.identify(&path).and_then(|c| c.name), None);
            registry.learn_from_disk(&path);
            let info = registry.identify(&path).expect("a container path");
            assert_eq!(info.name.as_deref(), Some(name), "{path}");
        }
        assert!(registry.reports().is_empty(), "no source was asked");
        // Not a container's cgroup: nothing to learn, nothing read.
        registry.learn_from_disk("/user.slice");
        assert_eq!(registry.known.len(), 2);
    }
}
