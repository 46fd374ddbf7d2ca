// kubectl describe: kubectl's describers for pods, services, nodes and
// deployments (the sections and alignment kubectl prints: one tabwriter with
// padding 2 over the whole text), and its generic describer for the rest
// (Cilium's CRDs, namespaces, ...). Names match by prefix, as in kubectl.

import { collectionPath, lookupResource, objectPath } from '../../../k8s/resources.js';
import { humanDuration } from '../../../k8s/tables.js';
import { selectorFromObject, type LabelSelectorObject } from '../../../k8s/selectors.js';
import type { Status } from '../../../k8s/status.js';
import type { KubeList, KubeObject } from '../../../k8s/types.js';
import type { KubectlContext, ResolvedType } from '../context.js';
import { aggregate, KubectlError, usageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { goValue } from '../go-format.js';
import { parseResourceArgs, listPath } from '../resource-args.js';
import { alignTabs } from '../tabwriter.js';

export const DESCRIBE_FLAGS: FlagSpec[] = [
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'all-namespaces', short: 'A', type: 'bool' },
  { name: 'show-events', type: 'bool', default: true },
  { name: 'filename', short: 'f', type: 'stringArray' },
  { name: 'recursive', short: 'R', type: 'bool' },
  { name: 'chunk-size', type: 'int', default: 500 },
];

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const MAX_ANNOTATION_LEN = 140;

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

function arr(v: unknown): Json[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

function str(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

/** Go's time.RFC1123Z in the local zone: `Thu, 26 Nov 2026 11:18:01 +0000`. */
export function rfc1123z(timestamp: unknown): string {
  const t = Date.parse(str(timestamp));
  if (Number.isNaN(t)) return '';
  const d = new Date(t);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = `${off >= 0 ? '+' : '-'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  return `${days[d.getDay()]}, ${p(d.getDate())} ${months[d.getMonth()]} ${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zone}`;
}

function since(timestamp: unknown): string {
  const t = Date.parse(str(timestamp));
  return Number.isNaN(t) ? '<unknown>' : humanDuration(Date.now() - t);
}

/** kubectl's PrefixWriter: lines at indent levels, aligned later by the tabwriter. */
class Out {
  text = '';
  chunks: string[] = [];
  write(level: number, s: string): void {
    this.text += '  '.repeat(level) + s;
  }
  /** w.Flush(): what follows aligns on its own. */
  flush(): void {
    this.chunks.push(this.text);
    this.text = '';
  }
  render(): string {
    this.flush();
    return this.chunks.map((c) => alignTabs(c, { padding: 2 })).join('');
  }
}

function labelsMultiline(w: Out, indent: string, title: string, labels: Record<string, string> | undefined): void {
  w.write(0, `${indent}${title}:\t`);
  const keys = Object.keys(labels ?? {}).sort();
  if (!keys.length) {
    w.write(0, '<none>\n');
    return;
  }
  keys.forEach((k, i) => {
    if (i) w.write(0, `${indent}\t`);
    w.write(0, `${k}=${labels![k]}\n`);
  });
}

function annotationsMultiline(w: Out, title: string, annotations: Record<string, string> | undefined): void {
  w.write(0, `${title}:\t`);
  const keys = Object.keys(annotations ?? {})
    .filter((k) => k !== LAST_APPLIED)
    .sort();
  if (!keys.length) {
    w.write(0, '<none>\n');
    return;
  }
  keys.forEach((k, i) => {
    if (i) w.write(0, '\t');
    const line = `${k}: ${annotations![k]}`;
    w.write(0, line.length > MAX_ANNOTATION_LEN ? `${line.slice(0, MAX_ANNOTATION_LEN)}...\n` : `${line}\n`);
  });
}

function tolerationsMultiline(w: Out, indent: string, title: string, tolerations: Json[]): void {
  w.write(0, `${indent}${title}:\t`);
  if (!tolerations.length) {
    w.write(0, '<none>\n');
    return;
  }
  [...tolerations]
    .sort((a, b) => (str(a['key']) < str(b['key']) ? -1 : str(a['key']) > str(b['key']) ? 1 : 0))
    .forEach((t, i) => {
      if (i) w.write(0, `${indent}\t`);
      let line = str(t['key']);
      if (t['value']) line += `=${str(t['value'])}`;
      if (t['effect']) line += `:${str(t['effect'])}`;
      if (t['operator'] === 'Exists' && !t['value']) line += t['key'] || t['effect'] ? ' op=Exists' : 'op=Exists';
      if (typeof t['tolerationSeconds'] === 'number') line += ` for ${t['tolerationSeconds']}s`;
      w.write(0, `${line}\n`);
    });
}

function describeEvents(w: Out, events: KubeObject[] | undefined): void {
  if (!events) return;
  if (!events.length) {
    w.write(0, 'Events:\t<none>\n');
    return;
  }
  w.flush();
  w.write(0, 'Events:\n  Type\tReason\tAge\tFrom\tMessage\n');
  w.write(1, '----\t------\t----\t----\t-------\n');
  for (const e of events) {
    const first = since(e['eventTime'] ?? e['firstTimestamp']);
    const count = typeof e['count'] === 'number' ? e['count'] : 1;
    const interval = count > 1 ? `${since(e['lastTimestamp'])} (x${count} over ${first})` : first;
    const source = str(obj(e['source'])['component']) || str(e['reportingComponent']);
    w.write(1, `${str(e['type'])}\t${str(e['reason'])}\t${interval}\t${source}\t${str(e['message']).trim()}\n`);
  }
}

// ---- pods ----------------------------------------------------------------------------------

function portsText(ports: Json[], field: 'containerPort' | 'hostPort'): string {
  return ports.map((p) => `${typeof p[field] === 'number' ? p[field] : 0}/${str(p['protocol']) || 'TCP'}`).join(', ');
}

function describeState(w: Out, title: string, state: Json): void {
  if (state['running']) {
    w.write(2, `${title}:\tRunning\n`);
    w.write(3, `Started:\t${rfc1123z(obj(state['running'])['startedAt'])}\n`);
  } else if (state['terminated']) {
    const t = obj(state['terminated']);
    w.write(2, `${title}:\tTerminated\n`);
    if (t['reason']) w.write(3, `Reason:\t${str(t['reason'])}\n`);
    if (t['message']) w.write(3, `Message:\t${str(t['message'])}\n`);
    w.write(3, `Exit Code:\t${str(t['exitCode'] ?? 0)}\n`);
    if (typeof t['signal'] === 'number' && t['signal'] > 0) w.write(3, `Signal:\t${t['signal']}\n`);
    w.write(3, `Started:\t${rfc1123z(t['startedAt'])}\n`);
    w.write(3, `Finished:\t${rfc1123z(t['finishedAt'])}\n`);
  } else {
    w.write(2, `${title}:\tWaiting\n`);
    const reason = obj(state['waiting'])['reason'];
    if (reason) w.write(3, `Reason:\t${str(reason)}\n`);
  }
}

function describeContainers(w: Out, label: string, containers: Json[], statuses: Json[] | undefined, space: string): void {
  w.write(0, `${space}${label}:${containers.length ? '' : ' <none>'}\n`);
  const byName = new Map((statuses ?? []).map((s) => [str(s['name']), s]));
  for (const c of containers) {
    const status = byName.get(str(c['name']));
    w.write(1, `${space ? ' ' : ''}${str(c['name'])}:\n`);
    if (status) w.write(2, `Container ID:\t${str(status['containerID'])}\n`);
    w.write(2, `Image:\t${str(c['image'])}\n`);
    if (status) w.write(2, `Image ID:\t${str(status['imageID'])}\n`);
    const ports = arr(c['ports']);
    const port = portsText(ports, 'containerPort');
    w.write(2, port.includes(',') ? `Ports:\t${port}\n` : `Port:\t${port || '<none>'}\n`);
    const hostPort = portsText(ports, 'hostPort');
    w.write(2, hostPort.includes(',') ? `Host Ports:\t${hostPort}\n` : `Host Port:\t${hostPort || '<none>'}\n`);
    if (c['restartPolicy']) w.write(2, `Restart Policy:\t${str(c['restartPolicy'])}\n`);
    for (const [field, title] of [
      ['command', 'Command'],
      ['args', 'Args'],
    ] as const) {
      const list = Array.isArray(c[field]) ? (c[field] as unknown[]) : [];
      if (!list.length) continue;
      w.write(2, `${title}:\n`);
      for (const item of list) for (const line of str(item).split('\n')) w.write(3, `${line}\n`);
    }
    if (status) {
      describeState(w, 'State', obj(status['state']));
      if (obj(status['lastState'])['terminated']) describeState(w, 'Last State', obj(status['lastState']));
      w.write(2, `Ready:\t${status['ready'] === true ? 'True' : 'False'}\n`);
      w.write(2, `Restart Count:\t${str(status['restartCount'] ?? 0)}\n`);
    }
    const resources = obj(c['resources']);
    for (const [field, title] of [
      ['limits', 'Limits'],
      ['requests', 'Requests'],
    ] as const) {
      const list = obj(resources[field]);
      if (!Object.keys(list).length) continue;
      w.write(2, `${title}:\n`);
      for (const k of Object.keys(list).sort()) w.write(3, `${k}:\t${str(list[k])}\n`);
    }
    const env = arr(c['env']);
    w.write(2, `Environment:${env.length ? '' : '\t<none>'}\n`);
    for (const e of env) {
      if (e['valueFrom'] === undefined) {
        str(e['value'])
          .split('\n')
          .forEach((line, i) => w.write(3, i === 0 ? `${str(e['name'])}:\t${line}\n` : `\t${line}\n`));
      } else {
        const from = obj(e['valueFrom']);
        const field = obj(from['fieldRef']);
        const text = field['fieldPath'] ? ` (${str(field['apiVersion']) || 'v1'}:${str(field['fieldPath'])})` : '';
        w.write(3, `${str(e['name'])}:\t${text.trim()}\n`);
      }
    }
    const mounts = arr(c['volumeMounts']).sort((a, b) => (str(a['mountPath']) < str(b['mountPath']) ? -1 : 1));
    w.write(2, `Mounts:${mounts.length ? '' : '\t<none>'}\n`);
    for (const m of mounts) {
      const flags = [m['readOnly'] ? 'ro' : 'rw'];
      if (m['subPath']) flags.push(`path=${JSON.stringify(m['subPath'])}`);
      w.write(3, `${str(m['mountPath'])} from ${str(m['name'])} (${flags.join(',')})\n`);
    }
  }
}

function describeVolumes(w: Out, volumes: Json[], space: string): void {
  if (!volumes.length) {
    w.write(0, `${space}Volumes:\t<none>\n`);
    return;
  }
  w.write(0, `${space}Volumes:\n`);
  for (const v of volumes) {
    w.write(1, `${space ? ' ' : ''}${str(v['name'])}:\n`);
    const kind = Object.keys(v).find((k) => k !== 'name');
    if (!kind) continue;
    const src = obj(v[kind]);
    if (kind === 'hostPath') {
      w.write(2, 'Type:\tHostPath (bare host directory volume)\n');
      w.write(2, `Path:\t${str(src['path'])}\n`);
      w.write(2, `HostPathType:\t${str(src['type'])}\n`);
    } else if (kind === 'configMap') {
      w.write(2, 'Type:\tConfigMap (a volume populated by a ConfigMap)\n');
      w.write(2, `Name:\t${str(src['name'])}\n`);
      w.write(2, `Optional:\t${src['optional'] === true}\n`);
    } else if (kind === 'emptyDir') {
      w.write(2, 'Type:\tEmptyDir (a temporary directory that shares a pod\'s lifetime)\n');
      w.write(2, `Medium:\t${str(src['medium'])}\n`);
      w.write(2, `SizeLimit:\t${str(src['sizeLimit']) || '<unset>'}\n`);
    } else if (kind === 'secret') {
      w.write(2, 'Type:\tSecret (a volume populated by a Secret)\n');
      w.write(2, `SecretName:\t${str(src['secretName'])}\n`);
      w.write(2, `Optional:\t${src['optional'] === true}\n`);
    } else {
      w.write(2, `Type:\t${kind}\n`);
    }
  }
}

function qosClass(pod: KubeObject): string {
  const given = str(obj(pod['status'])['qosClass']);
  if (given) return given;
  const containers = arr(obj(pod['spec'])['containers']);
  const any = containers.some((c) => Object.keys(obj(obj(c['resources'])['requests'])).length || Object.keys(obj(obj(c['resources'])['limits'])).length);
  return any ? 'Burstable' : 'BestEffort';
}

function controllerOf(o: KubeObject): string {
  const ref = (o.metadata.ownerReferences ?? []).find((r) => (r as { controller?: boolean }).controller);
  return ref ? `${(ref as { kind: string }).kind}/${(ref as { name: string }).name}` : '';
}

function describePod(pod: KubeObject, events: KubeObject[] | undefined): string {
  const w = new Out();
  const spec = obj(pod['spec']);
  const status = obj(pod['status']);
  w.write(0, `Name:\t${pod.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${pod.metadata.namespace ?? ''}\n`);
  if (typeof spec['priority'] === 'number') w.write(0, `Priority:\t${spec['priority']}\n`);
  if (spec['priorityClassName']) w.write(0, `Priority Class Name:\t${str(spec['priorityClassName'])}\n`);
  if (spec['runtimeClassName']) w.write(0, `Runtime Class Name:\t${str(spec['runtimeClassName'])}\n`);
  if (spec['serviceAccountName']) w.write(0, `Service Account:\t${str(spec['serviceAccountName'])}\n`);
  w.write(0, spec['nodeName'] ? `Node:\t${str(spec['nodeName'])}/${str(status['hostIP'])}\n` : 'Node:\t<none>\n');
  if (status['startTime']) w.write(0, `Start Time:\t${rfc1123z(status['startTime'])}\n`);
  labelsMultiline(w, '', 'Labels', pod.metadata.labels);
  annotationsMultiline(w, 'Annotations', pod.metadata.annotations);
  const phase = str(status['phase']);
  if (pod.metadata.deletionTimestamp && phase !== 'Failed' && phase !== 'Succeeded') {
    w.write(0, `Status:\tTerminating (lasts ${since(pod.metadata.deletionTimestamp)})\n`);
    w.write(0, `Termination Grace Period:\t${str(pod.metadata.deletionGracePeriodSeconds ?? 0)}s\n`);
  } else w.write(0, `Status:\t${phase}\n`);
  if (status['reason']) w.write(0, `Reason:\t${str(status['reason'])}\n`);
  if (status['message']) w.write(0, `Message:\t${str(status['message'])}\n`);
  w.write(0, `IP:\t${str(status['podIP'])}\n`);
  const ips = arr(status['podIPs']);
  if (!ips.length) w.write(0, 'IPs:\t<none>\n');
  else {
    w.write(0, 'IPs:\n');
    for (const ip of ips) w.write(1, `IP:\t${str(ip['ip'])}\n`);
  }
  const controller = controllerOf(pod);
  if (controller) w.write(0, `Controlled By:\t${controller}\n`);
  if (status['nominatedNodeName']) w.write(0, `NominatedNodeName:\t${str(status['nominatedNodeName'])}\n`);
  if (arr(spec['initContainers']).length) describeContainers(w, 'Init Containers', arr(spec['initContainers']), arr(status['initContainerStatuses']), '');
  describeContainers(w, 'Containers', arr(spec['containers']), arr(status['containerStatuses']), '');
  const conditions = arr(status['conditions']);
  if (conditions.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\n');
    for (const c of conditions) w.write(1, `${str(c['type'])} \t${str(c['status'])} \n`);
  }
  describeVolumes(w, arr(spec['volumes']), '');
  w.write(0, `QoS Class:\t${qosClass(pod)}\n`);
  labelsMultiline(w, '', 'Node-Selectors', obj(spec['nodeSelector']) as Record<string, string>);
  tolerationsMultiline(w, '', 'Tolerations', arr(spec['tolerations']));
  describeEvents(w, events);
  return w.render();
}

// ---- services ---------------------------------------------------------------------------------

function formatSelector(selector: Record<string, string> | undefined): string {
  const keys = Object.keys(selector ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${selector![k]}`).join(',') : '<none>';
}

function serviceEndpoints(slices: KubeObject[], port: Json): string {
  const all: string[] = [];
  for (const s of slices) {
    const slicePort = arr(s['ports']).find((p) => str(p['name']) === str(port['name']));
    if (!slicePort) continue;
    for (const e of arr(s['endpoints'])) {
      if (obj(e['conditions'])['ready'] === false) continue;
      for (const ip of Array.isArray(e['addresses']) ? (e['addresses'] as string[]) : []) all.push(`${ip}:${str(slicePort['port'])}`);
    }
  }
  if (!all.length) return '<none>';
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

function describeService(svc: KubeObject, slices: KubeObject[], events: KubeObject[] | undefined): string {
  const w = new Out();
  const spec = obj(svc['spec']);
  w.write(0, `Name:\t${svc.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${svc.metadata.namespace ?? ''}\n`);
  labelsMultiline(w, '', 'Labels', svc.metadata.labels);
  annotationsMultiline(w, 'Annotations', svc.metadata.annotations);
  w.write(0, `Selector:\t${formatSelector(obj(spec['selector']) as Record<string, string>)}\n`);
  w.write(0, `Type:\t${str(spec['type'])}\n`);
  if (spec['ipFamilyPolicy']) w.write(0, `IP Family Policy:\t${str(spec['ipFamilyPolicy'])}\n`);
  const families = Array.isArray(spec['ipFamilies']) ? (spec['ipFamilies'] as string[]) : [];
  w.write(0, `IP Families:\t${families.length ? families.join(',') : '<none>'}\n`);
  w.write(0, `IP:\t${str(spec['clusterIP'])}\n`);
  const ips = Array.isArray(spec['clusterIPs']) ? (spec['clusterIPs'] as string[]) : [];
  w.write(0, `IPs:\t${ips.length ? ips.join(',') : '<none>'}\n`);
  const external = Array.isArray(spec['externalIPs']) ? (spec['externalIPs'] as string[]) : [];
  if (external.length) w.write(0, `External IPs:\t${external.join(',')}\n`);
  if (spec['loadBalancerIP']) w.write(0, `IP:\t${str(spec['loadBalancerIP'])}\n`);
  const ingress = arr(obj(obj(svc['status'])['loadBalancer'])['ingress']);
  if (ingress.length) w.write(0, `LoadBalancer Ingress:\t${ingress.map((i) => str(i['ip'] ?? i['hostname'])).join(', ')}\n`);
  for (const p of arr(spec['ports'])) {
    const name = str(p['name']) || '<unset>';
    const protocol = str(p['protocol']) || 'TCP';
    w.write(0, `Port:\t${name}\t${str(p['port'])}/${protocol}\n`);
    w.write(0, `TargetPort:\t${str(p['targetPort'] ?? p['port'])}/${protocol}\n`);
    if (p['nodePort']) w.write(0, `NodePort:\t${name}\t${str(p['nodePort'])}/${protocol}\n`);
    w.write(0, `Endpoints:\t${serviceEndpoints(slices, p)}\n`);
  }
  if (spec['type'] === 'NodePort' || spec['type'] === 'LoadBalancer') w.write(0, `External Traffic Policy:\t${str(spec['externalTrafficPolicy'])}\n`);
  if (spec['healthCheckNodePort']) w.write(0, `HealthCheck NodePort:\t${str(spec['healthCheckNodePort'])}\n`);
  w.write(0, `Session Affinity:\t${str(spec['sessionAffinity'])}\n`);
  if (spec['internalTrafficPolicy']) w.write(0, `Internal Traffic Policy:\t${str(spec['internalTrafficPolicy'])}\n`);
  describeEvents(w, events);
  return w.render();
}

// ---- nodes ---------------------------------------------------------------------------------------

function describeNode(node: KubeObject, pods: KubeObject[], events: KubeObject[] | undefined): string {
  const w = new Out();
  const spec = obj(node['spec']);
  const status = obj(node['status']);
  w.write(0, `Name:\t${node.metadata.name ?? ''}\n`);
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean)
    .sort();
  w.write(0, `Roles:\t${roles.length ? roles.join(',') : '<none>'}\n`);
  labelsMultiline(w, '', 'Labels', node.metadata.labels);
  annotationsMultiline(w, 'Annotations', node.metadata.annotations);
  w.write(0, `CreationTimestamp:\t${rfc1123z(node.metadata.creationTimestamp)}\n`);
  const taints = arr(spec['taints']);
  w.write(0, 'Taints:\t');
  if (!taints.length) w.write(0, '<none>\n');
  taints.forEach((t, i) => {
    if (i) w.write(0, '\t');
    w.write(0, `${str(t['key'])}${t['value'] ? '=' + str(t['value']) : ''}:${str(t['effect'])}\n`);
  });
  w.write(0, `Unschedulable:\t${spec['unschedulable'] === true}\n`);
  // podpath serves no Lease objects; kubectl says so the same way against it.
  w.write(0, 'Lease:\tFailed to get lease: the server could not find the requested resource\n');
  const conditions = arr(status['conditions']);
  if (conditions.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n');
    w.write(1, '----\t------\t-----------------\t------------------\t------\t-------\n');
    for (const c of conditions) {
      w.write(1, `${str(c['type'])} \t${str(c['status'])} \t${rfc1123z(c['lastHeartbeatTime'])} \t${rfc1123z(c['lastTransitionTime'])} \t${str(c['reason'])} \t${str(c['message'])}\n`);
    }
  }
  w.write(0, 'Addresses:\n');
  for (const a of arr(status['addresses'])) w.write(1, `${str(a['type'])}:\t${str(a['address'])}\n`);
  for (const [field, title] of [
    ['capacity', 'Capacity'],
    ['allocatable', 'Allocatable'],
  ] as const) {
    const list = obj(status[field]);
    if (!Object.keys(list).length) continue;
    w.write(0, `${title}:\n`);
    for (const k of Object.keys(list).sort()) w.write(0, `  ${k}:\t${str(list[k])}\n`);
  }
  const info = obj(status['nodeInfo']);
  w.write(0, 'System Info:\n');
  for (const [k, title] of [
    ['machineID', 'Machine ID'],
    ['systemUUID', 'System UUID'],
    ['bootID', 'Boot ID'],
    ['kernelVersion', 'Kernel Version'],
    ['osImage', 'OS Image'],
    ['operatingSystem', 'Operating System'],
    ['architecture', 'Architecture'],
    ['containerRuntimeVersion', 'Container Runtime Version'],
    ['kubeletVersion', 'Kubelet Version'],
    ['kubeProxyVersion', 'Kube-Proxy Version'],
  ]) {
    w.write(0, `  ${title}:\t${str(info[k!])}\n`);
  }
  if (spec['podCIDR']) w.write(0, `PodCIDR:\t${str(spec['podCIDR'])}\n`);
  const cidrs = Array.isArray(spec['podCIDRs']) ? (spec['podCIDRs'] as string[]) : [];
  if (cidrs.length) w.write(0, `PodCIDRs:\t${cidrs.join(',')}\n`);
  if (spec['providerID']) w.write(0, `ProviderID:\t${str(spec['providerID'])}\n`);
  w.write(0, `Non-terminated Pods:\t(${pods.length} in total)\n`);
  w.write(1, 'Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n');
  w.write(1, '---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n');
  for (const p of pods) w.write(1, `${p.metadata.namespace ?? ''}\t${p.metadata.name ?? ''}\t\t0 (0%)\t0 (0%)\t0 (0%)\t0 (0%)\t${since(p.metadata.creationTimestamp)}\n`);
  w.write(0, 'Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n');
  w.write(1, 'Resource\tRequests\tLimits\n');
  w.write(1, '--------\t--------\t------\n');
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) w.write(1, `${r}\t0 (0%)\t0 (0%)\n`);
  const allocatable = obj(status['allocatable'] ?? status['capacity']);
  for (const r of Object.keys(allocatable).filter((k) => k.startsWith('hugepages-')).sort()) w.write(1, `${r}\t0 (0%)\t0 (0%)\n`);
  describeEvents(w, events);
  return w.render();
}

// ---- deployments -----------------------------------------------------------------------------------

function withoutHash(template: unknown): string {
  const t = JSON.parse(JSON.stringify(template ?? {})) as { metadata?: { labels?: Record<string, string> } };
  delete t.metadata?.labels?.['pod-template-hash'];
  return JSON.stringify(t, Object.keys(t).sort());
}

function describeDeployment(d: KubeObject, replicaSets: KubeObject[], events: KubeObject[] | undefined): string {
  const w = new Out();
  const spec = obj(d['spec']);
  const status = obj(d['status']);
  w.write(0, `Name:\t${d.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${d.metadata.namespace ?? ''}\n`);
  w.write(0, `CreationTimestamp:\t${rfc1123z(d.metadata.creationTimestamp)}\n`);
  labelsMultiline(w, '', 'Labels', d.metadata.labels);
  annotationsMultiline(w, 'Annotations', d.metadata.annotations);
  const selector = selectorFromObject(obj(spec['selector']) as LabelSelectorObject).toString();
  w.write(0, `Selector:\t${selector}\n`);
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  w.write(
    0,
    `Replicas:\t${n(spec['replicas'])} desired | ${n(status['updatedReplicas'])} updated | ${n(status['replicas'])} total | ${n(status['availableReplicas'])} available | ${n(status['unavailableReplicas'])} unavailable\n`,
  );
  const strategy = obj(spec['strategy']);
  w.write(0, `StrategyType:\t${str(strategy['type'])}\n`);
  w.write(0, `MinReadySeconds:\t${n(spec['minReadySeconds'])}\n`);
  if (strategy['rollingUpdate']) {
    const ru = obj(strategy['rollingUpdate']);
    w.write(0, `RollingUpdateStrategy:\t${str(ru['maxUnavailable'])} max unavailable, ${str(ru['maxSurge'])} max surge\n`);
  }
  const template = obj(spec['template']);
  const tspec = obj(template['spec']);
  w.write(0, 'Pod Template:\n');
  labelsMultiline(w, '  ', 'Labels', obj(obj(template['metadata'])['labels']) as Record<string, string>);
  const tAnnotations = obj(obj(template['metadata'])['annotations']) as Record<string, string>;
  if (Object.keys(tAnnotations).length) annotationsMultiline(w, '  Annotations', tAnnotations);
  if (tspec['serviceAccountName']) w.write(1, `Service Account:\t${str(tspec['serviceAccountName'])}\n`);
  if (arr(tspec['initContainers']).length) describeContainers(w, 'Init Containers', arr(tspec['initContainers']), undefined, '  ');
  describeContainers(w, 'Containers', arr(tspec['containers']), undefined, '  ');
  describeVolumes(w, arr(tspec['volumes']), '  ');
  if (tspec['priorityClassName']) w.write(1, `Priority Class Name:\t${str(tspec['priorityClassName'])}\n`);
  labelsMultiline(w, '  ', 'Node-Selectors', obj(tspec['nodeSelector']) as Record<string, string>);
  tolerationsMultiline(w, '  ', 'Tolerations', arr(tspec['tolerations']));
  const conditions = arr(status['conditions']);
  if (conditions.length) {
    w.write(0, 'Conditions:\n  Type\tStatus\tReason\n');
    w.write(1, '----\t------\t------\n');
    for (const c of conditions) w.write(1, `${str(c['type'])} \t${str(c['status'])}\t${str(c['reason'])}\n`);
  }
  const owned = replicaSets
    .filter((rs) => (rs.metadata.ownerReferences ?? []).some((r) => (r as { uid?: string }).uid === d.metadata.uid))
    .sort((a, b) => (str(a.metadata.creationTimestamp) < str(b.metadata.creationTimestamp) ? -1 : 1));
  const wanted = withoutHash(spec['template']);
  const newRs = owned.find((rs) => withoutHash(obj(rs['spec'])['template']) === wanted);
  const oldRs = owned.filter((rs) => rs !== newRs && n(obj(rs['spec'])['replicas']) !== 0);
  const rsText = (list: KubeObject[]): string =>
    list.length ? list.map((rs) => `${rs.metadata.name ?? ''} (${n(obj(rs['status'])['replicas'])}/${n(obj(rs['spec'])['replicas'])} replicas created)`).join(', ') : '<none>';
  if (owned.length) {
    w.write(0, `OldReplicaSets:\t${rsText(oldRs)}\n`);
    w.write(0, `NewReplicaSet:\t${rsText(newRs ? [newRs] : [])}\n`);
  }
  describeEvents(w, events);
  return w.render();
}

// ---- any other kind (kubectl's generic describer) -----------------------------------------------

/** fatih/camelcase's split: runs of letters by case, an upper-case run giving its last letter to a following lower-case run. */
function camelSplit(s: string): string[] {
  const runs: string[] = [];
  let kind = -1;
  for (const c of s) {
    const k = /\p{Lu}/u.test(c) ? 1 : /\p{Ll}/u.test(c) ? 2 : /\p{Nd}/u.test(c) ? 3 : 4;
    if (k === kind) runs[runs.length - 1] += c;
    else runs.push(c);
    kind = k;
  }
  for (let i = 0; i < runs.length - 1; i++) {
    if (/^\p{Lu}/u.test(runs[i]!) && /^\p{Ll}/u.test(runs[i + 1]!)) {
      runs[i + 1] = runs[i]!.slice(-1) + runs[i + 1];
      runs[i] = runs[i]!.slice(0, -1);
    }
  }
  return runs.filter(Boolean);
}

function smartLabel(field: string): string {
  if (/[^\p{L}-]/u.test(field)) return field;
  const acronyms = ['API', 'URL', 'UID', 'OSB', 'GUID'];
  return camelSplit(field)
    .filter((p) => p !== '_')
    .map((p) => (acronyms.includes(p.toUpperCase()) ? p.toUpperCase() : p.charAt(0).toUpperCase() + p.slice(1)))
    .join(' ');
}

function printContent(w: Out, level: number, content: Json, prefix: string, skip: string[]): void {
  for (const field of Object.keys(content).sort()) {
    const value = content[field];
    const path = `${prefix}.${field}`;
    if (skip.includes(path)) continue;
    if (Array.isArray(value)) {
      w.write(level, `${smartLabel(field)}:\n`);
      for (const child of value) {
        if (typeof child === 'object' && child !== null && !Array.isArray(child)) printContent(w, level + 1, child as Json, path, skip);
        else w.write(level + 1, `${goValue(child)}\n`);
      }
    } else if (typeof value === 'object' && value !== null) {
      w.write(level, `${smartLabel(field)}:\n`);
      printContent(w, level + 1, value as Json, path, skip);
    } else {
      w.write(level, `${smartLabel(field)}:\t${goValue(value)}\n`);
    }
  }
}

function describeGeneric(o: KubeObject, events: KubeObject[] | undefined): string {
  const w = new Out();
  w.write(0, `Name:\t${o.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${o.metadata.namespace ?? ''}\n`);
  labelsMultiline(w, '', 'Labels', o.metadata.labels);
  annotationsMultiline(w, 'Annotations', o.metadata.annotations);
  printContent(w, 0, o as unknown as Json, '', ['.metadata.managedFields', '.metadata.name', '.metadata.namespace', '.metadata.labels', '.metadata.annotations']);
  describeEvents(w, events);
  return w.render();
}

function describeEndpoints(ep: KubeObject, events: KubeObject[] | undefined): string {
  const w = new Out();
  w.write(0, `Name:\t${ep.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${ep.metadata.namespace ?? ''}\n`);
  labelsMultiline(w, '', 'Labels', ep.metadata.labels);
  annotationsMultiline(w, 'Annotations', ep.metadata.annotations);
  w.write(0, 'Subsets:\n');
  const ips = (list: Json[]): string => list.map((a) => str(a['ip'])).join(',') || '<none>';
  for (const ss of arr(ep['subsets'])) {
    w.write(1, `Addresses:\t${ips(arr(ss['addresses']))}\n`);
    w.write(1, `NotReadyAddresses:\t${ips(arr(ss['notReadyAddresses']))}\n`);
    const ports = arr(ss['ports']);
    if (ports.length) {
      w.write(1, 'Ports:\n');
      w.write(2, 'Name\tPort\tProtocol\n');
      w.write(2, '----\t----\t--------\n');
      for (const p of ports) w.write(2, `${str(p['name']) || '<unset>'}\t${str(p['port'])}\t${str(p['protocol'])}\n`);
    }
    w.write(0, '\n');
  }
  describeEvents(w, events);
  return w.render();
}

function describeNamespace(ns: KubeObject): string {
  const w = new Out();
  w.write(0, `Name:\t${ns.metadata.name ?? ''}\n`);
  labelsMultiline(w, '', 'Labels', ns.metadata.labels);
  annotationsMultiline(w, 'Annotations', ns.metadata.annotations);
  w.write(0, `Status:\t${str(obj(ns['status'])['phase'])}\n`);
  return w.render();
}

// ---- the command --------------------------------------------------------------------------------

async function eventsFor(ctx: KubectlContext, o: KubeObject): Promise<KubeObject[] | undefined> {
  if (!ctx.flags.bool('show-events')) return undefined;
  const conn = await ctx.conn();
  const events = lookupResource('events')!;
  const fields = [`involvedObject.name=${o.metadata.name ?? ''}`, `involvedObject.uid=${o.metadata.uid ?? ''}`];
  if (o.metadata.namespace) fields.push(`involvedObject.namespace=${o.metadata.namespace}`);
  const a = await conn.list(`${collectionPath(events, o.metadata.namespace)}?fieldSelector=${encodeURIComponent(fields.join(','))}`);
  return a.ok ? a.value.items : [];
}

async function describeOne(ctx: KubectlContext, type: ResolvedType, o: KubeObject): Promise<string> {
  const conn = await ctx.conn();
  switch (type.info.kind) {
    case 'Pod':
      return describePod(o, await eventsFor(ctx, o));
    case 'Service': {
      const slices = lookupResource('endpointslices')!;
      const q = `?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${o.metadata.name ?? ''}`)}`;
      const a = await conn.list(collectionPath(slices, o.metadata.namespace) + q);
      return describeService(o, a.ok ? a.value.items : [], await eventsFor(ctx, o));
    }
    case 'Node': {
      const pods = lookupResource('pods')!;
      const q = `?fieldSelector=${encodeURIComponent(`spec.nodeName=${o.metadata.name ?? ''},status.phase!=Failed,status.phase!=Succeeded`)}`;
      const a = await conn.list(collectionPath(pods) + q);
      return describeNode(o, a.ok ? a.value.items : [], await eventsFor(ctx, o));
    }
    case 'Deployment': {
      const rs = lookupResource('replicasets')!;
      const a = await conn.list(collectionPath(rs, o.metadata.namespace));
      return describeDeployment(o, a.ok ? a.value.items : [], await eventsFor(ctx, o));
    }
    case 'Namespace':
      return describeNamespace(o);
    case 'Endpoints':
      return describeEndpoints(o, await eventsFor(ctx, o));
    default:
      return describeGeneric(o, await eventsFor(ctx, o));
  }
}

export async function runDescribe(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  if (f.args.length === 0) {
    throw usageError('You must specify the type of resource to describe. Use "kubectl api-resources" for a complete list of supported resources.');
  }
  const parsed = parseResourceArgs(ctx, f.args);
  const conn = await ctx.conn();
  const texts: string[] = [];
  const failures: Status[] = [];
  for (const req of parsed.requests) {
    const found: KubeObject[] = [];
    if (req.names) {
      for (const name of req.names) {
        const a = await conn.get<KubeObject>(objectPath(req.type.info, name, req.type.info.namespaced ? ctx.namespace : undefined));
        if (a.ok) {
          found.push(a.value);
          continue;
        }
        // `kubectl describe TYPE NAME` also matches names by prefix, printing each match followed by a blank line.
        if (a.status.reason === 'NotFound' && f.args.length === 2 && !f.args[0]!.includes('/')) {
          const list = await conn.list(listPath(ctx, req.type, false));
          const matches = list.ok ? list.value.items.filter((o) => (o.metadata.name ?? '').startsWith(name)) : [];
          if (matches.length) {
            for (const o of matches) ctx.io.out(`${await describeOne(ctx, req.type, o)}\n`);
            return 0;
          }
        }
        failures.push(a.status);
      }
    } else {
      const q = new URLSearchParams();
      if (f.string('selector')) q.set('labelSelector', f.string('selector'));
      const list = await ctx.must(conn.list(listPath(ctx, req.type, f.bool('all-namespaces'), q)));
      found.push(...(list as KubeList).items);
      if (!found.length && !parsed.requests.some((r) => r.names)) {
        ctx.io.err(f.bool('all-namespaces') || !req.type.info.namespaced ? 'No resources found\n' : `No resources found in ${ctx.namespace} namespace.\n`);
      }
    }
    for (const o of found) texts.push(await describeOne(ctx, req.type, o));
  }
  if (texts.length) ctx.io.out(texts.join('\n\n'));
  const failed = aggregate(failures);
  if (failed) throw failed;
  if (!texts.length && failures.length) throw new KubectlError('');
  return 0;
}
