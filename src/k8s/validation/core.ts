// Core-group kinds (and EndpointSlice): schemas and semantic checks.

import { z } from 'zod';
import { bool, condition, int32, opaqueArray, opaqueObject, quantityMap, str, stringList, stringMap, time, typeMeta } from './common.js';
import {
  childPath,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  fieldTooLong,
  fieldTooMany,
  indexPath,
  keyPath,
  type FieldError,
} from './field.js';
import { objectMetaSchema, validateLabels } from './meta.js';
import {
  checkCidr,
  checkConfigMapKey,
  checkDns1123Label,
  checkDns1123Subdomain,
  checkIp,
  checkIpOfFamily,
  checkPortName,
  checkPortNumber,
  checkQualifiedName,
} from './names.js';
import { podSpecSchema, podStatusSchema, validatePodSpec, validatePodStatus } from './pod.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function invalidAll(path: string, value: unknown, problems: string[]): FieldError[] {
  return problems.map((p) => fieldInvalid(path, value, p));
}

// ---- Namespace --------------------------------------------------------------

export const namespaceSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: z.strictObject({ finalizers: stringList.optional() }).optional(),
  status: z.strictObject({ phase: str.optional(), conditions: z.array(condition).optional() }).optional(),
});
export type Namespace = z.infer<typeof namespaceSchema>;

export function validateNamespace(ns: Namespace): FieldError[] {
  const phase = ns.status?.phase;
  if (phase !== undefined && phase !== 'Active' && phase !== 'Terminating') {
    return [fieldNotSupported('status.phase', phase, ['Active', 'Terminating'])];
  }
  return [];
}

// ---- Node -------------------------------------------------------------------

const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
const NODE_ADDRESS_TYPES = ['ExternalDNS', 'ExternalIP', 'Hostname', 'InternalDNS', 'InternalIP'];

export const nodeSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: z
    .strictObject({
      podCIDR: str.optional(),
      podCIDRs: stringList.optional(),
      providerID: str.optional(),
      unschedulable: bool.optional(),
      taints: z
        .array(z.strictObject({ key: str.optional(), value: str.optional(), effect: str.optional(), timeAdded: time.optional() }))
        .optional(),
      configSource: opaqueObject.optional(),
      externalID: str.optional(),
    })
    .optional(),
  status: z
    .strictObject({
      capacity: quantityMap.optional(),
      allocatable: quantityMap.optional(),
      phase: str.optional(),
      conditions: z.array(condition).optional(),
      addresses: z.array(z.strictObject({ type: str.optional(), address: str.optional() })).optional(),
      daemonEndpoints: z.strictObject({ kubeletEndpoint: z.strictObject({ Port: int32.optional() }).optional() }).optional(),
      nodeInfo: stringMap.optional(),
      images: opaqueArray.optional(),
      volumesInUse: stringList.optional(),
      volumesAttached: opaqueArray.optional(),
      config: opaqueObject.optional(),
      runtimeHandlers: opaqueArray.optional(),
      features: opaqueObject.optional(),
    })
    .optional(),
});
export type Node = z.infer<typeof nodeSchema>;

export function validateNode(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  const spec = node.spec ?? {};
  if (spec.podCIDR) errs.push(...invalidAll('spec.podCIDR', spec.podCIDR, checkCidr(spec.podCIDR)));
  (spec.podCIDRs ?? []).forEach((c, i) => errs.push(...invalidAll(indexPath('spec.podCIDRs', i), c, checkCidr(c))));
  const taintKeys = new Set<string>();
  (spec.taints ?? []).forEach((t, i) => {
    const tp = indexPath('spec.taints', i);
    if (!t.key) errs.push(fieldRequired(childPath(tp, 'key')));
    else errs.push(...invalidAll(childPath(tp, 'key'), t.key, checkQualifiedName(t.key)));
    if (!t.effect) errs.push(fieldRequired(childPath(tp, 'effect')));
    else if (!TAINT_EFFECTS.includes(t.effect)) errs.push(fieldNotSupported(childPath(tp, 'effect'), t.effect, TAINT_EFFECTS));
    const id = `${t.key ?? ''}:${t.effect ?? ''}`;
    if (taintKeys.has(id)) errs.push(fieldDuplicate(tp, { key: t.key, effect: t.effect }));
    taintKeys.add(id);
  });
  (node.status?.addresses ?? []).forEach((a, i) => {
    const ap = indexPath('status.addresses', i);
    if (!a.type || !NODE_ADDRESS_TYPES.includes(a.type)) errs.push(fieldNotSupported(childPath(ap, 'type'), a.type ?? '', NODE_ADDRESS_TYPES));
    if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && a.address !== undefined) {
      errs.push(...invalidAll(childPath(ap, 'address'), a.address, checkIp(a.address)));
    }
  });
  return errs;
}

// ---- Pod --------------------------------------------------------------------

export const podSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: podSpecSchema.optional(),
  status: podStatusSchema.optional(),
});
export type Pod = z.infer<typeof podSchema>;

export function validatePod(pod: Pod): FieldError[] {
  return [...validatePodSpec(pod.spec, 'spec'), ...validatePodStatus(pod.status, 'status')];
}

// ---- Service ----------------------------------------------------------------

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];

export const servicePortSchema = z.strictObject({
  name: str.optional(),
  protocol: str.optional(),
  appProtocol: str.optional(),
  port: int32.optional(),
  targetPort: z.union([int32, str]).optional(),
  nodePort: int32.optional(),
});

export const serviceSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: z
    .strictObject({
      ports: z.array(servicePortSchema).optional(),
      selector: stringMap.optional(),
      clusterIP: str.optional(),
      clusterIPs: stringList.optional(),
      type: str.optional(),
      externalIPs: stringList.optional(),
      sessionAffinity: str.optional(),
      sessionAffinityConfig: z
        .strictObject({ clientIP: z.strictObject({ timeoutSeconds: int32.optional() }).optional() })
        .optional(),
      loadBalancerIP: str.optional(),
      loadBalancerSourceRanges: stringList.optional(),
      externalName: str.optional(),
      externalTrafficPolicy: str.optional(),
      healthCheckNodePort: int32.optional(),
      publishNotReadyAddresses: bool.optional(),
      ipFamilies: stringList.optional(),
      ipFamilyPolicy: str.optional(),
      allocateLoadBalancerNodePorts: bool.optional(),
      loadBalancerClass: str.optional(),
      internalTrafficPolicy: str.optional(),
      trafficDistribution: str.optional(),
    })
    .optional(),
  status: z
    .strictObject({
      loadBalancer: z
        .strictObject({
          ingress: z
            .array(z.strictObject({ ip: str.optional(), hostname: str.optional(), ipMode: str.optional(), ports: opaqueArray.optional() }))
            .optional(),
        })
        .optional(),
      conditions: z.array(condition).optional(),
    })
    .optional(),
});
export type Service = z.infer<typeof serviceSchema>;
export type ServicePort = z.infer<typeof servicePortSchema>;

export function validateService(svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errs.push(fieldNotSupported('spec.type', type, SERVICE_TYPES));
  const headless = spec.clusterIP === 'None';
  const ports = spec.ports ?? [];

  if (type === 'ExternalName') {
    if (!spec.externalName) errs.push(fieldRequired('spec.externalName'));
    else errs.push(...invalidAll('spec.externalName', spec.externalName, checkDns1123Subdomain(spec.externalName)));
    if (spec.clusterIP && spec.clusterIP !== '') {
      errs.push(fieldForbidden('spec.clusterIP', 'may not be set for ExternalName services'));
    }
  } else if (ports.length === 0 && !headless) {
    errs.push(fieldRequired('spec.ports'));
  }

  if (spec.clusterIP && !headless) errs.push(...invalidAll('spec.clusterIP', spec.clusterIP, checkIp(spec.clusterIP)));
  (spec.clusterIPs ?? []).forEach((ip, i) => {
    if (ip !== 'None') errs.push(...invalidAll(indexPath('spec.clusterIPs', i), ip, checkIp(ip)));
  });
  if (spec.clusterIP && spec.clusterIPs?.length && spec.clusterIPs[0] !== spec.clusterIP) {
    errs.push(fieldInvalid('spec.clusterIPs', spec.clusterIPs, 'first value must match `clusterIP`'));
  }

  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const pp = indexPath('spec.ports', i);
    if (p.name === undefined || p.name === '') {
      if (ports.length > 1) errs.push(fieldRequired(childPath(pp, 'name')));
    } else {
      errs.push(...invalidAll(childPath(pp, 'name'), p.name, checkDns1123Label(p.name)));
      if (names.has(p.name)) errs.push(fieldDuplicate(childPath(pp, 'name'), p.name));
      names.add(p.name);
    }
    if (p.port === undefined) errs.push(fieldRequired(childPath(pp, 'port')));
    else errs.push(...invalidAll(childPath(pp, 'port'), p.port, checkPortNumber(p.port)));
    const protocol = p.protocol ?? '';
    if (protocol === '') errs.push(fieldRequired(childPath(pp, 'protocol')));
    else if (!PROTOCOLS.includes(protocol)) errs.push(fieldNotSupported(childPath(pp, 'protocol'), protocol, PROTOCOLS));
    if (typeof p.targetPort === 'number') {
      if (p.targetPort !== 0) errs.push(...invalidAll(childPath(pp, 'targetPort'), p.targetPort, checkPortNumber(p.targetPort)));
    } else if (p.targetPort !== undefined && p.targetPort !== '') {
      errs.push(...invalidAll(childPath(pp, 'targetPort'), p.targetPort, checkPortName(p.targetPort)));
    }
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type === 'ClusterIP' || type === 'ExternalName') {
        errs.push(fieldForbidden(childPath(pp, 'nodePort'), `may not be used when \`type\` is '${type}'`));
      } else {
        errs.push(...invalidAll(childPath(pp, 'nodePort'), p.nodePort, checkPortNumber(p.nodePort)));
      }
    }
    const id = `${p.port}/${protocol}`;
    if (seen.has(id)) errs.push(fieldDuplicate(pp, { port: p.port, protocol }));
    seen.add(id);
  });

  errs.push(...validateLabels(spec.selector, 'spec.selector'));
  if (spec.sessionAffinity !== undefined && spec.sessionAffinity !== 'None' && spec.sessionAffinity !== 'ClientIP') {
    errs.push(fieldNotSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
  }
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (timeout !== undefined && (timeout <= 0 || timeout > 86400)) {
    errs.push(fieldInvalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, 'must be greater than 0 and less than 86400'));
  }
  (spec.externalIPs ?? []).forEach((ip, i) => errs.push(...invalidAll(indexPath('spec.externalIPs', i), ip, checkIp(ip))));
  (spec.loadBalancerSourceRanges ?? []).forEach((c, i) =>
    errs.push(...invalidAll(indexPath('spec.loadBalancerSourceRanges', i), c, checkCidr(c))),
  );
  if (spec.loadBalancerIP) errs.push(...invalidAll('spec.loadBalancerIP', spec.loadBalancerIP, checkIp(spec.loadBalancerIP)));
  for (const f of ['externalTrafficPolicy', 'internalTrafficPolicy'] as const) {
    const v = spec[f];
    if (v !== undefined && !TRAFFIC_POLICIES.includes(v)) errs.push(fieldNotSupported(`spec.${f}`, v, TRAFFIC_POLICIES));
  }
  if (spec.externalTrafficPolicy === 'Local' && type !== 'NodePort' && type !== 'LoadBalancer') {
    errs.push(fieldInvalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set when `type` is \'NodePort\' or \'LoadBalancer\''));
  }
  (svc.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
    if (ing.ip) errs.push(...invalidAll(childPath(indexPath('status.loadBalancer.ingress', i), 'ip'), ing.ip, checkIp(ing.ip)));
  });
  return errs;
}

export function validateServiceUpdate(svc: Service, old: Service): FieldError[] {
  const oldIp = old.spec?.clusterIP;
  const newIp = svc.spec?.clusterIP;
  const switchingToOrFromExternalName = (svc.spec?.type === 'ExternalName') !== (old.spec?.type === 'ExternalName');
  if (oldIp && newIp !== oldIp && !switchingToOrFromExternalName) {
    return [fieldInvalid('spec.clusterIP', newIp ?? '', 'field is immutable')];
  }
  return [];
}

// ---- ConfigMap --------------------------------------------------------------

const CONFIGMAP_MAX_BYTES = 1024 * 1024;

export const configMapSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  data: stringMap.optional(),
  binaryData: stringMap.optional(),
  immutable: bool.optional(),
});
export type ConfigMap = z.infer<typeof configMapSchema>;

export function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(cm.data ?? {})) {
    errs.push(...invalidAll(keyPath('data', k), k, checkConfigMapKey(k)));
    if (cm.binaryData && k in cm.binaryData) errs.push(fieldInvalid(keyPath('data', k), k, 'duplicate of key present in binaryData'));
    size += Buffer.byteLength(v);
  }
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) {
    errs.push(...invalidAll(keyPath('binaryData', k), k, checkConfigMapKey(k)));
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errs.push(fieldInvalid(keyPath('binaryData', k), '<binary>', 'must be base64-encoded'));
    size += Math.floor((v.length * 3) / 4);
  }
  if (size > CONFIGMAP_MAX_BYTES) errs.push(fieldTooLong('', CONFIGMAP_MAX_BYTES));
  return errs;
}

export function validateConfigMapUpdate(cm: ConfigMap, old: ConfigMap): FieldError[] {
  if (!old.immutable) return [];
  const errs: FieldError[] = [];
  if (!cm.immutable) errs.push(fieldForbidden('immutable', 'field is immutable when `immutable` is set'));
  if (JSON.stringify(cm.data ?? {}) !== JSON.stringify(old.data ?? {})) {
    errs.push(fieldForbidden('data', 'field is immutable when `immutable` is set'));
  }
  if (JSON.stringify(cm.binaryData ?? {}) !== JSON.stringify(old.binaryData ?? {})) {
    errs.push(fieldForbidden('binaryData', 'field is immutable when `immutable` is set'));
  }
  return errs;
}

// ---- ServiceAccount ---------------------------------------------------------

const objectReference = z.strictObject({
  kind: str.optional(),
  namespace: str.optional(),
  name: str.optional(),
  uid: str.optional(),
  apiVersion: str.optional(),
  resourceVersion: str.optional(),
  fieldPath: str.optional(),
});

export const serviceAccountSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  secrets: z.array(objectReference).optional(),
  imagePullSecrets: z.array(z.strictObject({ name: str.optional() })).optional(),
  automountServiceAccountToken: bool.optional(),
});
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

// ---- Event (core/v1) --------------------------------------------------------

export const eventSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  involvedObject: objectReference.optional(),
  reason: str.optional(),
  message: str.optional(),
  source: z.strictObject({ component: str.optional(), host: str.optional() }).optional(),
  firstTimestamp: time.optional(),
  lastTimestamp: time.optional(),
  count: int32.optional(),
  type: str.optional(),
  eventTime: time.optional(),
  series: z.strictObject({ count: int32.optional(), lastObservedTime: time.optional() }).optional(),
  action: str.optional(),
  related: objectReference.optional(),
  reportingComponent: str.optional(),
  reportingInstance: str.optional(),
});
export type Event = z.infer<typeof eventSchema>;

export function validateEvent(ev: Event): FieldError[] {
  const errs: FieldError[] = [];
  if (ev.type !== undefined && ev.type !== 'Normal' && ev.type !== 'Warning') {
    errs.push(fieldNotSupported('type', ev.type, ['Normal', 'Warning']));
  }
  const ns = ev.involvedObject?.namespace;
  if (ns && ev.metadata?.namespace && ns !== ev.metadata.namespace) {
    errs.push(fieldInvalid('involvedObject.namespace', ns, 'does not match event.namespace'));
  }
  return errs;
}

// ---- Endpoints (v1): the endpoints controller's view of a Service -----------

const endpointAddress = z.strictObject({ ip: str.optional(), hostname: str.optional(), nodeName: str.optional(), targetRef: objectReference.optional() });

export const endpointsSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  subsets: z
    .array(
      z.strictObject({
        addresses: z.array(endpointAddress).optional(),
        notReadyAddresses: z.array(endpointAddress).optional(),
        ports: z.array(z.strictObject({ name: str.optional(), port: int32.optional(), protocol: str.optional(), appProtocol: str.optional() })).optional(),
      }),
    )
    .optional(),
});
export type Endpoints = z.infer<typeof endpointsSchema>;

export function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  (ep.subsets ?? []).forEach((ss, i) => {
    const sp = indexPath('subsets', i);
    for (const key of ['addresses', 'notReadyAddresses'] as const) {
      (ss[key] ?? []).forEach((a, j) => {
        const ap = indexPath(childPath(sp, key), j);
        if (!a.ip) errs.push(fieldRequired(childPath(ap, 'ip')));
        else errs.push(...invalidAll(childPath(ap, 'ip'), a.ip, checkIp(a.ip)));
        if (a.hostname) errs.push(...invalidAll(childPath(ap, 'hostname'), a.hostname, checkDns1123Label(a.hostname)));
        if (a.nodeName) errs.push(...invalidAll(childPath(ap, 'nodeName'), a.nodeName, checkDns1123Subdomain(a.nodeName)));
      });
    }
    const ports = ss.ports ?? [];
    ports.forEach((p, j) => {
      const pp = indexPath(childPath(sp, 'ports'), j);
      // A name is needed to tell ports apart only when there are several.
      if (ports.length > 1 || p.name) {
        if (!p.name) errs.push(fieldRequired(childPath(pp, 'name')));
        else errs.push(...invalidAll(childPath(pp, 'name'), p.name, checkDns1123Label(p.name)));
      }
      if (p.port === undefined) errs.push(fieldRequired(childPath(pp, 'port')));
      else errs.push(...invalidAll(childPath(pp, 'port'), p.port, checkPortNumber(p.port)));
      if (p.protocol === undefined) errs.push(fieldRequired(childPath(pp, 'protocol')));
      else if (!PROTOCOLS.includes(p.protocol)) errs.push(fieldNotSupported(childPath(pp, 'protocol'), p.protocol, PROTOCOLS));
    });
  });
  return errs;
}

// ---- EndpointSlice (discovery.k8s.io/v1) ------------------------------------

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

export const endpointSliceSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  addressType: str.optional(),
  endpoints: z
    .array(
      z.strictObject({
        addresses: stringList.optional(),
        conditions: z.strictObject({ ready: bool.optional(), serving: bool.optional(), terminating: bool.optional() }).optional(),
        hostname: str.optional(),
        targetRef: objectReference.optional(),
        nodeName: str.optional(),
        zone: str.optional(),
        hints: opaqueObject.optional(),
        deprecatedTopology: stringMap.optional(),
      }),
    )
    .optional(),
  ports: z
    .array(z.strictObject({ name: str.optional(), protocol: str.optional(), port: int32.optional(), appProtocol: str.optional() }))
    .optional(),
});
export type EndpointSlice = z.infer<typeof endpointSliceSchema>;

export function validateEndpointSlice(slice: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  const addressType = slice.addressType ?? '';
  if (addressType === '') errs.push(fieldRequired('addressType'));
  else if (!ADDRESS_TYPES.includes(addressType)) errs.push(fieldNotSupported('addressType', addressType, ADDRESS_TYPES));
  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > 1000) errs.push(fieldTooMany('endpoints', endpoints.length, 1000));
  endpoints.forEach((ep, i) => {
    const ep_ = indexPath('endpoints', i);
    const addrs = ep.addresses ?? [];
    if (addrs.length === 0) errs.push(fieldRequired(childPath(ep_, 'addresses'), 'must contain at least 1 address'));
    if (addrs.length > 100) errs.push(fieldTooMany(childPath(ep_, 'addresses'), addrs.length, 100));
    addrs.forEach((a, j) => {
      const ap = indexPath(childPath(ep_, 'addresses'), j);
      if (addressType === 'IPv4' || addressType === 'IPv6') errs.push(...invalidAll(ap, a, checkIpOfFamily(a, addressType)));
      else if (addressType === 'FQDN') errs.push(...invalidAll(ap, a, checkDns1123Subdomain(a)));
    });
    if (ep.hostname) errs.push(...invalidAll(childPath(ep_, 'hostname'), ep.hostname, checkDns1123Label(ep.hostname)));
    if (ep.nodeName) errs.push(...invalidAll(childPath(ep_, 'nodeName'), ep.nodeName, checkDns1123Subdomain(ep.nodeName)));
  });
  const names = new Set<string>();
  (slice.ports ?? []).forEach((p, i) => {
    const pp = indexPath('ports', i);
    const name = p.name ?? '';
    if (name !== '') errs.push(...invalidAll(childPath(pp, 'name'), name, checkDns1123Label(name)));
    if (names.has(name)) errs.push(fieldDuplicate(childPath(pp, 'name'), name));
    names.add(name);
    if (p.port !== undefined) errs.push(...invalidAll(childPath(pp, 'port'), p.port, checkPortNumber(p.port)));
    if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) errs.push(fieldNotSupported(childPath(pp, 'protocol'), p.protocol, PROTOCOLS));
  });
  return errs;
}

export function validateEndpointSliceUpdate(slice: EndpointSlice, old: EndpointSlice): FieldError[] {
  return slice.addressType !== old.addressType ? [fieldInvalid('addressType', slice.addressType ?? '', 'field is immutable')] : [];
}

