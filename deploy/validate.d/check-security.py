#!/usr/bin/env python3
"""Least-privilege checks of the deployment, offline.

    check-security.py DEPLOY_DIR

Renders DEPLOY_DIR/kubernetes and DEPLOY_DIR/kubernetes-web-config with
`kubectl kustomize` and checks what a cluster's security reviewer would:

- the exporter runs as a non-root uid, with exactly CAP_BPF and CAP_PERFMON
  added to a dropped-ALL set, no privilege escalation, a read-only root,
  no service account token, the pod network;
- it mounts only the host paths it reads (cgroupfs, BTF, kubelet's log
  directories), all read-only: no container runtime socket or state
  directory, and no `--runtime-api`;
- a NetworkPolicy selects its pods, admits ingress only from namespaces
  named in a namespaceSelector, on the metrics port, and allows no egress;
- the image (Containerfile, build-image) runs as a numeric non-root USER
  and gets the two capabilities as file capabilities;
- the web-config overlay passes --web.config.file from a Secret that only
  the exporter's group can read, probes over HTTPS, and the ServiceMonitor
  scrapes over HTTPS with basic auth; its manifests pass the strict
  Kubernetes schemas (kubernetes-validate, when installed next to this
  Python).

Prints one line per problem; exits 1 if there is any.
"""

import os
import re
import subprocess
import sys

import yaml

ALLOWED_HOST_PATHS = {"/sys/fs/cgroup", "/sys/kernel/btf", "/var/log/pods", "/var/log/containers"}
RUNTIME_WORDS = ("containerd", "crio", "cri-o", "docker", "podman", ".sock", "/run", "/var/run",
                 "/var/lib/kubelet", "/var/lib/containers")
CAPS = {"BPF", "PERFMON"}
# Capability bits: CAP_PERFMON 38, CAP_BPF 39.
FILE_CAPS = "cap_bpf,cap_perfmon=ep"

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def render(directory):
    out = subprocess.run(["kubectl", "kustomize", directory], capture_output=True, text=True)
    if out.returncode != 0:
        problem(directory, f"kubectl kustomize failed: {out.stderr.strip()}")
        return []
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def one(docs, kind, where):
    found = [d for d in docs if d.get("kind") == kind]
    if len(found) != 1:
        problem(where, f"{len(found)} {kind} objects, expected 1")
        return None
    return found[0]


def check_container(where, pod, c):
    sc = c.get("securityContext") or {}
    uid = sc.get("runAsUser")
    if sc.get("runAsNonRoot") is not True:
        problem(where, "securityContext.runAsNonRoot must be true")
    if not isinstance(uid, int) or uid <= 0:
        problem(where, f"securityContext.runAsUser must be a non-zero uid, not {uid!r}")
    if sc.get("privileged") is not False:
        problem(where, "securityContext.privileged must be false")
    if sc.get("allowPrivilegeEscalation") is not False:
        problem(where, "securityContext.allowPrivilegeEscalation must be false "
                       "(file capabilities work with no_new_privs)")
    if sc.get("readOnlyRootFilesystem") is not True:
        problem(where, "securityContext.readOnlyRootFilesystem must be true")
    caps = sc.get("capabilities") or {}
    if caps.get("drop") != ["ALL"]:
        problem(where, f"capabilities.drop must be [ALL], not {caps.get('drop')}")
    if set(caps.get("add") or []) != CAPS or len(caps.get("add") or []) != len(CAPS):
        problem(where, f"capabilities.add must be exactly {sorted(CAPS)}, not {caps.get('add')}")
    if pod.get("automountServiceAccountToken") is not False:
        problem(where, "automountServiceAccountToken must be false (the exporter uses no API)")
    if pod.get("hostNetwork"):
        problem(where, "hostNetwork must be off")
    if any("--runtime-api" in str(a) for a in (c.get("args") or []) + (c.get("command") or [])):
        problem(where, "--runtime-api connects to a runtime socket: not in the default deployment")


def check_mounts(where, pod, c):
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for m in c.get("volumeMounts") or []:
        if m.get("readOnly") is not True:
            problem(where, f"volume mount {m['name']} must be readOnly")
    for name, v in volumes.items():
        host = (v.get("hostPath") or {}).get("path")
        if host is None:
            continue
        norm = os.path.normpath(host)
        if norm not in ALLOWED_HOST_PATHS:
            problem(where, f"hostPath {host} (volume {name}) is not one of {sorted(ALLOWED_HOST_PATHS)}")
        if any(word in norm for word in RUNTIME_WORDS):
            problem(where, f"hostPath {host} (volume {name}) reaches a container runtime")


def check_network_policy(where, docs, pod_labels, port_names):
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    selecting = [p for p in policies
                 if (p["spec"].get("podSelector") or {}).get("matchLabels")
                 and all(pod_labels.get(k) == v
                         for k, v in p["spec"]["podSelector"]["matchLabels"].items())]
    if not selecting:
        problem(where, "no NetworkPolicy selects the exporter's pods")
        return
    for p in selecting:
        name = f"{where}: NetworkPolicy {p['metadata']['name']}"
        spec = p["spec"]
        if set(spec.get("policyTypes") or []) != {"Ingress", "Egress"}:
            problem(name, "policyTypes must be [Ingress, Egress]")
        if spec.get("egress"):
            problem(name, "the exporter needs no egress: egress must be empty")
        for rule in spec.get("ingress") or []:
            sources = rule.get("from") or []
            if not sources:
                problem(name, "an ingress rule without `from` admits every source")
            for src in sources:
                if set(src) != {"namespaceSelector"} or not src["namespaceSelector"].get("matchLabels"):
                    problem(name, f"ingress only from a namespaceSelector with matchLabels, not {src}")
            ports = [pt.get("port") for pt in rule.get("ports") or []]
            if not ports or any(pt not in port_names for pt in ports):
                problem(name, f"ingress ports {ports} must be the metrics port {sorted(port_names)}")


def checked_daemonset(directory):
    """The directory's rendered documents and its one DaemonSet, whose pod,
    container and mounts are checked; None where there is no DaemonSet."""
    docs = render(directory)
    ds = one(docs, "DaemonSet", directory)
    if ds is None:
        return None
    pod = ds["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    where = f"{directory} DaemonSet/{ds['metadata']['name']}"
    check_container(where, pod, c)
    check_mounts(where, pod, c)
    return docs, ds, pod, c, where


def check_base(directory):
    found = checked_daemonset(directory)
    if found is None:
        return
    docs, ds, pod, c, where = found
    ports = {p.get("name") for p in c.get("ports") or []} | {p.get("containerPort") for p in c.get("ports") or []}
    check_network_policy(directory, docs, ds["spec"]["template"]["metadata"]["labels"], ports)


def check_overlay(directory):
    found = checked_daemonset(directory)
    if found is None:
        return
    docs, ds, pod, c, where = found
    flags = [a for a in c.get("args") or [] if a.startswith("--web.config.file")]
    if len(flags) != 1 or "=" not in flags[0]:
        problem(where, "--web.config.file=FILE must be in args")
        return
    path = flags[0].split("=", 1)[1]
    secrets = {v["name"]: v["secret"] for v in pod.get("volumes") or [] if "secret" in v}
    mount = next((m for m in c.get("volumeMounts") or []
                  if path.startswith(m["mountPath"].rstrip("/") + "/") and m["name"] in secrets), None)
    if mount is None:
        problem(where, f"{path} is not in a volume mounted from a Secret")
    else:
        mode = secrets[mount["name"]].get("defaultMode", 0o644)
        if mode & 0o007:
            problem(where, f"Secret {mount['name']} defaultMode {oct(mode)} lets others read the key")
        if mode & 0o070 and not (pod.get("securityContext") or {}).get("fsGroup"):
            problem(where, "a group-readable Secret needs the pod's fsGroup")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = (c.get(probe) or {}).get("httpGet") or {}
        if get.get("scheme") != "HTTPS" or get.get("path") != "/healthz":
            problem(where, f"{probe} must be HTTPS GET /healthz")
    sm = one(docs, "ServiceMonitor", directory)
    if sm is not None:
        for ep in sm["spec"]["endpoints"]:
            if ep.get("scheme") != "https" or not ep.get("tlsConfig") or not ep.get("basicAuth"):
                problem(f"{directory} ServiceMonitor", "endpoints must scrape over https with tlsConfig and basicAuth")
    validate_schemas(directory, docs)


def validate_schemas(directory, docs):
    tool = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
    if not os.path.exists(tool):
        return
    text = yaml.safe_dump_all(docs)
    out = subprocess.run([tool, "--strict", "-k", "1.33.0", "-"], input=text, capture_output=True, text=True)
    text = out.stdout + out.stderr
    if out.returncode != 0 or "ERROR" in text:
        errors = [line for line in text.splitlines() if "ERROR" in line] or [text.strip()]
        for line in errors:
            problem(directory, f"strict schema validation: {line}")


def check_image(deploy):
    containerfile = open(os.path.join(deploy, "Containerfile")).read()
    users = re.findall(r"^USER\s+(\S+)", containerfile, re.M)
    if not users or not re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", users[-1]):
        problem("Containerfile", f"the last USER must be a numeric non-root uid, not {users[-1:] or 'none'}")
    build = open(os.path.join(deploy, "build-image")).read()
    if not re.search(r"^\s*setcap " + re.escape(FILE_CAPS) + " ", build, re.M):
        problem("build-image", f"must set the file capabilities {FILE_CAPS} on the binary")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check-security.py DEPLOY_DIR")
    deploy = sys.argv[1]
    check_base(os.path.join(deploy, "kubernetes"))
    check_overlay(os.path.join(deploy, "kubernetes-web-config"))
    check_image(deploy)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
