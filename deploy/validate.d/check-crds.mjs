// Validates the Prometheus Operator objects in the given YAML files offline:
// the models' JSON-schema validation (types, enums, required fields) from
// @kubernetes-models/prometheus-operator, then TypeScript's excess-property
// check against the same models' types, which rejects unknown or misspelt
// fields (the schema validation alone lets them through).
// Usage: node check-crds.mjs WORKDIR FILE.yaml...   (run by deploy/validate)
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import yaml from "js-yaml";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

const [workdir, ...files] = process.argv.slice(2);
const models = { ServiceMonitor };
let failed = 0;
const typed = [];
for (const file of files) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
    if (!doc || doc.apiVersion !== "monitoring.coreos.com/v1") continue;
    const Model = models[doc.kind];
    const name = `${file}: ${doc.kind}/${doc.metadata?.name}`;
    if (!Model) {
      console.error(`${name}: no model for this kind in check-crds.mjs`);
      failed++;
      continue;
    }
    try {
      new Model(doc).validate();
      console.log(`${name}: schema ok`);
    } catch (e) {
      console.error(`${name}: ${e.message}`);
      failed++;
    }
    typed.push({ name, kind: doc.kind, doc });
  }
}
if (typed.length === 0) {
  console.error("no monitoring.coreos.com/v1 objects found");
  process.exit(1);
}
// One object literal per resource, typed with the model's interface.
const ts = typed
  .map(({ kind }) => `import type { I${kind} } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}";`)
  .filter((v, i, a) => a.indexOf(v) === i)
  .concat(typed.map(({ name, kind, doc }, i) => `// ${name}\nexport const o${i}: I${kind} = ${JSON.stringify(doc, null, 2)};`))
  .join("\n");
const tsFile = path.join(workdir, "crds.ts");
fs.writeFileSync(tsFile, ts + "\n");
try {
  execFileSync(path.join(workdir, "node_modules/.bin/tsc"),
    ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", tsFile],
    { cwd: workdir, stdio: "inherit" });
  console.log(`${typed.length} object(s): no unknown fields`);
} catch {
  console.error(`unknown or mistyped fields: see the TypeScript errors above (${tsFile})`);
  failed++;
}
process.exit(failed ? 1 : 0);
