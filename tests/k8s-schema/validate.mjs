// Validate Kubernetes objects against Kubernetes' own OpenAPI schemas, offline, with the kubernetes-models
// packages (their validators are generated from the API's OpenAPI documents: types, required fields,
// enums, formats). Reads a JSON array of objects on stdin and prints one JSON line per object:
// {"kind", "name", "error"} with error null when it validates. An object of a kind no installed package
// models is an error too: nothing passes unchecked. Exit status 1 when any object fails.
import { readFileSync } from "node:fs";

// API groups modelled outside the kubernetes-models package itself.
const PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "cert-manager.io": "@kubernetes-models/cert-manager",
};

async function validate(obj) {
  const apiVersion = String(obj.apiVersion || "");
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = PACKAGES[group] || "kubernetes-models";
  const path = `${pkg}/${group ? group + "/" : ""}${version}/${obj.kind}`;
  let Model;
  try {
    Model = (await import(path))[obj.kind];
  } catch (e) {
    return `no schema for ${apiVersion} ${obj.kind} (${path})`;
  }
  if (typeof Model !== "function") return `no model ${obj.kind} in ${path}`;
  try {
    new Model(obj).validate();
    return null;
  } catch (e) {
    return e.message;
  }
}

const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const obj of objects) {
  const error = await validate(obj);
  if (error) failed++;
  console.log(JSON.stringify({ kind: obj.kind, name: (obj.metadata || {}).name, error }));
}
process.exit(failed ? 1 : 0);
