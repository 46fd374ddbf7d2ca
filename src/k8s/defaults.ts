// Built-in defaulting, applied to every decoded object before admission and
// validation, as the apiserver applies its defaulters while decoding. Only
// defaults people see in `kubectl get -o yaml` or that later layers rely on.
// A defaulter writes only what is missing or different, so an object that
// was defaulted when stored can be defaulted again without a write (a status
// write keeps the stored, frozen spec).

import { storageKey, type ResourceInfo } from './resources.js';
import { isPlainObject, type JsonObject } from './json.js';

function obj(parent: JsonObject, field: string): JsonObject {
  const v = parent[field];
  if (isPlainObject(v)) return v;
  const fresh: JsonObject = {};
  parent[field] = fresh;
  return fresh;
}

function list(parent: JsonObject, field: string): JsonObject[] {
  const v = parent[field];
  return Array.isArray(v) ? v.filter(isPlainObject) : [];
}

function setDefault(o: JsonObject, field: string, value: unknown): void {
  if (o[field] === undefined || o[field] === '') o[field] = value;
}

/** Image pull policy: Always for `:latest` or untagged images, IfNotPresent otherwise. */
function pullPolicyFor(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  const lastPart = image.split('@')[0]!.split('/').pop() ?? '';
  const tag = lastPart.includes(':') ? lastPart.split(':').pop() : undefined;
  return image.includes('@') ? 'IfNotPresent' : tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: unknown): void {
  if (!isPlainObject(p)) return;
  setDefault(p, 'timeoutSeconds', 1);
  setDefault(p, 'periodSeconds', 10);
  setDefault(p, 'successThreshold', 1);
  setDefault(p, 'failureThreshold', 3);
  if (isPlainObject(p['httpGet'])) {
    setDefault(p['httpGet'], 'path', '/');
    setDefault(p['httpGet'], 'scheme', 'HTTP');
  }
}

function defaultContainer(c: JsonObject, hostNetwork: boolean): void {
  setDefault(c, 'imagePullPolicy', pullPolicyFor(c['image']));
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  if (c['resources'] === undefined) c['resources'] = {};
  for (const p of list(c, 'ports')) {
    setDefault(p, 'protocol', 'TCP');
    // On the host network the container port is the host port.
    if (hostNetwork && p['hostPort'] === undefined && typeof p['containerPort'] === 'number') p['hostPort'] = p['containerPort'];
  }
  defaultProbe(c['livenessProbe']);
  defaultProbe(c['readinessProbe']);
  defaultProbe(c['startupProbe']);
}

export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'enableServiceLinks', true);
  if (spec['securityContext'] === undefined) spec['securityContext'] = {};
  // The ServiceAccount admission plugin names the default account, and the deprecated alias mirrors it.
  setDefault(spec, 'serviceAccountName', typeof spec['serviceAccount'] === 'string' && spec['serviceAccount'] ? spec['serviceAccount'] : 'default');
  if (spec['serviceAccount'] !== spec['serviceAccountName']) spec['serviceAccount'] = spec['serviceAccountName'];
  const hostNetwork = spec['hostNetwork'] === true;
  for (const c of [...list(spec, 'initContainers'), ...list(spec, 'containers')]) defaultContainer(c, hostNetwork);
}

function defaultPodTemplate(spec: JsonObject): void {
  const template = obj(spec, 'template');
  defaultPodSpec(obj(template, 'spec'));
}

function qosClass(spec: JsonObject): string {
  const containers = [...list(spec, 'initContainers'), ...list(spec, 'containers')];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const res = isPlainObject(c['resources']) ? c['resources'] : {};
    const limits = isPlainObject(res['limits']) ? res['limits'] : {};
    const requests = isPlainObject(res['requests']) ? res['requests'] : {};
    if (Object.keys(limits).length || Object.keys(requests).length) any = true;
    for (const r of ['cpu', 'memory']) {
      const limit = limits[r];
      const request = requests[r] ?? limit;
      if (limit === undefined || String(request) !== String(limit)) guaranteed = false;
    }
  }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable';
}

function rollingUpdateDefaults(strategyHolder: JsonObject, field: string, surge: unknown, unavailable: unknown): void {
  const strategy = obj(strategyHolder, field);
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy['type'] === 'RollingUpdate') {
    const ru = obj(strategy, 'rollingUpdate');
    setDefault(ru, 'maxUnavailable', unavailable);
    setDefault(ru, 'maxSurge', surge);
  }
}

type Defaulter = (o: JsonObject) => void;

const DEFAULTERS: Record<string, Defaulter> = {
  '/namespaces': (o) => {
    const meta = obj(o, 'metadata');
    // The apiserver labels every namespace with its own name so selectors can pick namespaces.
    if (typeof meta['name'] === 'string' && (meta['labels'] as JsonObject | undefined)?.['kubernetes.io/metadata.name'] !== meta['name']) {
      obj(meta, 'labels')['kubernetes.io/metadata.name'] = meta['name'];
    }
    const spec = obj(o, 'spec');
    if (spec['finalizers'] === undefined) spec['finalizers'] = ['kubernetes'];
    setDefault(obj(o, 'status'), 'phase', 'Active');
  },
  '/pods': (o) => {
    const spec = obj(o, 'spec');
    defaultPodSpec(spec);
    const status = obj(o, 'status');
    setDefault(status, 'phase', 'Pending');
    setDefault(status, 'qosClass', qosClass(spec));
  },
  '/services': (o) => {
    const spec = obj(o, 'spec');
    setDefault(spec, 'type', 'ClusterIP');
    setDefault(spec, 'sessionAffinity', 'None');
    if (spec['type'] !== 'ExternalName') setDefault(spec, 'internalTrafficPolicy', 'Cluster');
    if (spec['type'] === 'NodePort' || spec['type'] === 'LoadBalancer') setDefault(spec, 'externalTrafficPolicy', 'Cluster');
    for (const p of list(spec, 'ports')) {
      setDefault(p, 'protocol', 'TCP');
      if (p['targetPort'] === undefined || p['targetPort'] === 0 || p['targetPort'] === '') p['targetPort'] = p['port'];
    }
  },
  'apps/deployments': (o) => {
    const spec = obj(o, 'spec');
    setDefault(spec, 'replicas', 1);
    rollingUpdateDefaults(spec, 'strategy', '25%', '25%');
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    defaultPodTemplate(spec);
  },
  'apps/replicasets': (o) => {
    const spec = obj(o, 'spec');
    setDefault(spec, 'replicas', 1);
    defaultPodTemplate(spec);
  },
  'apps/daemonsets': (o) => {
    const spec = obj(o, 'spec');
    rollingUpdateDefaults(spec, 'updateStrategy', 0, 1);
    setDefault(spec, 'revisionHistoryLimit', 10);
    defaultPodTemplate(spec);
  },
  '/endpoints': (o) => {
    for (const ss of list(o, 'subsets')) for (const p of list(ss, 'ports')) setDefault(p, 'protocol', 'TCP');
  },
  'discovery.k8s.io/endpointslices': (o) => {
    for (const p of list(o, 'ports')) setDefault(p, 'protocol', 'TCP');
  },
};

/** Fill defaults in place. Unknown kinds are left as they are. */
export function applyDefaults(resource: ResourceInfo, o: JsonObject): void {
  DEFAULTERS[storageKey(resource)]?.(o);
}
