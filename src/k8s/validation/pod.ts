// Pod spec schema and checks, shared by Pods and by the pod templates inside
// Deployments, ReplicaSets and DaemonSets.

import { z } from 'zod';
import {
  bool,
  condition,
  int32,
  int64,
  intOrString,
  opaqueArray,
  opaqueObject,
  quantityMap,
  str,
  stringList,
  stringMap,
  time,
} from './common.js';
import {
  childPath,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotFound,
  fieldNotSupported,
  fieldRequired,
  indexPath,
  keyPath,
  type FieldError,
} from './field.js';
import { objectMetaSchema, validateAnnotations, validateLabels, type ObjectMeta } from './meta.js';
import {
  checkDns1123Label,
  checkDns1123Subdomain,
  checkEnvVarName,
  checkIp,
  checkPortName,
  checkPortNumber,
  checkQualifiedName,
  checkLabelValue,
} from './names.js';

// ---- schema -----------------------------------------------------------------

const keySelector = z.strictObject({ name: str.optional(), key: str.optional(), optional: bool.optional() });

const envVar = z.strictObject({
  name: str.optional(),
  value: str.optional(),
  valueFrom: z
    .strictObject({
      fieldRef: z.strictObject({ apiVersion: str.optional(), fieldPath: str.optional() }).optional(),
      resourceFieldRef: z
        .strictObject({ containerName: str.optional(), resource: str.optional(), divisor: z.union([str, z.number()]).optional() })
        .optional(),
      configMapKeyRef: keySelector.optional(),
      secretKeyRef: keySelector.optional(),
    })
    .optional(),
});

const envFromSource = z.strictObject({
  prefix: str.optional(),
  configMapRef: z.strictObject({ name: str.optional(), optional: bool.optional() }).optional(),
  secretRef: z.strictObject({ name: str.optional(), optional: bool.optional() }).optional(),
});

export const containerPortSchema = z.strictObject({
  name: str.optional(),
  hostPort: int32.optional(),
  containerPort: int32.optional(),
  protocol: str.optional(),
  hostIP: str.optional(),
});

const httpGet = z.strictObject({
  path: str.optional(),
  port: intOrString.optional(),
  host: str.optional(),
  scheme: str.optional(),
  httpHeaders: z.array(z.strictObject({ name: str.optional(), value: str.optional() })).optional(),
});
const tcpSocket = z.strictObject({ port: intOrString.optional(), host: str.optional() });
const execAction = z.strictObject({ command: stringList.optional() });
const grpcAction = z.strictObject({ port: int32.optional(), service: str.optional() });

const probe = z.strictObject({
  exec: execAction.optional(),
  httpGet: httpGet.optional(),
  tcpSocket: tcpSocket.optional(),
  grpc: grpcAction.optional(),
  initialDelaySeconds: int32.optional(),
  timeoutSeconds: int32.optional(),
  periodSeconds: int32.optional(),
  successThreshold: int32.optional(),
  failureThreshold: int32.optional(),
  terminationGracePeriodSeconds: int64.optional(),
});

const lifecycleHandler = z.strictObject({
  exec: execAction.optional(),
  httpGet: httpGet.optional(),
  tcpSocket: tcpSocket.optional(),
  sleep: z.strictObject({ seconds: int64.optional() }).optional(),
});

const seccompProfile = z.strictObject({ type: str.optional(), localhostProfile: str.optional() });
const seLinuxOptions = z.strictObject({ user: str.optional(), role: str.optional(), type: str.optional(), level: str.optional() });

const containerSecurityContext = z.strictObject({
  capabilities: z.strictObject({ add: stringList.optional(), drop: stringList.optional() }).optional(),
  privileged: bool.optional(),
  seLinuxOptions: seLinuxOptions.optional(),
  windowsOptions: opaqueObject.optional(),
  runAsUser: int64.optional(),
  runAsGroup: int64.optional(),
  runAsNonRoot: bool.optional(),
  readOnlyRootFilesystem: bool.optional(),
  allowPrivilegeEscalation: bool.optional(),
  procMount: str.optional(),
  seccompProfile: seccompProfile.optional(),
  appArmorProfile: seccompProfile.optional(),
});

export const containerSchema = z.strictObject({
  name: str.optional(),
  image: str.optional(),
  command: stringList.optional(),
  args: stringList.optional(),
  workingDir: str.optional(),
  ports: z.array(containerPortSchema).optional(),
  envFrom: z.array(envFromSource).optional(),
  env: z.array(envVar).optional(),
  resources: z
    .strictObject({
      limits: quantityMap.optional(),
      requests: quantityMap.optional(),
      claims: z.array(z.strictObject({ name: str.optional(), request: str.optional() })).optional(),
    })
    .optional(),
  resizePolicy: opaqueArray.optional(),
  restartPolicy: str.optional(),
  volumeMounts: z
    .array(
      z.strictObject({
        name: str.optional(),
        mountPath: str.optional(),
        subPath: str.optional(),
        subPathExpr: str.optional(),
        readOnly: bool.optional(),
        recursiveReadOnly: str.optional(),
        mountPropagation: str.optional(),
      }),
    )
    .optional(),
  volumeDevices: z.array(z.strictObject({ name: str.optional(), devicePath: str.optional() })).optional(),
  livenessProbe: probe.optional(),
  readinessProbe: probe.optional(),
  startupProbe: probe.optional(),
  lifecycle: z
    .strictObject({ postStart: lifecycleHandler.optional(), preStop: lifecycleHandler.optional(), stopSignal: str.optional() })
    .optional(),
  terminationMessagePath: str.optional(),
  terminationMessagePolicy: str.optional(),
  imagePullPolicy: str.optional(),
  securityContext: containerSecurityContext.optional(),
  stdin: bool.optional(),
  stdinOnce: bool.optional(),
  tty: bool.optional(),
});

const keyToPath = z.strictObject({ key: str.optional(), path: str.optional(), mode: int32.optional() });

/** Volume sources podpath knows by name; the rarer ones are accepted as opaque objects. */
const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'secret',
  'configMap',
  'persistentVolumeClaim',
  'projected',
  'downwardAPI',
  'csi',
  'nfs',
  'ephemeral',
  'image',
] as const;

const volumeSchema = z.strictObject({
  name: str.optional(),
  hostPath: z.strictObject({ path: str.optional(), type: str.optional() }).optional(),
  emptyDir: z.strictObject({ medium: str.optional(), sizeLimit: z.union([str, z.number()]).optional() }).optional(),
  secret: z
    .strictObject({ secretName: str.optional(), items: z.array(keyToPath).optional(), defaultMode: int32.optional(), optional: bool.optional() })
    .optional(),
  configMap: z
    .strictObject({ name: str.optional(), items: z.array(keyToPath).optional(), defaultMode: int32.optional(), optional: bool.optional() })
    .optional(),
  persistentVolumeClaim: z.strictObject({ claimName: str.optional(), readOnly: bool.optional() }).optional(),
  projected: opaqueObject.optional(),
  downwardAPI: opaqueObject.optional(),
  csi: opaqueObject.optional(),
  nfs: opaqueObject.optional(),
  ephemeral: opaqueObject.optional(),
  image: opaqueObject.optional(),
});

const toleration = z.strictObject({
  key: str.optional(),
  operator: str.optional(),
  value: str.optional(),
  effect: str.optional(),
  tolerationSeconds: int64.optional(),
});

const podSecurityContext = z.strictObject({
  seLinuxOptions: seLinuxOptions.optional(),
  windowsOptions: opaqueObject.optional(),
  runAsUser: int64.optional(),
  runAsGroup: int64.optional(),
  runAsNonRoot: bool.optional(),
  supplementalGroups: z.array(int64).optional(),
  supplementalGroupsPolicy: str.optional(),
  fsGroup: int64.optional(),
  sysctls: z.array(z.strictObject({ name: str.optional(), value: str.optional() })).optional(),
  fsGroupChangePolicy: str.optional(),
  seccompProfile: seccompProfile.optional(),
  appArmorProfile: seccompProfile.optional(),
  seLinuxChangePolicy: str.optional(),
});

export const podSpecSchema = z.strictObject({
  volumes: z.array(volumeSchema).optional(),
  initContainers: z.array(containerSchema).optional(),
  containers: z.array(containerSchema).optional(),
  ephemeralContainers: opaqueArray.optional(),
  restartPolicy: str.optional(),
  terminationGracePeriodSeconds: int64.optional(),
  activeDeadlineSeconds: int64.optional(),
  dnsPolicy: str.optional(),
  nodeSelector: stringMap.optional(),
  serviceAccountName: str.optional(),
  serviceAccount: str.optional(),
  automountServiceAccountToken: bool.optional(),
  nodeName: str.optional(),
  hostNetwork: bool.optional(),
  hostPID: bool.optional(),
  hostIPC: bool.optional(),
  hostUsers: bool.optional(),
  shareProcessNamespace: bool.optional(),
  securityContext: podSecurityContext.optional(),
  imagePullSecrets: z.array(z.strictObject({ name: str.optional() })).optional(),
  hostname: str.optional(),
  subdomain: str.optional(),
  affinity: opaqueObject.optional(),
  schedulerName: str.optional(),
  tolerations: z.array(toleration).optional(),
  hostAliases: z.array(z.strictObject({ ip: str.optional(), hostnames: stringList.optional() })).optional(),
  priorityClassName: str.optional(),
  priority: int32.optional(),
  dnsConfig: z
    .strictObject({
      nameservers: stringList.optional(),
      searches: stringList.optional(),
      options: z.array(z.strictObject({ name: str.optional(), value: str.optional() })).optional(),
    })
    .optional(),
  readinessGates: z.array(z.strictObject({ conditionType: str.optional() })).optional(),
  runtimeClassName: str.optional(),
  enableServiceLinks: bool.optional(),
  preemptionPolicy: str.optional(),
  overhead: quantityMap.optional(),
  topologySpreadConstraints: opaqueArray.optional(),
  setHostnameAsFQDN: bool.optional(),
  os: z.strictObject({ name: str.optional() }).optional(),
  schedulingGates: z.array(z.strictObject({ name: str.optional() })).optional(),
  resourceClaims: opaqueArray.optional(),
  resources: opaqueObject.optional(),
});

const containerState = z.strictObject({
  waiting: z.strictObject({ reason: str.optional(), message: str.optional() }).optional(),
  running: z.strictObject({ startedAt: time.optional() }).optional(),
  terminated: z
    .strictObject({
      exitCode: int32.optional(),
      signal: int32.optional(),
      reason: str.optional(),
      message: str.optional(),
      startedAt: time.optional(),
      finishedAt: time.optional(),
      containerID: str.optional(),
    })
    .optional(),
});

const containerStatus = z.strictObject({
  name: str.optional(),
  state: containerState.optional(),
  lastState: containerState.optional(),
  ready: bool.optional(),
  restartCount: int32.optional(),
  image: str.optional(),
  imageID: str.optional(),
  containerID: str.optional(),
  started: bool.optional(),
  allocatedResources: quantityMap.optional(),
  resources: opaqueObject.optional(),
  volumeMounts: opaqueArray.optional(),
  user: opaqueObject.optional(),
  allocatedResourcesStatus: opaqueArray.optional(),
  stopSignal: str.optional(),
});

const podIp = z.strictObject({ ip: str.optional() });

export const podStatusSchema = z.strictObject({
  observedGeneration: int64.optional(),
  phase: str.optional(),
  conditions: z.array(condition).optional(),
  message: str.optional(),
  reason: str.optional(),
  nominatedNodeName: str.optional(),
  hostIP: str.optional(),
  hostIPs: z.array(podIp).optional(),
  podIP: str.optional(),
  podIPs: z.array(podIp).optional(),
  startTime: time.optional(),
  initContainerStatuses: z.array(containerStatus).optional(),
  containerStatuses: z.array(containerStatus).optional(),
  ephemeralContainerStatuses: z.array(containerStatus).optional(),
  qosClass: str.optional(),
  resize: str.optional(),
  resourceClaimStatuses: opaqueArray.optional(),
});

export const podTemplateSchema = z.strictObject({ metadata: objectMetaSchema.optional(), spec: podSpecSchema.optional() });

export type PodSpec = z.infer<typeof podSpecSchema>;
export type PodStatus = z.infer<typeof podStatusSchema>;
export type Container = z.infer<typeof containerSchema>;
export type ContainerPort = z.infer<typeof containerPortSchema>;
export type PodTemplateSpec = z.infer<typeof podTemplateSchema>;
type Probe = z.infer<typeof probe>;
type Volume = z.infer<typeof volumeSchema>;

// ---- quantities -------------------------------------------------------------

const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A quantity as a plain number (approximate for huge values; used only for comparisons). */
export function quantityValue(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/.exec(q);
  if (!m) return Number.NaN;
  const base = Number(m[1]);
  const suffix = m[2] ?? '';
  if (/^[eE]/.test(suffix)) return base * 10 ** Number(suffix.slice(1));
  return base * (QUANTITY_SUFFIX[suffix] ?? Number.NaN);
}

// ---- checks -----------------------------------------------------------------

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const RESTART_POLICIES = ['Always', 'Never', 'OnFailure'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['FallbackToLogsOnError', 'File'];
const POD_PHASES = ['Failed', 'Pending', 'Running', 'Succeeded', 'Unknown'];

function invalidAll(path: string, value: unknown, problems: string[]): FieldError[] {
  return problems.map((p) => fieldInvalid(path, value, p));
}

function nonNegative(path: string, v: number | undefined): FieldError[] {
  return v !== undefined && v < 0 ? [fieldInvalid(path, v, 'must be greater than or equal to 0')] : [];
}

/** A probe or handler port: a number in range or an IANA port name. */
function validatePortRef(port: number | string | undefined, path: string): FieldError[] {
  if (port === undefined) return [fieldRequired(path)];
  if (typeof port === 'number') return invalidAll(path, port, checkPortNumber(port));
  return invalidAll(path, port, checkPortName(port));
}

function validateProbe(p: Probe, path: string, mustSucceedOnce: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const handlers = (['exec', 'httpGet', 'tcpSocket', 'grpc'] as const).filter((h) => p[h] !== undefined);
  if (handlers.length === 0) errs.push(fieldRequired(path, 'must specify a handler type'));
  for (const extra of handlers.slice(1)) errs.push(fieldForbidden(childPath(path, extra), 'may not specify more than 1 handler type'));
  if (p.httpGet) {
    errs.push(...validatePortRef(p.httpGet.port, childPath(childPath(path, 'httpGet'), 'port')));
    const scheme = p.httpGet.scheme;
    if (scheme !== undefined && scheme !== 'HTTP' && scheme !== 'HTTPS') {
      errs.push(fieldNotSupported(childPath(childPath(path, 'httpGet'), 'scheme'), scheme, ['HTTP', 'HTTPS']));
    }
  }
  if (p.tcpSocket) errs.push(...validatePortRef(p.tcpSocket.port, childPath(childPath(path, 'tcpSocket'), 'port')));
  if (p.grpc) errs.push(...validatePortRef(p.grpc.port, childPath(childPath(path, 'grpc'), 'port')));
  if (p.exec && !(p.exec.command ?? []).length) errs.push(fieldRequired(childPath(childPath(path, 'exec'), 'command')));
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
    errs.push(...nonNegative(childPath(path, f), p[f]));
  }
  if (mustSucceedOnce && p.successThreshold !== undefined && p.successThreshold !== 1) {
    errs.push(fieldInvalid(childPath(path, 'successThreshold'), p.successThreshold, 'must be 1'));
  }
  return errs;
}

function validateContainer(c: Container, path: string, volumes: Set<string>, hostNetwork: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(fieldRequired(childPath(path, 'name')));
  else errs.push(...invalidAll(childPath(path, 'name'), c.name, checkDns1123Label(c.name)));
  if (!c.image || c.image.trim() === '') errs.push(fieldRequired(childPath(path, 'image')));

  const portNames = new Set<string>();
  (c.ports ?? []).forEach((p, i) => {
    const pp = indexPath(childPath(path, 'ports'), i);
    if (p.name !== undefined && p.name !== '') {
      errs.push(...invalidAll(childPath(pp, 'name'), p.name, checkPortName(p.name)));
      if (portNames.has(p.name)) errs.push(fieldDuplicate(childPath(pp, 'name'), p.name));
      portNames.add(p.name);
    }
    if (!p.containerPort) errs.push(fieldRequired(childPath(pp, 'containerPort')));
    else errs.push(...invalidAll(childPath(pp, 'containerPort'), p.containerPort, checkPortNumber(p.containerPort)));
    if (p.hostPort) {
      errs.push(...invalidAll(childPath(pp, 'hostPort'), p.hostPort, checkPortNumber(p.hostPort)));
      if (hostNetwork && p.containerPort && p.hostPort !== p.containerPort) {
        errs.push(fieldInvalid(childPath(pp, 'hostPort'), p.hostPort, 'must match `containerPort` when `hostNetwork` is true'));
      }
    }
    if (p.protocol === undefined || p.protocol === '') errs.push(fieldRequired(childPath(pp, 'protocol')));
    else if (!PROTOCOLS.includes(p.protocol)) errs.push(fieldNotSupported(childPath(pp, 'protocol'), p.protocol, PROTOCOLS));
    if (p.hostIP !== undefined && p.hostIP !== '') errs.push(...invalidAll(childPath(pp, 'hostIP'), p.hostIP, checkIp(p.hostIP)));
  });

  (c.env ?? []).forEach((e, i) => {
    const ep = indexPath(childPath(path, 'env'), i);
    if (!e.name) errs.push(fieldRequired(childPath(ep, 'name')));
    else errs.push(...invalidAll(childPath(ep, 'name'), e.name, checkEnvVarName(e.name)));
    if (e.valueFrom) {
      const sources = (['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'] as const).filter((s) => e.valueFrom![s]);
      if (e.value) errs.push(fieldInvalid(childPath(ep, 'valueFrom'), '', 'may not be specified when `value` is not empty'));
      if (sources.length === 0) errs.push(fieldInvalid(childPath(ep, 'valueFrom'), '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
      if (sources.length > 1) errs.push(fieldInvalid(childPath(ep, 'valueFrom'), '', 'may not have more than one field specified at a time'));
    }
  });

  const mountPaths = new Set<string>();
  (c.volumeMounts ?? []).forEach((m, i) => {
    const mp = indexPath(childPath(path, 'volumeMounts'), i);
    if (!m.name) errs.push(fieldRequired(childPath(mp, 'name')));
    else if (!volumes.has(m.name)) errs.push(fieldNotFound(childPath(mp, 'name'), m.name));
    if (!m.mountPath) errs.push(fieldRequired(childPath(mp, 'mountPath')));
    else if (mountPaths.has(m.mountPath)) errs.push(fieldInvalid(childPath(mp, 'mountPath'), m.mountPath, 'must be unique'));
    else mountPaths.add(m.mountPath);
  });

  if (c.livenessProbe) errs.push(...validateProbe(c.livenessProbe, childPath(path, 'livenessProbe'), true));
  if (c.readinessProbe) errs.push(...validateProbe(c.readinessProbe, childPath(path, 'readinessProbe'), false));
  if (c.startupProbe) errs.push(...validateProbe(c.startupProbe, childPath(path, 'startupProbe'), true));

  if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy)) {
    errs.push(fieldNotSupported(childPath(path, 'imagePullPolicy'), c.imagePullPolicy, PULL_POLICIES));
  }
  if (c.terminationMessagePolicy !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy)) {
    errs.push(fieldNotSupported(childPath(path, 'terminationMessagePolicy'), c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES));
  }

  const limits = c.resources?.limits ?? {};
  for (const [name, req] of Object.entries(c.resources?.requests ?? {})) {
    const limit = limits[name];
    if (limit !== undefined && quantityValue(req) > quantityValue(limit)) {
      errs.push(
        fieldInvalid(keyPath(childPath(childPath(path, 'resources'), 'requests'), name), String(req), `must be less than or equal to ${name} limit of ${limit}`),
      );
    }
  }
  return errs;
}

function validateVolumes(volumes: Volume[], path: string): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  volumes.forEach((v, i) => {
    const vp = indexPath(path, i);
    if (!v.name) errs.push(fieldRequired(childPath(vp, 'name')));
    else {
      errs.push(...invalidAll(childPath(vp, 'name'), v.name, checkDns1123Label(v.name)));
      if (names.has(v.name)) errs.push(fieldDuplicate(childPath(vp, 'name'), v.name));
      names.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined);
    if (sources.length === 0) errs.push(fieldRequired(vp, 'must specify a volume type'));
    for (const extra of sources.slice(1)) errs.push(fieldForbidden(childPath(vp, extra), 'may not specify more than 1 volume type'));
  });
  return { errs, names };
}

export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  if (!spec) return [fieldRequired(childPath(path, 'containers'))];
  const errs: FieldError[] = [];
  const { errs: volumeErrs, names: volumeNames } = validateVolumes(spec.volumes ?? [], childPath(path, 'volumes'));
  errs.push(...volumeErrs);

  const hostNetwork = spec.hostNetwork === true;
  const containerNames = new Set<string>();
  const checkContainers = (list: Container[] | undefined, field: string): void => {
    (list ?? []).forEach((c, i) => {
      const cp = indexPath(childPath(path, field), i);
      errs.push(...validateContainer(c, cp, volumeNames, hostNetwork));
      if (c.name) {
        if (containerNames.has(c.name)) errs.push(fieldDuplicate(childPath(cp, 'name'), c.name));
        containerNames.add(c.name);
      }
    });
  };
  if (!(spec.containers ?? []).length) errs.push(fieldRequired(childPath(path, 'containers')));
  checkContainers(spec.initContainers, 'initContainers');
  checkContainers(spec.containers, 'containers');

  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(spec.restartPolicy)) {
    errs.push(fieldNotSupported(childPath(path, 'restartPolicy'), spec.restartPolicy, RESTART_POLICIES));
  }
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(spec.dnsPolicy)) {
    errs.push(fieldNotSupported(childPath(path, 'dnsPolicy'), spec.dnsPolicy, DNS_POLICIES));
  }
  for (const f of ['nodeName', 'serviceAccountName'] as const) {
    const v = spec[f];
    if (v) errs.push(...invalidAll(childPath(path, f), v, checkDns1123Subdomain(v)));
  }
  for (const f of ['hostname', 'subdomain'] as const) {
    const v = spec[f];
    if (v) errs.push(...invalidAll(childPath(path, f), v, checkDns1123Label(v)));
  }
  errs.push(...validateLabels(spec.nodeSelector, childPath(path, 'nodeSelector')));
  errs.push(...nonNegative(childPath(path, 'terminationGracePeriodSeconds'), spec.terminationGracePeriodSeconds));
  if (spec.activeDeadlineSeconds !== undefined && (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > 2147483647)) {
    errs.push(fieldInvalid(childPath(path, 'activeDeadlineSeconds'), spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }

  (spec.tolerations ?? []).forEach((t, i) => {
    const tp = indexPath(childPath(path, 'tolerations'), i);
    if (t.key) errs.push(...invalidAll(childPath(tp, 'key'), t.key, checkQualifiedName(t.key)));
    const op = t.operator ?? 'Equal';
    if (op === 'Exists') {
      if (t.value) errs.push(fieldInvalid(childPath(tp, 'operator'), op, "value must be empty when `operator` is 'Exists'"));
    } else if (op === 'Equal') {
      if (!t.key) errs.push(fieldInvalid(childPath(tp, 'operator'), op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
      if (t.value) errs.push(...invalidAll(childPath(tp, 'value'), t.value, checkLabelValue(t.value)));
    } else {
      errs.push(fieldNotSupported(childPath(tp, 'operator'), op, ['Equal', 'Exists']));
    }
    if (t.effect && !['NoExecute', 'NoSchedule', 'PreferNoSchedule'].includes(t.effect)) {
      errs.push(fieldNotSupported(childPath(tp, 'effect'), t.effect, ['NoExecute', 'NoSchedule', 'PreferNoSchedule']));
    }
  });

  (spec.hostAliases ?? []).forEach((h, i) => {
    const hp = indexPath(childPath(path, 'hostAliases'), i);
    errs.push(...invalidAll(childPath(hp, 'ip'), h.ip ?? '', checkIp(h.ip ?? '')));
  });
  (spec.dnsConfig?.nameservers ?? []).forEach((ns, i) => {
    errs.push(...invalidAll(indexPath(childPath(childPath(path, 'dnsConfig'), 'nameservers'), i), ns, checkIp(ns)));
  });
  return errs;
}

/** Template metadata carries labels and annotations only; name and namespace come from the owner. */
export function validatePodTemplate(template: PodTemplateSpec | undefined, path: string): FieldError[] {
  if (!template) return [fieldRequired(path)];
  const meta: ObjectMeta = template.metadata ?? {};
  return [
    ...validateLabels(meta.labels, childPath(childPath(path, 'metadata'), 'labels')),
    ...validateAnnotations(meta.annotations, childPath(childPath(path, 'metadata'), 'annotations')),
    ...validatePodSpec(template.spec, childPath(path, 'spec')),
  ];
}

export function validatePodStatus(status: PodStatus | undefined, path: string): FieldError[] {
  if (!status) return [];
  const errs: FieldError[] = [];
  if (status.phase !== undefined && status.phase !== '' && !POD_PHASES.includes(status.phase)) {
    errs.push(fieldNotSupported(childPath(path, 'phase'), status.phase, POD_PHASES));
  }
  for (const f of ['podIP', 'hostIP'] as const) {
    const v = status[f];
    if (v) errs.push(...invalidAll(childPath(path, f), v, checkIp(v)));
  }
  for (const f of ['podIPs', 'hostIPs'] as const) {
    (status[f] ?? []).forEach((p, i) => {
      errs.push(...invalidAll(childPath(indexPath(childPath(path, f), i), 'ip'), p.ip ?? '', checkIp(p.ip ?? '')));
    });
  }
  return errs;
}
