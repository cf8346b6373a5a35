#!/usr/bin/env python3
"""Checks deploy/prometheus/scrape.yml offline.

Debian's Prometheus is built without Kubernetes service discovery, so
`promtool check config` rejects kubernetes_sd_configs. This script:
1. checks each kubernetes_sd_configs block's shape (role, namespaces,
   selectors) itself;
2. replaces those blocks with file_sd_configs whose targets carry the
   __meta_kubernetes_* labels the API would give (one pod with a "metrics"
   port, one with another port, one not Running), then
3. runs `promtool check config` on the result, and
4. starts a private Prometheus (127.0.0.1, temporary storage) on it and asks
   /api/v1/targets which targets the relabel rules kept and with which
   labels: exactly the Running pod's "metrics" port, labelled with its node,
   without pod/namespace target labels.
Usage: check-scrape.py SCRAPE.yml   (needs PyYAML, promtool, prometheus)
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}
SD_KEYS = {"role", "namespaces", "selectors", "api_server", "kubeconfig_file",
           "attach_metadata", "follow_redirects", "enable_http2", "tls_config",
           "authorization", "basic_auth", "oauth2", "proxy_url", "bearer_token_file"}


def meta(port_name, phase, node, ip):
    return {"targets": [f"{ip}"], "labels": {
        "__meta_kubernetes_namespace": "contrace",
        "__meta_kubernetes_pod_name": f"contrace-exporter-{node}",
        "__meta_kubernetes_pod_container_port_name": port_name,
        "__meta_kubernetes_pod_phase": phase,
        "__meta_kubernetes_pod_node_name": node,
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": "contrace-exporter",
    }}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(path):
    errors = []
    config = yaml.safe_load(open(path))
    work = tempfile.mkdtemp(prefix="contrace-scrape-check-")
    sd_file = os.path.join(work, "pods.json")
    # Unroutable-on-purpose targets: discovery and relabelling happen without scraping.
    json.dump([meta("metrics", "Running", "node-a", "127.0.0.1:1"),
               meta("other", "Running", "node-a", "127.0.0.1:2"),
               meta("metrics", "Pending", "node-b", "127.0.0.1:3")], open(sd_file, "w"))
    k8s_jobs = []
    for job in config.get("scrape_configs", []):
        blocks = job.pop("kubernetes_sd_configs", None)
        if blocks is None:
            continue
        k8s_jobs.append(job["job_name"])
        for b in blocks:
            where = f"job {job['job_name']}: kubernetes_sd_configs"
            if b.get("role") not in ROLES:
                errors.append(f"{where}: role {b.get('role')!r} not one of {sorted(ROLES)}")
            for k in set(b) - SD_KEYS:
                errors.append(f"{where}: unknown field {k}")
            ns = b.get("namespaces", {})
            if set(ns) - {"names", "own_namespace"} or not all(isinstance(n, str) for n in ns.get("names", [])):
                errors.append(f"{where}: namespaces must be {{names: [..]}}")
            for s in b.get("selectors", []):
                if s.get("role") not in ROLES or set(s) - {"role", "label", "field"}:
                    errors.append(f"{where}: bad selector {s}")
        job["file_sd_configs"] = [{"files": [sd_file]}]
    if not k8s_jobs:
        errors.append("no job with kubernetes_sd_configs")
    checked = os.path.join(work, "prometheus.yml")
    yaml.safe_dump(config, open(checked, "w"))
    r = subprocess.run(["promtool", "check", "config", checked], capture_output=True, text=True)
    if r.returncode != 0:
        errors.append("promtool check config failed:\n" + r.stdout + r.stderr)
    else:
        errors += relabel_result(checked, work, k8s_jobs)
    shutil.rmtree(work, ignore_errors=True)
    for e in errors:
        print(f"{path}: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"{path}: promtool ok; kubernetes_sd jobs {k8s_jobs} keep exactly the Running pods' "
          "metrics port, labelled with node, without pod/namespace target labels")
    return 0


def relabel_result(config_path, work, jobs):
    port = free_port()
    log = open(os.path.join(work, "prometheus.log"), "w")
    proc = subprocess.Popen(["prometheus", f"--config.file={config_path}",
                             f"--storage.tsdb.path={work}/data",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=log, cwd=work)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.time() + 60
        while True:
            try:
                body = opener.open(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5).read()
                data = json.loads(body)["data"]
                active = [t for t in data["activeTargets"] if t["labels"].get("job") in jobs]
                if len(active) >= len(jobs) or time.time() > deadline:
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    return [f"prometheus did not start: {open(log.name).read()}"]
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    errors = []
    for job in jobs:
        mine = [t for t in active if t["labels"]["job"] == job]
        got = [(t["scrapeUrl"], t["labels"]) for t in mine]
        if len(mine) != 1 or mine[0]["scrapeUrl"] != "http://127.0.0.1:1/metrics":
            errors.append(f"job {job}: relabelling kept {got}, expected only http://127.0.0.1:1/metrics")
            continue
        labels = mine[0]["labels"]
        if labels.get("node") != "node-a":
            errors.append(f"job {job}: target labels {labels} lack node=\"node-a\"")
        for bad in ("pod", "namespace", "container"):
            if bad in labels:
                errors.append(f"job {job}: target label {bad} would clash with the exporter's")
    return errors


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: check-scrape.py SCRAPE.yml", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
