/**
 * A modelled Kubernetes API server (no real one can run on these machines):
 * an HTTP server on 127.0.0.1 that keeps objects in memory and answers the
 * calls the kubernetes scheduler makes the way kube-apiserver does, as the
 * API reference describes it (test/fixtures/modelled/kubernetes/FACTS.md
 * lists each fact and where it is written down):
 *
 * - the resource paths (/api/v1, /apis/<group>/<version>,
 *   namespaces/<ns>/<plural>[/<name>]) and the verbs each takes (405 otherwise);
 * - server-side apply: PATCH with Content-Type application/apply-patch+yaml,
 *   a `fieldManager` query parameter (422 without), `force` only on apply
 *   patches (422 otherwise), other content types 415; managed fields per
 *   manager, conflicts (409 with FieldManagerConflict causes) when a field
 *   another manager set would change, unless forced; fields a manager stops
 *   applying are removed when nobody else owns them;
 * - create (POST), update (PUT, with the resourceVersion precondition),
 *   delete, get, list (labelSelector, limit and continue);
 * - watch (`watch=true`: one JSON event a line, from a resourceVersion or
 *   from the start, selector transitions as ADDED/DELETED, bookmarks,
 *   timeoutSeconds, 410 Expired past the kept window); every write, delete
 *   and controller status change is an event with its own resourceVersion;
 * - the garbage collector: dependents whose ownerReferences all name objects
 *   that are gone are deleted (propagationPolicy Background/Foreground), or
 *   lose the reference (Orphan);
 * - bearer-token authentication (401), RBAC rules (403 naming verb and
 *   resource), namespaces that do not exist (404 naming the namespace, for
 *   writes that would make an object);
 * - every object written is checked against the Kubernetes OpenAPI schemas
 *   (kubernetes-models, generated from them, @kubernetes-models/gateway-api
 *   for HTTPRoute) and a few of the API server's own validations; a refusal
 *   is a 422 Status whose causes name the field paths;
 * - defaults the API server fills in, generation and resourceVersion, and a
 *   modelled Deployment controller whose rollouts complete or exceed their
 *   progress deadline;
 * - pods a test puts in (checked against the Pod schema) and their logs:
 *   GET .../pods/<name>/log (RBAC resource pods/log) answers text/plain,
 *   with container, tailLines, sinceTime, timestamps and follow (which keeps
 *   the answer open, writing lines as the container writes them, until it
 *   ends); a pod whose container has not started is 400.
 *
 * Every answer that is not an object is a meta/v1 Status built from the
 * shapes in test/fixtures/modelled/kubernetes/statuses.json.
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const YAML = require('yaml');

const MODELLED = path.resolve(__dirname, '../fixtures/modelled/kubernetes');
const STATUSES = JSON.parse(fs.readFileSync(path.join(MODELLED, 'statuses.json'), 'utf8')).statuses;

/** The resources served: group, version, plural, kind, the model that validates them, the verbs allowed. */
const RESOURCES = [
  { group: '', version: 'v1', plural: 'services', kind: 'Service', model: () => require('kubernetes-models/v1').Service },
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', model: () => require('kubernetes-models/v1').ServiceAccount },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', model: () => require('kubernetes-models/v1').Secret },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', model: () => require('kubernetes-models/v1').Pod },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', model: () => require('kubernetes-models/apps/v1').Deployment, workload: true },
  { group: 'batch', version: 'v1', plural: 'cronjobs', kind: 'CronJob', model: () => require('kubernetes-models/batch/v1').CronJob, workload: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', model: () => require('kubernetes-models/coordination.k8s.io/v1').Lease },
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', kind: 'Ingress', model: () => require('kubernetes-models/networking.k8s.io/v1').Ingress },
  { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute', model: () => require('@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1').HTTPRoute },
];
const byPath = new Map(RESOURCES.map((r) => [`${r.group}/${r.version}/${r.plural}`, r]));
const apiVersionOf = (r) => (r.group ? `${r.group}/${r.version}` : r.version);
const qualified = (r) => (r.group ? `${r.plural}.${r.group}` : r.plural);
const kindQualified = (r) => (r.group ? `${r.kind}.${r.group}` : r.kind);

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A Status from its modelled shape, with `{{name}}`-style values filled in. */
function status(key, vars = {}, extra = {}) {
  const shape = STATUSES[key];
  if (!shape) throw new Error(`no modelled Status ${key}`);
  const fill = (v) => (typeof v === 'string' ? v.replace(/\{\{(\w+)\}\}/g, (_, k) => String(vars[k] ?? '')) : Array.isArray(v) ? v.map(fill) : isObj(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)])) : v);
  const body = fill(shape.body);
  if (extra.causes) body.details = { ...(body.details || {}), causes: extra.causes };
  if (extra.message) body.message = extra.message;
  return { code: body.code, body };
}

// ---- field paths for server-side apply (structured-merge-diff, simplified: lists of objects with a name are keyed by it, other lists are atomic)

/** The leaf paths of an applied configuration, each with its value. */
function leaves(obj, prefix = [], out = new Map()) {
  for (const [k, v] of Object.entries(obj)) {
    if (prefix.length === 0 && (k === 'apiVersion' || k === 'kind')) continue;
    if (prefix.length === 1 && prefix[0] === 'metadata' && ['name', 'namespace', 'resourceVersion', 'managedFields', 'uid', 'generation', 'creationTimestamp'].includes(k)) continue;
    const p = [...prefix, k];
    if (Array.isArray(v) && v.length && v.every((x) => isObj(x) && typeof x.name === 'string')) {
      for (const item of v) leaves(item, [...p, `[name=${JSON.stringify(item.name)}]`], out);
    } else if (isObj(v) && Object.keys(v).length) leaves(v, p, out);
    else out.set(p.join('\u0000'), v);
  }
  return out;
}

const printPath = (key) => '.' + key.split('\u0000').join('.').replace(/\.\[/g, '[');

function getAt(obj, key) {
  let v = obj;
  for (const seg of key.split('\u0000')) {
    if (v === undefined || v === null) return undefined;
    const m = /^\[name=(.*)\]$/.exec(seg);
    v = m ? (Array.isArray(v) ? v.find((x) => x && x.name === JSON.parse(m[1])) : undefined) : v[seg];
  }
  return v;
}

function removeAt(obj, key) {
  const segs = key.split('\u0000');
  const parents = [];
  let v = obj;
  for (const seg of segs.slice(0, -1)) {
    const m = /^\[name=(.*)\]$/.exec(seg);
    const next = m ? (Array.isArray(v) ? v.find((x) => x && x.name === JSON.parse(m[1])) : undefined) : v?.[seg];
    if (next === undefined) return;
    parents.push([v, seg]);
    v = next;
  }
  const last = segs[segs.length - 1];
  // The `name` of a keyed list item is its key, not a field of its own: the item goes once nothing else of it is left.
  const keyOfItem = last === 'name' && segs.length > 1 && /^\[name=/.test(segs[segs.length - 2]);
  if (isObj(v) && !keyOfItem) delete v[last];
  // Empty containers left behind go too (an emptied list item goes from its list).
  for (let i = parents.length - 1; i >= 0; i--) {
    const [parent, seg] = parents[i];
    const m = /^\[name=(.*)\]$/.exec(seg);
    const child = m ? parent.find((x) => x && x.name === JSON.parse(m[1])) : parent[seg];
    const empty = isObj(child) && Object.keys(child).filter((k) => !(m && k === 'name')).length === 0;
    if (!empty) break;
    if (m) parent.splice(parent.indexOf(child), 1);
    else delete parent[seg];
  }
}

/** Merges an applied configuration into the live object: maps key by key, named lists item by item, other lists replaced. */
function merge(live, applied) {
  if (!isObj(live) || !isObj(applied)) return clone(applied);
  const out = { ...live };
  for (const [k, v] of Object.entries(applied)) {
    if (Array.isArray(v) && v.length && v.every((x) => isObj(x) && typeof x.name === 'string') && Array.isArray(live[k])) {
      const items = live[k].map(clone);
      for (const item of v) {
        const i = items.findIndex((x) => x && x.name === item.name);
        if (i >= 0) items[i] = merge(items[i], item);
        else items.push(clone(item));
      }
      out[k] = items;
    } else out[k] = isObj(v) && isObj(live[k]) ? merge(live[k], v) : clone(v);
  }
  return out;
}

/** managedFields' fieldsV1 for a set of leaf paths (f:<field>, k:{"name":...} for named list items). */
function fieldsV1(keys) {
  const root = {};
  for (const key of keys) {
    let n = root;
    for (const seg of key.split('\u0000')) {
      const m = /^\[name=(.*)\]$/.exec(seg);
      const f = m ? `k:{"name":${m[1]}}` : `f:${seg}`;
      n = n[f] ??= {};
    }
  }
  return root;
}

// ---- the API server's own checks beyond the schema (a few that Sous's objects can break)

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const QTY = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
const quantity = (q) => {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(q));
  return m && m[2] in QTY ? Number(m[1]) * QTY[m[2]] : NaN;
};

function semanticCauses(r, obj) {
  const causes = [];
  const bad = (field, value, why) => causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${why}`, field });
  const name = obj.metadata?.name ?? '';
  if (r.kind === 'Service' ? !DNS1035_LABEL.test(name) || name.length > 63 : !DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    bad('metadata.name', name, r.kind === 'Service' ? "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character" : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'");
  }
  for (const [k, v] of Object.entries(obj.metadata?.labels ?? {})) if (!LABEL_VALUE.test(v) || v.length > 63) bad(`metadata.labels`, v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  const pod = r.kind === 'Deployment' ? obj.spec?.template : r.kind === 'CronJob' ? obj.spec?.jobTemplate?.spec?.template : undefined;
  const podPath = r.kind === 'Deployment' ? 'spec.template' : 'spec.jobTemplate.spec.template';
  if (r.kind === 'Deployment') {
    const sel = obj.spec?.selector?.matchLabels ?? {};
    const tl = obj.spec?.template?.metadata?.labels ?? {};
    if (!Object.entries(sel).every(([k, v]) => tl[k] === v)) bad('spec.template.metadata.labels', tl, '`selector` does not match template `labels`');
  }
  if (r.kind === 'Secret') {
    let size = 0;
    for (const [key, v] of Object.entries(obj.data ?? {})) {
      if (!SECRET_KEY.test(key)) bad(`data[${key}]`, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
      if (typeof v !== 'string' || !BASE64.test(v)) causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: illegal base64 data', field: `data[${key}]` });
      else size += Buffer.from(v, 'base64').length;
    }
    if (size > 1024 * 1024) causes.push({ reason: 'FieldValueTooLong', message: 'Too long: must have at most 1048576 bytes', field: 'data' });
  }
  (obj.metadata?.ownerReferences ?? []).forEach((o, i) => {
    if (!o.uid) causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: "": uid must not be empty', field: `metadata.ownerReferences[${i}].uid` });
  });
  (pod?.spec?.containers ?? []).forEach((c, i) => {
    const at = `${podPath}.spec.containers[${i}]`;
    (c.env ?? []).forEach((e, j) => {
      const ref = e.valueFrom?.secretKeyRef;
      if (e.valueFrom && e.value) causes.push({ reason: 'FieldValueInvalid', message: "Invalid value: \"\": may not be specified when `value` is not empty", field: `${at}.env[${j}].valueFrom` });
      if (ref && (!ref.key || !SECRET_KEY.test(ref.key))) bad(`${at}.env[${j}].valueFrom.secretKeyRef.key`, ref.key ?? '', "a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
      if (ref && !DNS1123_SUBDOMAIN.test(ref.name ?? '')) bad(`${at}.env[${j}].valueFrom.secretKeyRef.name`, ref.name ?? '', 'a lowercase RFC 1123 subdomain');
    });
    if (!DNS1123_LABEL.test(c.name ?? '')) bad(`${at}.name`, c.name, 'a lowercase RFC 1123 label');
    if (!c.image) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${at}.image` });
    for (const res of ['cpu', 'memory']) {
      const req = c.resources?.requests?.[res];
      const lim = c.resources?.limits?.[res];
      if (req !== undefined && lim !== undefined && quantity(req) > quantity(lim)) bad(`${at}.resources.requests`, req, `must be less than or equal to ${res} limit of ${lim}`);
    }
    for (const p of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const port = c[p]?.httpGet?.port;
      if (typeof port === 'string' && !(c.ports ?? []).some((x) => x.name === port)) bad(`${at}.${p}.httpGet.port`, port, 'must contain at least one container port named this');
    }
  });
  if (r.kind === 'CronJob' && obj.spec?.schedule !== undefined) {
    const f = obj.spec.schedule.trim().split(/\s+/);
    const max = [59, 23, 31, 12, 6];
    if (f.length !== 5) bad('spec.schedule', obj.spec.schedule, `expected exactly 5 fields, found ${f.length}: ${obj.spec.schedule}`);
    else f.forEach((x, i) => {
      for (const n of x.split(/[-,/]/).filter((y) => /^\d+$/.test(y)).map(Number)) if (n > max[i] && !(x.includes('/') && x.endsWith(`/${n}`))) bad('spec.schedule', obj.spec.schedule, `end of range (${n}) above maximum (${max[i]}): ${x}`);
    });
  }
  return causes;
}

/** The schema's complaints about an object, as Status causes with field paths. */
function schemaCauses(r, obj) {
  const Model = r.model();
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    const errors = e.errors ?? [{ instancePath: '', message: e.message }];
    return errors.map((x) => ({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${x.message}`,
      field: (x.instancePath || '').replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.') || '<root>',
    }));
  }
}

// ---- defaults the API server fills in (the ones Sous reads back)

function defaultPodSpec(spec) {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const c of spec.containers ?? []) {
    c.imagePullPolicy ??= 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    for (const p of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      if (!c[p]) continue;
      Object.assign(c[p], { periodSeconds: c[p].periodSeconds ?? 10, timeoutSeconds: c[p].timeoutSeconds ?? 1, successThreshold: c[p].successThreshold ?? 1, failureThreshold: c[p].failureThreshold ?? 3 });
    }
  }
}

function applyDefaults(r, obj, ipFor) {
  if (r.kind === 'Deployment') {
    const s = (obj.spec ??= {});
    s.replicas ??= 1;
    s.revisionHistoryLimit ??= 10;
    s.progressDeadlineSeconds ??= 600;
    defaultPodSpec(s.template?.spec);
  }
  if (r.kind === 'CronJob') {
    obj.spec.suspend ??= false;
    obj.spec.successfulJobsHistoryLimit ??= 3;
    obj.spec.failedJobsHistoryLimit ??= 1;
    defaultPodSpec(obj.spec.jobTemplate?.spec?.template?.spec);
  }
  if (r.kind === 'Service') {
    const s = obj.spec;
    if (!s.clusterIP) {
      s.clusterIP = ipFor(obj.metadata.name);
      s.clusterIPs = [s.clusterIP];
    }
    s.sessionAffinity ??= 'None';
    s.ipFamilies ??= ['IPv4'];
    s.ipFamilyPolicy ??= 'SingleStack';
    s.internalTrafficPolicy ??= 'Cluster';
  }
}

// ---- the modelled Deployment controller

/** A rollout as the Deployment controller and the API server's status show it, one step per read. */
function advanceRollout(d, behaviour) {
  const st = (d.status ??= {});
  const ro = d.__rollout;
  if (!ro || ro.done) return;
  ro.reads++;
  const want = d.spec.replicas ?? 1;
  const rs = `${d.metadata.name}-${crypto.createHash('sha256').update(JSON.stringify(d.spec.template)).digest('hex').slice(0, 10)}`;
  st.observedGeneration = d.metadata.generation;
  const keepsServing = d.spec.strategy?.rollingUpdate?.maxUnavailable === 0;
  if (behaviour === 'stuck' || behaviour === 'deadline') {
    Object.assign(st, { replicas: want + (ro.old ? 1 : 0), updatedReplicas: 1, readyReplicas: ro.old ? want : 0, availableReplicas: ro.old && keepsServing ? want : 0, unavailableReplicas: 1 });
    const exceeded = behaviour === 'deadline' && ro.reads >= 2;
    st.conditions = [
      { type: 'Available', status: ro.old && keepsServing ? 'True' : 'False', reason: ro.old && keepsServing ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', message: ro.old && keepsServing ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.' },
      exceeded
        ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rs}" has timed out progressing.` }
        : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rs}" is progressing.` },
    ];
    // The old pods keep serving while the new ones never become ready (maxUnavailable 0).
    d.__serving = keepsServing ? ro.old : undefined;
    return;
  }
  if (ro.reads < ro.steps) {
    Object.assign(st, { replicas: want, updatedReplicas: want, readyReplicas: Math.max(0, want - 1), availableReplicas: Math.max(0, want - 1), unavailableReplicas: want > 0 ? 1 : 0 });
    st.conditions = [
      { type: 'Available', status: want <= 1 && want > 0 ? 'False' : 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
      { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rs}" is progressing.` },
    ];
    return;
  }
  Object.assign(st, { replicas: want, updatedReplicas: want, readyReplicas: want, availableReplicas: want });
  delete st.unavailableReplicas;
  st.conditions = [
    { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
    { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rs}" has successfully progressed.` },
  ];
  ro.done = true;
  d.__serving = d.spec.template.spec.containers.map((c) => c.image).join(',');
}

// ---- label selectors (equality-based, as Sous sends them)

function selects(selector, labels) {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!m) return Object.prototype.hasOwnProperty.call(labels ?? {}, term.trim());
    const v = (labels ?? {})[m[1]];
    return m[2] === '!=' ? v !== m[3] : v === m[3];
  });
}

class KubeApiServer {
  /**
   * @param {object} [opts]
   * @param {string[]} [opts.namespaces] namespaces that exist (default ['default'])
   * @param {Record<string,string>} [opts.tokens] bearer token → user name; empty: any request is `system:anonymous`… refused
   * @param {{user?: string, verbs: string[], resources: string[], namespaces?: string[]}[]} [opts.rbac] allow rules; unset: everything allowed
   * @param {'complete'|'deadline'|'stuck'} [opts.rollout] how Deployment rollouts go (default complete after two reads)
   * @param {number} [opts.rolloutSteps]
   * @param {number} [opts.controllerMs] the Deployment controller also steps rollouts on its own this often (default: only on reads)
   * @param {number} [opts.bookmarkMs] how often a watch gets a BOOKMARK (default 60000)
   * @param {number} [opts.eventWindow] how many changes are kept for watches from a resourceVersion (default 10000)
   */
  constructor(opts = {}) {
    this.namespaces = new Set(opts.namespaces ?? ['default']);
    this.tokens = opts.tokens ?? {};
    this.rbac = opts.rbac;
    this.rollout = opts.rollout ?? 'complete';
    this.rolloutSteps = opts.rolloutSteps ?? 2;
    /** key → stored object */
    this.objects = new Map();
    /** key → Map(manager → { operation, apiVersion, keys:Set }) */
    this.managers = new Map();
    /** Every request: method, path, query, contentType, user, status. */
    this.requests = [];
    /** Requests refused as no real API server would accept them from a correct client (wrong content type, missing fieldManager, schema): the test fails on any. */
    this.refusals = [];
    this.faults = [];
    this.triggers = [];
    this.rv = 1000;
    this.validate = opts.validate !== false;
    this.tls = opts.tls;
    this.listCache = new Map();
    /** What the garbage collector deleted: `<resource>/<name>`. */
    this.collected = [];
    /** Changes kept for watches from a resourceVersion (the watch cache's window), and the resourceVersion before the oldest. */
    this.events = [];
    this.eventWindow = opts.eventWindow ?? 10_000;
    this.eventsFloor = this.rv;
    this.watchers = new Set();
    this.bookmarkMs = opts.bookmarkMs ?? 60_000;
    /** With it, the modelled Deployment controller also steps every rollout on its own, every so many ms (else only on reads). */
    this.controllerMs = opts.controllerMs;
    /** pod key → its container's log: lines written so far, lines still to come (one every intervalMs while followed), whether it ended */
    this.logs = new Map();
  }

  /**
   * Puts a pod in, as the ReplicaSet controller and the kubelet would have
   * made it (checked against the Pod schema), with its container's log:
   * `lines` written before, `later` written one every `intervalMs` once
   * someone follows it (then the container ends, and so does the follow).
   */
  addPod(pod, log = {}) {
    const r = RESOURCES.find((x) => x.plural === 'pods');
    const causes = schemaCauses(r, { apiVersion: 'v1', kind: 'Pod', ...clone(pod) });
    if (causes.length) throw new Error(`the pod a test put in does not fit the Pod schema: ${JSON.stringify(causes)}`);
    const stored = this.put('pods', { apiVersion: 'v1', kind: 'Pod', ...pod }, 'kube-controller-manager');
    const k = this.key(r, stored.metadata.namespace, stored.metadata.name);
    // The status is the kubelet's (a write keeps none): as it reported it.
    this.objects.get(k).status = clone(pod.status);
    this.logs.set(k, { lines: [...(log.lines ?? [])], later: [...(log.later ?? [])], intervalMs: log.intervalMs ?? 20 });
    return this.public(this.objects.get(k));
  }

  key(r, ns, name) {
    return `${qualified(r)}/${ns}/${name}`;
  }

  /** Runs `fn` (once) when a request matching `match` ({method, path regex}) arrives, before it is answered: to close watches, say. */
  when(match, fn) {
    this.triggers.push({ match, fn });
  }

  /** Answers the next request matching `match` ({method, path regex}) with a modelled Status or a given one. */
  fault(match, answer) {
    this.faults.push({ match, answer });
  }

  /** Puts an object in as if someone else had made it (`manager`, an Update), for seeding and for hand-made changes. */
  put(plural, obj, manager = 'kubectl-client-side-apply') {
    const r = RESOURCES.find((x) => x.plural === plural);
    const ns = obj.metadata.namespace ?? 'default';
    const o = clone(obj);
    o.metadata.namespace = ns;
    const k = this.key(r, ns, o.metadata.name);
    this.finishWrite(r, k, o, this.objects.get(k), manager, 'Update', leaves(o));
    const stored = this.objects.get(k);
    if (r.kind === 'Deployment') {
      // A seeded Deployment has finished its rollout.
      stored.__rollout = { reads: 0, steps: 0 };
      this.control(k, stored, 'complete');
    }
    return this.public(stored);
  }

  /** The stored object (no internal fields), or undefined. */
  get(plural, ns, name) {
    const r = RESOURCES.find((x) => x.plural === plural);
    return this.public(this.objects.get(this.key(r, ns, name)));
  }

  list(plural, ns) {
    const r = RESOURCES.find((x) => x.plural === plural);
    const prefix = `${qualified(r)}/${ns}/`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([, o]) => this.public(o));
  }

  /** The image a Deployment's available pods run (the old one while a rollout is stuck, with maxUnavailable 0). */
  serving(ns, name) {
    return this.objects.get(this.key(byPath.get('apps/v1/deployments'), ns, name))?.__serving;
  }

  /** Changes a stored object as `manager` (an Update, as kubectl edit or an autoscaler does). */
  edit(plural, ns, name, fn, manager = 'kubectl-edit') {
    const r = RESOURCES.find((x) => x.plural === plural);
    const k = this.key(r, ns, name);
    const live = this.objects.get(k);
    const next = clone(this.public(live));
    fn(next);
    const changed = [...leaves(next).entries()].filter(([p, v]) => JSON.stringify(getAt(this.public(live), p)) !== JSON.stringify(v));
    this.finishWrite(r, k, next, live, manager, 'Update', new Map(changed));
  }

  public(o) {
    if (!o) return undefined;
    const { __rollout, __serving, ...rest } = o;
    void __rollout;
    void __serving;
    return clone(rest);
  }

  /** Authentication and RBAC of one request; a refusal as a Status answer, or the user. */
  who(req, verb, resource, ns, name) {
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const user = token !== undefined ? this.tokens[token] : undefined;
    if (!user) return { answer: status('Unauthorized') };
    if (this.rbac && !this.rbac.some((x) => (!x.user || x.user === user) && x.verbs.includes(verb) && x.resources.includes(resource) && (!x.namespaces || x.namespaces.includes(ns)))) {
      const [plural] = resource.split('/');
      return { user, answer: status('Forbidden', { resource: plural, group: '', groupSuffix: '', name: name ?? '', quotedName: name ? ` "${name}"` : '', user, verb, namespace: ns, inGroup: ' in API group ""' }, { message: `${plural}${name ? ` "${name}"` : ''} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "" in the namespace "${ns}"` }) };
    }
    return { user };
  }

  /**
   * GET /api/v1/namespaces/<ns>/pods/<name>/log: the container's output as
   * text/plain, one line each, prefixed with an RFC 3339 time when
   * timestamps=true; tailLines and sinceTime narrow it; follow=true keeps
   * the answer open until the container ends.
   */
  handleLog(req, res, u, ns, name) {
    const query = Object.fromEntries(u.searchParams.entries());
    const entry = { method: req.method.toUpperCase(), path: u.pathname, query, contentType: '', user: undefined, status: 0, body: undefined };
    this.requests.push(entry);
    const send = (out) => {
      entry.status = out.code;
      const text = JSON.stringify(out.body);
      res.writeHead(out.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (entry.method !== 'GET') return send(this.refuse(`${entry.method} ${u.pathname}: method not allowed`, status('MethodNotAllowed')));
    const w = this.who(req, 'get', 'pods/log', ns, name);
    entry.user = w.user;
    if (w.answer) return send(w.answer);
    if (!this.namespaces.has(ns)) return send(status('NamespaceNotFound', { namespace: ns }));
    const r = RESOURCES.find((x) => x.plural === 'pods');
    const k = this.key(r, ns, name);
    const pod = this.objects.get(k);
    if (!pod) return send(status('NotFound', { resource: 'pods', group: '', qualified: 'pods', name, kind: 'pods' }));
    const containers = (pod.spec?.containers ?? []).map((c) => c.name);
    const container = query.container ?? (containers.length === 1 ? containers[0] : undefined);
    if (!container) return send(status('BadRequest', { message: `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]` }));
    if (!containers.includes(container)) return send(status('BadRequest', { message: `container ${container} is not valid for pod ${name}` }));
    const cs = (pod.status?.containerStatuses ?? []).find((c) => c.name === container);
    const waiting = cs?.state?.waiting;
    if (!cs || waiting) return send(status('BadRequest', { message: `container "${container}" in pod "${name}" is waiting to start: ${waiting?.reason ?? 'ContainerCreating'}` }));
    for (const [k2, v] of Object.entries(query)) {
      if (!['container', 'follow', 'tailLines', 'sinceTime', 'sinceSeconds', 'timestamps', 'previous', 'pretty', 'limitBytes'].includes(k2)) return send(this.refuse(`${u.pathname}: unknown query ${k2}=${v}`, status('BadRequest', { message: `unknown parameter ${k2}` })));
    }
    if (query.sinceTime !== undefined && query.sinceSeconds !== undefined) return send(status('BadRequest', { message: 'at most one of sinceTime or sinceSeconds may be specified' }));
    const log = this.logs.get(k) ?? { lines: [], later: [], intervalMs: 20 };
    const since = query.sinceTime !== undefined ? Date.parse(query.sinceTime) : query.sinceSeconds !== undefined ? Date.now() - Number(query.sinceSeconds) * 1000 : undefined;
    if (since !== undefined && Number.isNaN(since)) return send(status('BadRequest', { message: `parsing time "${query.sinceTime}" as RFC 3339 failed` }));
    const fmt = (l) => (query.timestamps === 'true' ? `${l.time} ${l.text}\n` : `${l.text}\n`);
    let lines = log.lines.filter((l) => since === undefined || Date.parse(l.time) >= since);
    if (query.tailLines !== undefined) lines = Number(query.tailLines) > 0 ? lines.slice(-Number(query.tailLines)) : [];
    entry.status = 200;
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    res.write(lines.map(fmt).join(''));
    if (query.follow !== 'true') return res.end();
    // Followed: the container writes its later lines one by one, then ends.
    const timer = setInterval(() => {
      const next = log.later.shift();
      if (!next) {
        clearInterval(timer);
        return res.end();
      }
      const l = { time: new Date().toISOString(), text: next };
      log.lines.push(l);
      res.write(fmt(l));
    }, log.intervalMs);
    res.on('close', () => clearInterval(timer));
  }

  async start() {
    const handler = (req, res) => {
      const logPath = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(new URL(req.url, 'http://x').pathname);
      if (logPath) {
        req.resume();
        req.on('end', () => this.handleLog(req, res, new URL(req.url, 'http://x'), decodeURIComponent(logPath[1]), decodeURIComponent(logPath[2])));
        return;
      }
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        let out;
        try {
          out = this.handle(req, Buffer.concat(chunks).toString('utf8'));
        } catch (e) {
          out = { code: 500, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `modelled API server error: ${e.stack}`, reason: 'InternalError', code: 500 } };
        }
        if (out.watch) {
          this.requests[this.requests.length - 1].status = 200;
          this.openWatch(req, res, out.watch);
          return;
        }
        const text = typeof out.raw === 'string' ? out.raw : JSON.stringify(out.body);
        this.requests[this.requests.length - 1].status = out.code;
        res.writeHead(out.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'audit-id': crypto.randomUUID() });
        res.end(text);
      });
    };
    this.server = this.tls ? require('node:https').createServer({ key: this.tls.key, cert: this.tls.cert }, handler) : http.createServer(handler);
    this.server.keepAliveTimeout = 30_000;
    if (this.controllerMs) {
      this.controller = setInterval(() => {
        for (const [k, o] of this.objects) if (o.kind === 'Deployment') this.control(k, o, this.rollout);
      }, this.controllerMs);
      this.controller.unref();
    }
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  close() {
    clearInterval(this.controller);
    this.closeWatches();
    return new Promise((resolve) => {
      this.server?.closeAllConnections?.();
      this.server ? this.server.close(() => resolve()) : resolve();
    });
  }

  /** Throws when a request was refused in a way a correct client never sees. */
  verify() {
    if (this.refusals.length) throw new Error(`the modelled API server refused requests:\n  ${this.refusals.join('\n  ')}`);
  }

  refuse(what, answer) {
    this.refusals.push(what);
    return answer;
  }

  handle(req, text) {
    const u = new URL(req.url, 'http://x');
    const query = Object.fromEntries(u.searchParams.entries());
    const method = req.method.toUpperCase();
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim();
    const entry = { method, path: u.pathname, query, contentType, user: undefined, status: 0, body: undefined };
    this.requests.push(entry);
    for (let i = 0; i < this.triggers.length; i++) {
      const t = this.triggers[i];
      if ((!t.match.method || t.match.method === method) && (!t.match.path || t.match.path.test(u.pathname))) {
        this.triggers.splice(i--, 1);
        t.fn();
      }
    }
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i];
      if ((!f.match.method || f.match.method === method) && (!f.match.path || f.match.path.test(u.pathname))) {
        this.faults.splice(i, 1);
        return typeof f.answer === 'string' ? status(f.answer, f.vars) : f.answer;
      }
    }
    // Authentication.
    const auth = String(req.headers.authorization ?? '');
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    const user = token !== undefined ? this.tokens[token] : undefined;
    if (!user) return status('Unauthorized');
    entry.user = user;
    // Routing: /api/v1/... or /apis/<group>/<version>/..., then namespaces/<ns>/<plural>[/<name>].
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(u.pathname);
    const r = m && byPath.get(m[1] ? `/v1/${m[5]}` : `${m[2]}/${m[3]}/${m[5]}`);
    if (!r) return this.refuse(`${method} ${u.pathname}: no such resource path`, status('NotFoundPath'));
    const ns = decodeURIComponent(m[4]);
    const name = m[6] ? decodeURIComponent(m[6]) : undefined;
    const verb = name
      ? { GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method]
      : { GET: query.watch === 'true' || query.watch === '1' ? 'watch' : 'list', POST: 'create', DELETE: 'deletecollection' }[method];
    if (!verb) return this.refuse(`${method} ${u.pathname}: method not allowed`, status('MethodNotAllowed'));
    // Authorization (RBAC): a rule allows verbs on resources in namespaces.
    if (this.rbac && !this.rbac.some((x) => (!x.user || x.user === user) && x.verbs.includes(verb) && x.resources.includes(qualified(r)) && (!x.namespaces || x.namespaces.includes(ns)))) {
      return status('Forbidden', { resource: r.plural, group: r.group, groupSuffix: r.group ? `.${r.group}` : '', name: name ?? '', quotedName: name ? ` "${name}"` : '', user, verb, namespace: ns, inGroup: r.group ? ` in API group "${r.group}"` : ' in API group ""' });
    }
    // Only a write that would make an object is refused in a namespace that does not exist (NamespaceLifecycle admission); reads there find nothing.
    const noNamespace = () => status('NamespaceNotFound', { namespace: ns });
    const k = name ? this.key(r, ns, name) : undefined;
    const live = k ? this.objects.get(k) : undefined;
    const notFound = () => status('NotFound', { resource: r.plural, group: r.group, qualified: qualified(r), name, kind: r.plural });

    if (verb === 'watch') return { code: 200, watch: { r, ns, query } };
    if (verb === 'list') return this.listObjects(r, ns, query);
    if (verb === 'get') {
      if (!live) return notFound();
      if (r.kind === 'Deployment') this.control(k, live, this.rollout);
      return { code: 200, body: this.public(this.objects.get(k)) };
    }
    if (verb === 'delete') {
      if (!live) return notFound();
      const policy = query.propagationPolicy ?? 'Background';
      if (!['Background', 'Foreground', 'Orphan'].includes(policy)) return status('BadRequest', { message: `Invalid propagationPolicy: ${policy}` });
      this.remove(k);
      this.collectGarbage(ns, policy === 'Orphan' ? live.metadata.uid : undefined);
      return { code: 200, body: r.workload ? { ...this.public(live), metadata: { ...live.metadata, deletionTimestamp: new Date().toISOString() } } : status('Success', { name, kind: r.plural }).body };
    }
    if (!['application/json', 'application/apply-patch+yaml', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json'].includes(contentType)) {
      return this.refuse(`${method} ${u.pathname}: content type ${contentType}`, status('UnsupportedMediaType', { contentType }));
    }
    let body;
    try {
      body = contentType === 'application/apply-patch+yaml' ? YAML.parse(text) : JSON.parse(text);
    } catch (e) {
      return this.refuse(`${method} ${u.pathname}: body does not parse`, status('BadRequest', { message: `error decoding body: ${e.message}` }));
    }
    entry.body = body;
    if (verb === 'patch') {
      if (contentType !== 'application/apply-patch+yaml') {
        if (query.force !== undefined) return this.refuse(`${u.pathname}: force on a non-apply patch`, status('InvalidPatchOptions', {}, { causes: [{ reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified for non-apply patch', field: 'force' }], message: 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch' }));
        if (!live) return notFound();
        if (contentType === 'application/json-patch+json') return this.refuse(`${u.pathname}: JSON patch is not modelled`, status('UnsupportedMediaType', { contentType }));
        const next = merge(this.public(live), body);
        return this.write(r, k, next, live, query.fieldManager || 'unknown', 'Update', leaves(body), false);
      }
      if (!query.fieldManager) {
        return this.refuse(`${u.pathname}: apply patch without fieldManager`, status('InvalidPatchOptions', {}, { causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }], message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' }));
      }
      const check = this.checkIdentity(r, body, ns, name);
      if (check) return check;
      if (!live && !this.namespaces.has(ns)) return noNamespace();
      return this.applyPatch(r, k, body, live, query.fieldManager, query.force === 'true');
    }
    if (verb === 'create') {
      const check = this.checkIdentity(r, body, ns, body?.metadata?.name);
      if (check) return check;
      if (!this.namespaces.has(ns)) return noNamespace();
      const ck = this.key(r, ns, body.metadata.name);
      if (this.objects.has(ck)) return status('AlreadyExists', { resource: r.plural, group: r.group, qualified: qualified(r), name: body.metadata.name, kind: r.plural });
      return this.write(r, ck, body, undefined, query.fieldManager || 'unknown', 'Update', leaves(body), true);
    }
    if (verb === 'update') {
      const check = this.checkIdentity(r, body, ns, name);
      if (check) return check;
      if (!live) return notFound();
      if (body.metadata?.resourceVersion && body.metadata.resourceVersion !== live.metadata.resourceVersion) {
        return status('ConflictModified', { qualified: qualified(r), name, kindQualified: kindQualified(r), resource: r.plural, kind: r.plural, group: r.group });
      }
      const changed = new Map([...leaves(body).entries()].filter(([p, v]) => JSON.stringify(getAt(this.public(live), p)) !== JSON.stringify(v)));
      return this.write(r, k, body, live, query.fieldManager || 'unknown', 'Update', changed, false);
    }
    return this.refuse(`${method} ${u.pathname}: ${verb} is not modelled`, status('MethodNotAllowed'));
  }

  /** Deletes a stored object: a write of its own (a new resourceVersion), which watchers see as DELETED. */
  remove(k) {
    const o = this.objects.get(k);
    this.objects.delete(k);
    this.managers.delete(k);
    if (!o) return;
    const gone = this.public(o);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit(k, 'DELETED', this.public(o), gone);
  }

  /**
   * The modelled Deployment controller's step for one read: a status it
   * changes is a write of the controller's, with a new resourceVersion and a
   * MODIFIED event, as the real controller's status updates are.
   */
  control(k, d, behaviour) {
    if (!d.__rollout || d.__rollout.done) return;
    const before = JSON.stringify(d.status ?? null);
    const prev = this.public(d);
    advanceRollout(d, behaviour);
    if (JSON.stringify(d.status ?? null) === before) return;
    d.metadata.resourceVersion = String(++this.rv);
    this.emit(k, 'MODIFIED', prev, this.public(d));
  }

  // ---- watch (using-api/api-concepts/#efficient-detection-of-changes)

  /** Records a change and hands it to every watch of that collection whose selector takes it (before or after). */
  emit(k, type, prev, obj) {
    const [q, ns] = k.split('/');
    const ev = { rv: Number(obj.metadata.resourceVersion), type, q, ns, prev, obj };
    this.events.push(ev);
    if (this.events.length > this.eventWindow) this.eventsFloor = this.events.shift().rv;
    for (const w of this.watchers) this.deliver(w, ev);
  }

  /** The event a watch with this selector sees of a change: an object that comes into or goes out of the selector is ADDED or DELETED. */
  eventFor(w, ev) {
    if (qualified(w.r) !== ev.q || w.ns !== ev.ns) return undefined;
    const before = ev.prev !== undefined && selects(w.selector, ev.prev.metadata.labels);
    const after = selects(w.selector, ev.obj.metadata.labels);
    if (ev.type === 'DELETED') return before ? 'DELETED' : undefined;
    if (after) return before ? 'MODIFIED' : 'ADDED';
    return before ? 'DELETED' : undefined;
  }

  deliver(w, ev) {
    const type = this.eventFor(w, ev);
    if (type) w.send({ type, object: ev.obj });
  }

  /**
   * A watch: with no resourceVersion (or "0"), every object as ADDED, then
   * the changes; from a resourceVersion, the changes after it, or, when it is
   * older than the events kept, one ERROR event (410 Expired) and the end, as
   * the watch cache answers. BOOKMARK events (allowWatchBookmarks) every
   * bookmarkMs; the watch ends after timeoutSeconds.
   */
  openWatch(req, res, { r, ns, query }) {
    // The API server sends the headers as soon as the watch is set up, before any event.
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'audit-id': crypto.randomUUID() });
    res.flushHeaders();
    const send = (ev) => res.write(JSON.stringify(ev) + '\n');
    const w = { r, ns, selector: query.labelSelector, send };
    const from = query.resourceVersion;
    if (from && from !== '0' && Number(from) < this.eventsFloor) {
      send({ type: 'ERROR', object: status('Expired', { rv: from, oldest: this.eventsFloor + 1 }).body });
      res.end();
      return;
    }
    if (!from || from === '0') {
      const prefix = `${qualified(r)}/${ns}/`;
      for (const [k, o] of this.objects) if (k.startsWith(prefix) && selects(w.selector, o.metadata.labels)) send({ type: 'ADDED', object: this.public(o) });
    } else {
      for (const ev of this.events) if (ev.rv > Number(from)) this.deliver(w, ev);
    }
    this.watchers.add(w);
    const timers = [];
    const close = () => {
      this.watchers.delete(w);
      for (const t of timers) clearInterval(t);
      res.end();
    };
    w.close = close;
    if (query.allowWatchBookmarks === 'true') timers.push(setInterval(() => send({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(this.rv) } } }), this.bookmarkMs));
    if (query.timeoutSeconds) timers.push(setTimeout(close, Number(query.timeoutSeconds) * 1000));
    // The client going away ends the watch (the response's close: a request's own 'close' comes once its body was read).
    res.on('close', close);
  }

  /** Ends every open watch, as an API server does at its timeouts or on restart. */
  closeWatches() {
    for (const w of [...this.watchers]) w.close();
  }

  /** Forgets the events so far: a watch from any earlier resourceVersion is answered 410 Expired (etcd compaction). */
  compact() {
    this.events = [];
    this.eventsFloor = this.rv;
  }

  /**
   * The garbage collector: an object whose ownerReferences all name uids that
   * no longer exist in its namespace is deleted (and so on, down the chain);
   * with `orphan`, references to that uid are removed instead (propagationPolicy
   * Orphan). The real one works in the background; the model does it at once.
   */
  collectGarbage(ns, orphan) {
    for (let again = true; again; ) {
      again = false;
      const inNs = [...this.objects.entries()].filter(([k]) => k.split('/')[1] === ns);
      const uids = new Set(inNs.map(([, o]) => o.metadata.uid));
      for (const [k, o] of inNs) {
        const refs = o.metadata.ownerReferences ?? [];
        if (!refs.length) continue;
        if (orphan && refs.some((x) => x.uid === orphan)) {
          o.metadata.ownerReferences = refs.filter((x) => x.uid !== orphan);
          if (!o.metadata.ownerReferences.length) delete o.metadata.ownerReferences;
          const prev = this.public(o);
          o.metadata.resourceVersion = String(++this.rv);
          this.emit(k, 'MODIFIED', prev, this.public(o));
          continue;
        }
        if (refs.every((x) => !uids.has(x.uid))) {
          this.remove(k);
          this.collected.push(`${k.split('/')[0]}/${o.metadata.name}`);
          again = true;
        }
      }
    }
  }

  checkIdentity(r, body, ns, name) {
    if (!isObj(body)) return status('BadRequest', { message: 'the body is not an object' });
    if (body.apiVersion !== apiVersionOf(r) || body.kind !== r.kind) {
      return this.refuse(`${r.kind} ${name}: body is ${body.apiVersion} ${body.kind}`, status('BadRequest', { message: `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(r)})` }));
    }
    if (body.metadata?.name !== name) return this.refuse(`${r.kind} ${name}: body names ${body.metadata?.name}`, status('BadRequest', { message: `the name of the object (${body.metadata?.name}) does not match the name on the URL (${name})` }));
    if (body.metadata?.namespace !== undefined && body.metadata.namespace !== ns) return status('BadRequest', { message: 'the namespace of the provided object does not match the namespace sent on the request' });
    return undefined;
  }

  listObjects(r, ns, query) {
    const prefix = `${qualified(r)}/${ns}/`;
    const all = [...this.objects.entries()].filter(([k, o]) => k.startsWith(prefix) && selects(query.labelSelector, o.metadata.labels)).map(([, o]) => o);
    if (r.kind === 'Deployment') for (const d of all) this.control(this.key(r, ns, d.metadata.name), d, this.rollout);
    all.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    let start = 0;
    if (query.continue) {
      try {
        start = JSON.parse(Buffer.from(query.continue, 'base64').toString('utf8')).start;
      } catch {
        return status('BadRequest', { message: 'continue key is not valid' });
      }
    }
    const limit = query.limit ? Number(query.limit) : 0;
    const items = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
    const next = limit > 0 && start + limit < all.length ? Buffer.from(JSON.stringify({ start: start + limit, rv: this.rv })).toString('base64') : undefined;
    const metadata = { resourceVersion: String(this.rv), ...(next ? { continue: next, remainingItemCount: all.length - start - limit } : {}) };
    // Items of a typed list carry no apiVersion and kind of their own. Each item's serialization is kept until it changes, as the API server's watch cache keeps them.
    const text = items.map((o) => {
      const key = `${o.metadata.resourceVersion}/${JSON.stringify(o.status ?? null)}`;
      const hit = this.listCache.get(o.metadata.uid);
      if (hit && hit.key === key) return hit.text;
      const { apiVersion, kind, ...rest } = this.public(o);
      void apiVersion;
      void kind;
      const t = JSON.stringify(rest);
      this.listCache.set(o.metadata.uid, { key, text: t });
      return t;
    });
    return { code: 200, raw: `{"kind":"${r.kind}List","apiVersion":"${apiVersionOf(r)}","metadata":${JSON.stringify(metadata)},"items":[${text.join(',')}]}` };
  }

  /** Server-side apply: conflicts with other managers' fields unless forced, fields this manager dropped removed, the rest merged. */
  applyPatch(r, k, applied, live, manager, force) {
    const mine = leaves(applied);
    const owners = this.managers.get(k) ?? new Map();
    const conflicts = [];
    if (live) {
      const current = this.public(live);
      for (const [p, v] of mine) {
        const have = getAt(current, p);
        if (have === undefined || JSON.stringify(have) === JSON.stringify(v)) continue;
        for (const [other, rec] of owners) if (other !== manager && rec.keys.has(p)) conflicts.push({ manager: other, apiVersion: rec.apiVersion, path: p });
      }
    }
    if (conflicts.length && !force) {
      const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: printPath(c.path) }));
      const message = `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${causes.map((c) => `${c.message}: ${c.field}`).join('\n')}`;
      return status('ApplyConflict', {}, { causes, message });
    }
    let next = live ? this.public(live) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: { name: applied.metadata.name, namespace: applied.metadata.namespace } };
    const before = owners.get(manager)?.keys ?? new Set();
    for (const p of before) {
      if (mine.has(p)) continue;
      const sharedWith = [...owners.entries()].some(([o, rec]) => o !== manager && rec.keys.has(p));
      if (!sharedWith) removeAt(next, p);
    }
    next = merge(next, applied);
    if (force) for (const c of conflicts) owners.get(c.manager)?.keys.delete(c.path);
    return this.write(r, k, next, live, manager, 'Apply', mine, !live, true);
  }

  write(r, k, obj, live, manager, operation, keys, created, replaceKeys = false) {
    if (this.validate) {
      const probe = clone(obj);
      delete probe.status;
      const causes = [...schemaCauses(r, probe), ...semanticCauses(r, probe)];
      if (causes.length) {
        const message = `${kindQualified(r)} "${obj.metadata?.name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`;
        return this.refuse(`${r.kind} ${obj.metadata?.name}: ${message}`, status('Invalid', { kindQualified: kindQualified(r), name: obj.metadata?.name, kind: r.kind, group: r.group }, { causes, message }));
      }
    }
    this.finishWrite(r, k, obj, live, manager, operation, keys, replaceKeys);
    return { code: created ? 201 : 200, body: this.public(this.objects.get(k)) };
  }

  finishWrite(r, k, obj, live, manager, operation, keys, replaceKeys = false) {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const o = clone(obj);
    delete o.status;
    o.apiVersion = apiVersionOf(r);
    o.kind = r.kind;
    const meta = o.metadata;
    meta.namespace = k.split('/')[1];
    const ipFor = (name) => `10.96.${parseInt(crypto.createHash('sha256').update(name).digest('hex').slice(0, 2), 16)}.${(this.rv % 250) + 2}`;
    applyDefaults(r, o, ipFor);
    meta.uid = live?.metadata.uid ?? crypto.randomUUID();
    meta.creationTimestamp = live?.metadata.creationTimestamp ?? now;
    meta.resourceVersion = String(++this.rv);
    const specChanged = !live || JSON.stringify(live.spec) !== JSON.stringify(o.spec) || JSON.stringify(live.jobTemplate) !== JSON.stringify(o.jobTemplate);
    if (r.workload) meta.generation = (live?.metadata.generation ?? 0) + (specChanged ? 1 : 0);
    const owners = this.managers.get(k) ?? new Map();
    const rec = owners.get(manager) ?? { operation, apiVersion: apiVersionOf(r), keys: new Set() };
    rec.operation = operation;
    if (replaceKeys) rec.keys = new Set(keys.keys());
    else for (const p of keys.keys()) rec.keys.add(p);
    // Fields one manager changes in an Update are no longer another's.
    if (operation === 'Update') for (const [other, x] of owners) if (other !== manager) for (const p of keys.keys()) x.keys.delete(p);
    owners.set(manager, rec);
    for (const [m, x] of owners) if (!x.keys.size) owners.delete(m);
    this.managers.set(k, owners);
    meta.managedFields = [...owners.entries()].map(([m, x]) => ({ manager: m, operation: x.operation, apiVersion: x.apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: fieldsV1(x.keys) }));
    if (r.kind === 'Deployment') {
      o.status = live?.status ?? {};
      o.__serving = live?.__serving;
      o.__rollout = specChanged ? { reads: 0, steps: this.rolloutSteps, old: live?.__serving } : live?.__rollout;
      if (!live) o.__serving = undefined;
    }
    if (r.kind === 'Service') o.status = { loadBalancer: {} };
    this.objects.set(k, o);
    this.emit(k, live ? 'MODIFIED' : 'ADDED', live ? this.public(live) : undefined, this.public(o));
    // An object written with owners that are all gone is collected, as the garbage collector does.
    if (o.metadata.ownerReferences?.length) this.collectGarbage(meta.namespace);
  }
}

module.exports = { KubeApiServer, RESOURCES, MODELLED };
