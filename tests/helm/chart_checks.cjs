#!/usr/bin/env node
// The chart checks no tool makes, on what `helm template` rendered (helm lint,
// helm's values schema check and kubeconform run before this, in validate.sh):
//   pod security  the "restricted" Pod Security Standard, plus a read-only root
//   chart lint    cross-object invariants of this chart (probes, drain vs grace
//                 period, selectors, references, checksums, resources, files the
//                 config names mounted, egress to Redis, label syntax)
// and writes the ConfigMap's config.json for the gateway's own check
// (idgate --check_config, in validate.sh).
//
// usage: node chart_checks.cjs --manifest FILE --config-out FILE
//            [--values-file F]... [--set K=V]... [--set-file K=F]...
//   --values-file, --set, --set-file: the chart's values.yaml, then what helm got,
//   in helm's order; only read for values the manifest does not show
//   (networkPolicy.egress.redisPort).
// Every problem is printed as "<stage>: <message>"; exit status 1 if any.
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

// ---------------------------------------------------------------- arguments
const args = { valuesFiles: [], sets: [] };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => process.argv[++i];
  if (a === "--manifest") args.manifest = next();
  else if (a === "--config-out") args.configOut = next();
  else if (a === "--values-file") args.valuesFiles.push(next());
  else if (a === "--set") args.sets.push(["set", next()]);
  else if (a === "--set-string") args.sets.push(["set-string", next()]);
  else if (a === "--set-file") args.sets.push(["set-file", next()]);
  else {
    console.error(`unknown argument ${a}`);
    process.exit(2);
  }
}
if (!args.manifest || !args.configOut) {
  console.error("usage: chart_checks.cjs --manifest FILE --config-out FILE [--values-file F]... [--set K=V]...");
  process.exit(2);
}

const problems = [];
const report = (stage, msg) => problems.push(`${stage}: ${msg}`);

// ---------------------------------------------------------------- values (coalesced)
// Helm's order: maps merge, a null deletes, anything else replaces. --set keys
// are dotted paths (no list indexes: none of ours need them).
function coalesce(dst, src) {
  for (const [k, v] of Object.entries(src || {})) {
    if (v === null) delete dst[k];
    else if (v && typeof v === "object" && !Array.isArray(v) && dst[k] && typeof dst[k] === "object" && !Array.isArray(dst[k])) coalesce(dst[k], v);
    else dst[k] = v;
  }
  return dst;
}
const values = {};
for (const f of args.valuesFiles) coalesce(values, YAML.parse(fs.readFileSync(f, "utf8")) || {});
for (const [kind, kv] of args.sets) {
  for (const item of kind === "set-file" ? [kv] : kv.split(",")) {
    const eq = item.indexOf("=");
    const keys = item.slice(0, eq).split(".");
    let v = item.slice(eq + 1);
    if (kind === "set-file") v = fs.readFileSync(v, "utf8");
    else if (kind === "set" && /^-?[0-9]+$/.test(v)) v = Number(v);
    else if (kind === "set" && (v === "true" || v === "false")) v = v === "true";
    else if (kind === "set" && v === "null") v = null;
    let o = values;
    for (const k of keys.slice(0, -1)) o = o[k] && typeof o[k] === "object" ? o[k] : (o[k] = {});
    if (v === null) delete o[keys[keys.length - 1]];
    else o[keys[keys.length - 1]] = v;
  }
}

// ---------------------------------------------------------------- rendered objects
const rendered = [];
for (const text of fs.readFileSync(args.manifest, "utf8").split(/^---$/m)) {
  const object = YAML.parse(text);
  if (!object) continue;
  const m = /^# Source: (\S+)/m.exec(text);
  rendered.push({ object, source: m ? m[1] : "?" });
}
const objects = rendered.map((r) => r.object);
const ident = (o) => `${o.kind || "?"}/${(o.metadata && o.metadata.name) || "?"}`;

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
function checkLabels(where, labels) {
  for (const [k, v] of Object.entries(labels || {})) {
    if (!QUALIFIED_NAME.test(k) || k.split("/").pop().length > 63) report("chart lint", `${where}: invalid label key ${JSON.stringify(k)}`);
    if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) report("chart lint", `${where}: invalid label value ${k}=${JSON.stringify(v)}`);
  }
}
for (const r of rendered) {
  const o = r.object;
  const where = `${ident(o)} (${r.source})`;
  checkLabels(where + " metadata.labels", o.metadata && o.metadata.labels);
  const tmpl = o.spec && o.spec.template;
  if (tmpl && tmpl.metadata) checkLabels(where + " pod labels", tmpl.metadata.labels);
  if (o.kind === "StatefulSet" && ((o.metadata && o.metadata.name) || "").length > 52) report("chart lint", `${where}: StatefulSet name longer than 52 characters`);
}

// ---------------------------------------------------------------- pod security
function podSpecs(o) {
  const s = o.spec || {};
  switch (o.kind) {
    case "Pod":
      return [s];
    case "StatefulSet":
    case "Deployment":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return [(s.template || {}).spec || {}];
    case "CronJob":
      return [((((s.jobTemplate || {}).spec || {}).template || {}).spec) || {}];
    default:
      return [];
  }
}
const RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
for (const o of objects) {
  for (const spec of podSpecs(o)) {
    const pss = (msg) => report("pod security", `${ident(o)}: ${msg} (restricted Pod Security Standard)`);
    const psc = spec.securityContext || {};
    for (const f of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[f]) pss(`${f} must not be true`);
    for (const v of spec.volumes || []) {
      const type = Object.keys(v).find((k) => k !== "name");
      if (!RESTRICTED_VOLUMES.includes(type)) pss(`volume ${v.name} of type ${type} is not allowed`);
    }
    const podSeccomp = psc.seccompProfile && psc.seccompProfile.type;
    if (podSeccomp === "Unconfined") pss("pod seccompProfile must not be Unconfined");
    if (psc.runAsUser === 0) pss("pod runAsUser must not be 0");
    const containers = [...(spec.initContainers || []), ...(spec.containers || []), ...(spec.ephemeralContainers || [])];
    for (const c of containers) {
      const sc = c.securityContext || {};
      const cw = (msg) => pss(`container ${c.name}: ${msg}`);
      if (sc.privileged) cw("privileged must not be true");
      if (sc.allowPrivilegeEscalation !== false) cw("allowPrivilegeEscalation must be false");
      const runAsNonRoot = sc.runAsNonRoot !== undefined ? sc.runAsNonRoot : psc.runAsNonRoot;
      if (runAsNonRoot !== true) cw("runAsNonRoot must be true");
      if (sc.runAsUser === 0) cw("runAsUser must not be 0");
      const seccomp = (sc.seccompProfile && sc.seccompProfile.type) || podSeccomp;
      if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") cw("seccompProfile.type must be RuntimeDefault or Localhost");
      const caps = sc.capabilities || {};
      if (!(caps.drop || []).includes("ALL")) cw("capabilities.drop must include ALL");
      for (const add of caps.add || []) if (add !== "NET_BIND_SERVICE") cw(`capability ${add} must not be added`);
      for (const p of c.ports || []) if (p.hostPort) cw("hostPort must not be used");
      if (sc.readOnlyRootFilesystem !== true) {
        report("pod security", `${ident(o)}: container ${c.name}: readOnlyRootFilesystem must be true (chart policy)`);
      }
    }
  }
}

// ---------------------------------------------------------------- chart lint
const lint = (msg) => report("chart lint", msg);
const byKind = (kind) => objects.filter((o) => o.kind === kind);
const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const matches = (selector, labels) => Object.entries(selector || {}).every(([k, v]) => (labels || {})[k] === v);
// Directories the image provides (Dockerfile: the repository's config/ folder).
const IMAGE_DIRS = ["/usr/share/idgate/"];
const durationSeconds = (d) => (typeof d === "string" && /^[0-9.]+s$/.test(d) ? parseFloat(d) : null);

let config = null;
const statefulSets = byKind("StatefulSet");
if (statefulSets.length !== 1) lint(`expected exactly one StatefulSet, found ${statefulSets.length}`);
const configMaps = byKind("ConfigMap").filter((c) => c.data && "config.json" in c.data);
if (configMaps.length !== 1) {
  lint(`expected one ConfigMap with config.json, found ${configMaps.length}`);
} else {
  try {
    config = JSON.parse(configMaps[0].data["config.json"]);
  } catch (e) {
    lint(`ConfigMap ${configMaps[0].metadata.name}: config.json is not JSON: ${e.message}`);
  }
}

for (const sts of statefulSets) {
  try {
    lintStatefulSet(sts);
  } catch (e) {
    lint(`${ident(sts)}: malformed object (${e.message})`);
  }
}
if (config) fs.writeFileSync(args.configOut, JSON.stringify(config, null, 2));

function lintStatefulSet(sts) {
  const w = ident(sts);
  const spec = sts.spec || {};
  const pod = (spec.template || {}).spec || {};
  const podLabels = ((spec.template || {}).metadata || {}).labels || {};
  const annotations = ((spec.template || {}).metadata || {}).annotations || {};
  const c = (pod.containers || []).find((x) => x.name === "idgate");
  if (!c) {
    lint(`${w}: no container named idgate`);
    return;
  }
  if (!matches((spec.selector || {}).matchLabels, podLabels)) lint(`${w}: selector does not match the pod labels`);
  for (const a of ["checksum/config", "checksum/secret"]) {
    if (!/^[a-f0-9]{64}$/.test(annotations[a] || "")) lint(`${w}: pod annotation ${a} missing (config/key changes would not roll the pods)`);
  }
  // Ledger storage: a claim template mounted at --state_dir.
  const stateArg = (c.args || []).find((a) => a.startsWith("--state_dir="));
  const stateDir = stateArg && stateArg.slice("--state_dir=".length);
  const dataMount = (c.volumeMounts || []).find((m) => m.mountPath === stateDir);
  if (!stateDir || !dataMount) lint(`${w}: --state_dir is not a mounted volume`);
  const claims = (spec.volumeClaimTemplates || []).map((t) => t.metadata.name);
  const volumes = new Map((pod.volumes || []).map((v) => [v.name, v]));
  if (dataMount && !claims.includes(dataMount.name) && !(volumes.get(dataMount.name) || {}).emptyDir) {
    lint(`${w}: the ledger volume ${dataMount.name} is neither a volumeClaimTemplate nor an emptyDir`);
  }
  for (const m of c.volumeMounts || []) {
    if (!volumes.has(m.name) && !claims.includes(m.name)) lint(`${w}: volumeMount ${m.name} has no volume`);
  }
  for (const [name, v] of volumes) {
    if (v.configMap && !find("ConfigMap", v.configMap.name)) lint(`${w}: volume ${name} names ConfigMap ${v.configMap.name}, which the chart does not render`);
  }
  // Probes: all three, gRPC health or exec.
  for (const p of ["startupProbe", "livenessProbe", "readinessProbe"]) {
    const probe = c[p];
    if (!probe) lint(`${w}: ${p} missing`);
    else if (!probe.grpc && !probe.exec) lint(`${w}: ${p} must be a gRPC health probe or an exec health check`);
    else if (probe.grpc && !(c.ports || []).some((x) => x.containerPort === probe.grpc.port)) lint(`${w}: ${p} port ${probe.grpc.port} is not a container port`);
  }
  if (config && config.tls && config.tls.certFile && ["startupProbe", "livenessProbe", "readinessProbe"].some((p) => c[p] && c[p].grpc)) {
    lint(`${w}: gRPC probes cannot talk to a TLS port (config.tls.certFile is set)`);
  }
  // The gateway listens where the container ports say.
  if (config) {
    for (const [field, portName] of [["listenAddress", "grpc"], ["metricsListenAddress", "metrics"]]) {
      const port = ((c.ports || []).find((p) => p.name === portName) || {}).containerPort;
      if (typeof config[field] !== "string" || !config[field].endsWith(`:${port}`)) {
        lint(`${w}: config.${field} ${JSON.stringify(config[field])} does not listen on container port ${portName} (${port})`);
      }
    }
  }
  // Graceful termination: grace period > preStop sleep + drain.
  const drain = config && config.server ? durationSeconds(config.server.drainTimeout) : null;
  const preStop = (((c.lifecycle || {}).preStop || {}).exec || {}).command || [];
  const sleep = preStop[0] === "sleep" ? Number(preStop[1]) : 0;
  if (drain === null) lint(`${w}: config.server.drainTimeout missing`);
  else if (!(pod.terminationGracePeriodSeconds > drain + sleep)) {
    lint(`${w}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} must exceed preStop sleep ${sleep}s + drain ${drain}s`);
  }
  // Resources and image.
  const res = c.resources || {};
  for (const [k, r] of [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]]) {
    if (!(res[k] || {})[r]) lint(`${w}: resources.${k}.${r} not set`);
  }
  if (!c.image || /:latest$/.test(c.image) || !/[:@]/.test(c.image)) lint(`${w}: image ${JSON.stringify(c.image)} must be pinned by tag or digest`);
  // Governing Service is headless; every Service selecting these pods targets existing ports.
  const gov = find("Service", spec.serviceName);
  if (!gov || gov.spec.clusterIP !== "None") lint(`${w}: serviceName ${spec.serviceName} is not a rendered headless Service`);
  const portNames = new Set((c.ports || []).map((p) => p.name));
  const portNumbers = new Set((c.ports || []).map((p) => p.containerPort));
  for (const svc of byKind("Service")) {
    if (!matches(svc.spec.selector, podLabels)) {
      lint(`Service/${svc.metadata.name}: selector does not match the gateway pods`);
      continue;
    }
    for (const p of svc.spec.ports || []) {
      const t = p.targetPort === undefined ? p.port : p.targetPort;
      if (typeof t === "string" ? !portNames.has(t) : !portNumbers.has(t)) lint(`Service/${svc.metadata.name}: port ${p.name} targets ${t}, not a container port`);
    }
    if ((svc.spec.ports || []).some((p) => p.name === "grpc" && p.appProtocol !== "grpc")) lint(`Service/${svc.metadata.name}: port grpc should have appProtocol grpc`);
  }
  // Pods that select these pods: PDB, NetworkPolicy, HPA target, ServiceMonitor.
  for (const pdb of byKind("PodDisruptionBudget")) if (!matches(pdb.spec.selector.matchLabels, podLabels)) lint(`${ident(pdb)}: selector does not match the gateway pods`);
  for (const np of byKind("NetworkPolicy")) if (!matches(np.spec.podSelector.matchLabels, podLabels)) lint(`${ident(np)}: podSelector does not match the gateway pods`);
  // Redis of config.sharedState.redis: the egress policy lets the pods reach its port.
  const redis = config && config.sharedState && config.sharedState.redis;
  if (redis) {
    const m = /:([0-9]+)$/.exec(redis.address || "");
    const np = values.networkPolicy || {};
    const port = ((np.egress || {}).redisPort) || (m && Number(m[1]));
    for (const pol of byKind("NetworkPolicy")) {
      const open = (pol.spec.egress || []).some((rule) => !rule.ports || rule.ports.some((p) => p.port === port && (p.protocol || "TCP") === "TCP"));
      if (!open) lint(`${ident(pol)}: no egress rule allows Redis's port ${port} (config.sharedState.redis.address)`);
    }
  }
  for (const hpa of byKind("HorizontalPodAutoscaler")) {
    const ref = hpa.spec.scaleTargetRef;
    if (ref.kind !== "StatefulSet" || ref.name !== sts.metadata.name) lint(`${ident(hpa)}: scaleTargetRef is not the StatefulSet`);
    if (spec.replicas !== undefined) lint(`${w}: replicas must be omitted when an HPA scales it`);
  }
  for (const sm of byKind("ServiceMonitor")) {
    const targets = byKind("Service").filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels));
    if (targets.length !== 1) lint(`${ident(sm)}: selects ${targets.length} Services, expected the metrics Service`);
    for (const ep of sm.spec.endpoints || []) {
      if (!targets.some((s) => (s.spec.ports || []).some((p) => p.name === ep.port))) lint(`${ident(sm)}: endpoint port ${ep.port} not found`);
    }
  }
  // Files the config names must come from a mounted volume; files of a Secret
  // rendered by the chart must exist in it.
  if (config) {
    const files = [];
    const walk = (v, at) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
      else if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          if (typeof x === "string" && (/File$/.test(k) || (k === "file" && /subjectKeys/.test(at)))) files.push([`${at}.${k}`, x]);
          else if (k === "verifyPublicKeyFiles" && x && typeof x === "object") for (const [p, f] of Object.entries(x)) files.push([`${at}.${k}.${p}`, f]);
          else walk(x, `${at}.${k}`);
        }
      }
    };
    walk(config, "config");
    for (const [at, file] of files) {
      const abs = path.posix.resolve("/etc/idgate/config", file);
      if (IMAGE_DIRS.some((d) => abs.startsWith(d))) continue;
      const m = (c.volumeMounts || []).filter((x) => typeof x.mountPath === "string" && abs.startsWith(x.mountPath.replace(/\/$/, "") + "/")).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
      if (!m) {
        lint(`${at} = ${file} is not under any mounted directory (nor in the image's ${IMAGE_DIRS.join(", ")})`);
        continue;
      }
      const vol = volumes.get(m.name) || {};
      const secret = vol.secret && find("Secret", vol.secret.secretName);
      const key = abs.slice(m.mountPath.replace(/\/$/, "").length + 1);
      if (secret && !(key in (secret.data || {})) && !(key in (secret.stringData || {}))) {
        lint(`${at} = ${file}: Secret ${secret.metadata.name} (rendered by the chart) has no key ${key}`);
      }
    }
  }
}

// ---------------------------------------------------------------- result
for (const p of problems) console.error(p);
const kinds = rendered.map((r) => `${r.object.kind}/${r.object.metadata.name}`);
console.log(`checked ${rendered.length} objects: ${kinds.join(", ")}`);
process.exit(problems.length ? 1 : 0);
