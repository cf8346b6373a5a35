#!/usr/bin/env python3
"""Checks the Grafana dashboard offline against the metric contract.

- JSON structure: uid, title, unique panel ids, every panel placed (gridPos)
  and every query panel on the templated Prometheus data source;
- every $variable used is defined (or a Grafana built-in);
- every metric a query names is in the contract sample, and every label it
  matches or groups by is a contract label or a scrape label (node, job,
  instance);
- every query parses as PromQL (promtool check rules, variables set to
  match-all values).
Usage: check-dashboard.py DASHBOARD.json CONTRACT.prom
"""
import json
import re
import subprocess
import sys
import tempfile

BUILTIN_VARS = {"__rate_interval", "__interval", "__range", "datasource"}
SCRAPE_LABELS = {"node", "job", "instance"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
                "bool", "and", "or", "unless", "offset"}


def contract(path):
    metrics, labels = set(), set()
    for line in open(path):
        m = re.match(r"# TYPE (\S+) ", line)
        if m:
            metrics.add(m.group(1))
        elif line.strip() and not line.startswith("#"):
            labels.update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', line))
    return metrics, labels


def panels_of(panels):
    for p in panels:
        yield p
        yield from panels_of(p.get("panels", []))


def main(dash_path, contract_path):
    metrics, labels = contract(contract_path)
    allowed_labels = labels | SCRAPE_LABELS
    dash = json.load(open(dash_path))
    errors = []
    for key in ("uid", "title", "panels", "templating", "schemaVersion"):
        if key not in dash:
            errors.append(f"dashboard lacks {key!r}")
    variables = {v["name"] for v in dash.get("templating", {}).get("list", [])}
    ids, exprs = set(), []
    for p in panels_of(dash.get("panels", [])):
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(p.get("id"))
        if not {"x", "y", "w", "h"} <= set(p.get("gridPos", {})):
            errors.append(f"{where}: no complete gridPos")
        targets = p.get("targets", [])
        if p.get("type") != "row" and not targets:
            errors.append(f"{where}: no query")
        if targets and p.get("datasource", {}).get("uid") != "${datasource}":
            errors.append(f"{where}: not on the templated data source")
        for t in targets:
            exprs.append((where, t.get("expr", "")))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            exprs.append((f"variable {v['name']}", v.get("definition", "")))

    rules = []
    for where, expr in exprs:
        if not expr:
            errors.append(f"{where}: empty expr")
            continue
        for var in re.findall(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)", expr):
            if var not in variables and var not in BUILTIN_VARS:
                errors.append(f"{where}: undefined variable ${var}")
        named = set(re.findall(r"\b(contrace_[a-zA-Z0-9_]+)\b", expr))
        if not named:
            errors.append(f"{where}: names no contrace metric: {expr}")
        for m in named - metrics:
            errors.append(f"{where}: {m} is not in the metric contract")
        # Any other selector (name{...} or name[...]) would be a non-contract metric.
        for m in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]", expr):
            if m not in metrics and m not in PROMQL_WORDS:
                errors.append(f"{where}: selects {m}, not a contract metric")
        used = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"", expr))
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            used.update(x.strip() for x in group.split(",") if x.strip())
        for group in re.findall(r"label_values\([^,]*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\)", expr):
            used.add(group)
        for lab in used - allowed_labels:
            errors.append(f"{where}: label {lab} is neither in the contract nor a scrape label")
        if where.startswith("variable"):
            continue  # label_values() is Grafana's, not PromQL
        concrete = re.sub(r"\$__(rate_interval|interval|range)", "1m", expr)
        concrete = concrete.replace("$topn", "10")
        concrete = re.sub(r"\$[a-zA-Z_][a-zA-Z0-9_]*", ".*", concrete)
        rules.append({"record": f"dashboard:q{len(rules)}", "expr": concrete})

    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        f.flush()
        r = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
        if r.returncode != 0:
            errors.append("PromQL does not parse:\n" + r.stdout + r.stderr)

    for e in errors:
        print(f"{dash_path}: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"{dash_path}: {len(ids)} panels, {len(rules)} queries parse, "
          f"only contract metrics ({len(metrics)}) and labels")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: check-dashboard.py DASHBOARD.json CONTRACT.prom", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
