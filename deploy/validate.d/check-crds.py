#!/usr/bin/env python3
"""Validates the Prometheus Operator objects in the given YAML files offline.

Each monitoring.coreos.com/v1 object is validated, in strict mode, against
the operator's own models (cloudcoil-models-prometheus-operator, PyPI: the
operator's CRD schemas as pydantic models): types, enums and required
fields. The models ignore fields they do not know, so every field given
must also come back from the validated object: an unknown or misspelt field
is an error (the schema validation alone would let it through).
Usage: check-crds.py FILE.yaml...   (run by deploy/validate, in its venv)
"""
import sys

import pydantic
import yaml
from cloudcoil.models.prometheus_operator import v1

MODELS = {"ServiceMonitor": v1.ServiceMonitor}


def unknown_fields(given, kept, path=""):
    """Paths of the keys in `given` that validation dropped from `kept`."""
    if isinstance(given, dict) and isinstance(kept, dict):
        out = []
        for key, value in given.items():
            where = f"{path}.{key}" if path else key
            if key not in kept:
                out.append(where)
            else:
                out += unknown_fields(value, kept[key], where)
        return out
    if isinstance(given, list) and isinstance(kept, list):
        return [p for i, (g, k) in enumerate(zip(given, kept)) for p in unknown_fields(g, k, f"{path}[{i}]")]
    return []


def check(name, model, doc):
    """Error lines for one object (none when it is valid)."""
    try:
        obj = model.model_validate(doc, strict=True)
    except pydantic.ValidationError as e:
        return [f"{name}: {err['loc']}: {err['msg']}" for err in e.errors()]
    kept = obj.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return [f"{name}: unknown field {p}" for p in unknown_fields(doc, kept)]


def main(files):
    errors, seen = [], 0
    for file in files:
        with open(file) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            if doc.get("apiVersion") != "monitoring.coreos.com/v1":
                continue
            seen += 1
            name = f"{file}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            model = MODELS.get(doc.get("kind"))
            if model is None:
                errors.append(f"{name}: no model for this kind in check-crds.py")
                continue
            found = check(name, model, doc)
            errors += found
            if not found:
                print(f"{name}: valid, no unknown fields")
    if seen == 0:
        errors.append("no monitoring.coreos.com/v1 objects found")
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
