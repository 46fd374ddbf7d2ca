// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for,
// with the columns Kubernetes and Cilium's CRDs define for each kind (NAME,
// READY, STATUS, RESTARTS, AGE for pods; SECURITY IDENTITY, ENDPOINT STATE,
// IPV4, IPV6 for CiliumEndpoints, ...). Columns with priority 1 appear with
// `-o wide`.

import type { ResourceInfo } from './resources.js';
import { selectorFromMap, selectorFromObject, type LabelSelectorObject } from './selectors.js';
import { isPlainObject, type JsonObject } from './json.js';
import type { KubeObject } from './types.js';

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'number' | 'boolean';
  format: string;
  description: string;
  priority: number;
}

export type Cell = string | number | boolean;

export interface TableRow {
  cells: Cell[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

/** What each row carries besides its cells (the `includeObject` query parameter). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

interface ColumnSpec {
  name: string;
  type?: TableColumn['type'];
  wide?: boolean;
  description?: string;
  cell: (o: KubeObject, now: number) => Cell;
}

// ---- helpers ------------------------------------------------------------------

function at(o: unknown, ...path: (string | number)[]): unknown {
  let cur = o;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

function str(v: unknown, empty = '<none>'): string {
  return v === undefined || v === null || v === '' ? empty : String(v);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function list(v: unknown): JsonObject[] {
  return Array.isArray(v) ? v.filter(isPlainObject) : [];
}

/**
 * An Endpoints' addresses as `get endpoints` shows them: ip:port for each port
 * and then each ready address, the first three, then "+ N more...".
 */
function endpointsCell(o: KubeObject): string {
  const subsets = list(at(o, 'subsets'));
  if (!subsets.length) return '<none>';
  const shown: string[] = [];
  let count = 0;
  let more = false;
  const ip = (a: JsonObject): string => String(a['ip'] ?? '');
  for (const ss of subsets) {
    const addresses = list(ss['addresses']);
    const ports = list(ss['ports']);
    if (!ports.length) {
      count += addresses.length;
      for (const a of addresses) {
        if (shown.length === 3) {
          more = true;
          break;
        }
        shown.push(ip(a));
      }
      continue;
    }
    for (const p of ports) {
      for (const a of addresses) {
        if (shown.length === 3) more = true;
        else shown.push(ip(a).includes(':') ? `[${ip(a)}]:${String(p['port'])}` : `${ip(a)}:${String(p['port'])}`);
      }
      count += addresses.length;
    }
  }
  return more ? `${shown.join(',')} + ${count - 3} more...` : shown.join(',');
}

/** Durations the way kubectl prints them: 45s, 3m20s, 15m, 5h10m, 3d4h, 2y10d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

function since(timestamp: unknown, now: number): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

const NAME: ColumnSpec = { name: 'Name', cell: (o) => o.metadata.name ?? '', description: 'Name must be unique within a namespace.' };
const AGE: ColumnSpec = {
  name: 'Age',
  cell: (o, now) => since(o.metadata.creationTimestamp, now),
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};

function containersOf(o: KubeObject): JsonObject[] {
  return list(at(o, 'spec', 'template', 'spec', 'containers'));
}

const WORKLOAD_WIDE: ColumnSpec[] = [
  { name: 'Containers', wide: true, cell: (o) => containersOf(o).map((c) => str(c['name'], '')).join(',') },
  { name: 'Images', wide: true, cell: (o) => containersOf(o).map((c) => str(c['image'], '')).join(',') },
  {
    name: 'Selector',
    wide: true,
    cell: (o) => {
      const sel = at(o, 'spec', 'selector');
      return isPlainObject(sel) ? str(selectorFromObject(sel as LabelSelectorObject).toString()) : '<none>';
    },
  },
];

// ---- per-kind columns ------------------------------------------------------------

/** kubectl's pod STATUS: the phase, refined by container states and deletion. */
function podStatus(o: KubeObject): string {
  let reason = str(at(o, 'status', 'reason'), '') || str(at(o, 'status', 'phase'), 'Unknown');
  for (const cs of list(at(o, 'status', 'containerStatuses'))) {
    const waiting = at(cs, 'state', 'waiting', 'reason');
    const terminated = at(cs, 'state', 'terminated');
    if (typeof waiting === 'string' && waiting) reason = waiting;
    else if (isPlainObject(terminated)) {
      const r = terminated['reason'];
      reason =
        typeof r === 'string' && r
          ? r
          : terminated['signal']
            ? `Signal:${String(terminated['signal'])}`
            : `ExitCode:${String(terminated['exitCode'] ?? 0)}`;
    }
  }
  if (o.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function nodeStatus(o: KubeObject): string {
  const ready = list(at(o, 'status', 'conditions')).find((c) => c['type'] === 'Ready');
  let s = !ready ? 'Unknown' : ready['status'] === 'True' ? 'Ready' : ready['status'] === 'False' ? 'NotReady' : 'Unknown';
  if (at(o, 'spec', 'unschedulable') === true) s += ',SchedulingDisabled';
  return s;
}

function nodeRoles(o: KubeObject): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean);
  return roles.length ? roles.sort().join(',') : '<none>';
}

function nodeAddress(o: KubeObject, type: string): string {
  return str(list(at(o, 'status', 'addresses')).find((a) => a['type'] === type)?.['address']);
}

function servicePorts(o: KubeObject): string {
  const ports = list(at(o, 'spec', 'ports')).map((p) => {
    const nodePort = p['nodePort'] ? `:${String(p['nodePort'])}` : '';
    return `${String(p['port'])}${nodePort}/${str(p['protocol'], 'TCP')}`;
  });
  return ports.length ? ports.join(',') : '<none>';
}

function serviceExternalIp(o: KubeObject): string {
  const type = at(o, 'spec', 'type');
  const external = (at(o, 'spec', 'externalIPs') as string[] | undefined) ?? [];
  if (type === 'ExternalName') return str(at(o, 'spec', 'externalName'));
  if (type === 'LoadBalancer') {
    const ingress = list(at(o, 'status', 'loadBalancer', 'ingress')).map((i) => str(i['ip'] ?? i['hostname'], ''));
    const all = [...ingress, ...external].filter(Boolean);
    return all.length ? all.join(',') : '<pending>';
  }
  return external.length ? external.join(',') : '<none>';
}

function cepAddress(o: KubeObject, family: 'ipv4' | 'ipv6'): string {
  return str(list(at(o, 'status', 'networking', 'addressing'))[0]?.[family], '');
}

function ciliumNodeAddress(o: KubeObject, type: string): string {
  return str(list(at(o, 'spec', 'addresses')).find((a) => a['type'] === type)?.['ip'], '');
}

function policyValid(o: KubeObject): string {
  const valid = list(at(o, 'status', 'conditions')).find((c) => c['type'] === 'Valid');
  return str(valid?.['status'], '');
}

const COLUMNS: Record<string, ColumnSpec[]> = {
  '/pods': [
    NAME,
    {
      name: 'Ready',
      description: 'The aggregate readiness state of this pod for accepting traffic.',
      cell: (o) => {
        const statuses = list(at(o, 'status', 'containerStatuses'));
        const total = list(at(o, 'spec', 'containers')).length;
        return `${statuses.filter((c) => c['ready'] === true).length}/${total}`;
      },
    },
    { name: 'Status', description: 'The aggregate status of the containers in this pod.', cell: podStatus },
    {
      name: 'Restarts',
      type: 'string',
      description: 'The number of times the containers in this pod have been restarted.',
      cell: (o) => String(list(at(o, 'status', 'containerStatuses')).reduce((n, c) => n + num(c['restartCount']), 0)),
    },
    AGE,
    { name: 'IP', wide: true, cell: (o) => str(at(o, 'status', 'podIP')) },
    { name: 'Node', wide: true, cell: (o) => str(at(o, 'spec', 'nodeName')) },
    { name: 'Nominated Node', wide: true, cell: (o) => str(at(o, 'status', 'nominatedNodeName')) },
    {
      name: 'Readiness Gates',
      wide: true,
      cell: (o) => {
        const gates = list(at(o, 'spec', 'readinessGates'));
        if (!gates.length) return '<none>';
        const met = gates.filter((g) => list(at(o, 'status', 'conditions')).some((c) => c['type'] === g['conditionType'] && c['status'] === 'True'));
        return `${met.length}/${gates.length}`;
      },
    },
  ],
  '/services': [
    NAME,
    { name: 'Type', cell: (o) => str(at(o, 'spec', 'type'), 'ClusterIP') },
    { name: 'Cluster-IP', cell: (o) => str(at(o, 'spec', 'clusterIP')) },
    { name: 'External-IP', cell: serviceExternalIp },
    { name: 'Port(s)', cell: servicePorts },
    AGE,
    {
      name: 'Selector',
      wide: true,
      cell: (o) => {
        const sel = at(o, 'spec', 'selector');
        return isPlainObject(sel) && Object.keys(sel).length ? selectorFromMap(sel as Record<string, string>).toString() : '<none>';
      },
    },
  ],
  '/namespaces': [NAME, { name: 'Status', cell: (o) => str(at(o, 'status', 'phase'), 'Active') }, AGE],
  '/nodes': [
    NAME,
    { name: 'Status', cell: nodeStatus },
    { name: 'Roles', cell: nodeRoles },
    AGE,
    { name: 'Version', cell: (o) => str(at(o, 'status', 'nodeInfo', 'kubeletVersion'), '') },
    { name: 'Internal-IP', wide: true, cell: (o) => nodeAddress(o, 'InternalIP') },
    { name: 'External-IP', wide: true, cell: (o) => nodeAddress(o, 'ExternalIP') },
    { name: 'OS-Image', wide: true, cell: (o) => str(at(o, 'status', 'nodeInfo', 'osImage'), '<unknown>') },
    { name: 'Kernel-Version', wide: true, cell: (o) => str(at(o, 'status', 'nodeInfo', 'kernelVersion'), '<unknown>') },
    { name: 'Container-Runtime', wide: true, cell: (o) => str(at(o, 'status', 'nodeInfo', 'containerRuntimeVersion'), '<unknown>') },
  ],
  '/configmaps': [NAME, { name: 'Data', type: 'integer', cell: (o) => Object.keys(at(o, 'data') ?? {}).length + Object.keys(at(o, 'binaryData') ?? {}).length }, AGE],
  '/serviceaccounts': [NAME, { name: 'Secrets', type: 'integer', cell: (o) => list(at(o, 'secrets')).length }, AGE],
  '/events': [
    { name: 'Last Seen', cell: (o, now) => since(at(o, 'lastTimestamp') ?? at(o, 'eventTime') ?? o.metadata.creationTimestamp, now) },
    { name: 'Type', cell: (o) => str(at(o, 'type'), '') },
    { name: 'Reason', cell: (o) => str(at(o, 'reason'), '') },
    { name: 'Object', cell: (o) => `${String(at(o, 'involvedObject', 'kind') ?? '').toLowerCase()}/${String(at(o, 'involvedObject', 'name') ?? '')}` },
    { name: 'Message', cell: (o) => str(at(o, 'message'), '').trim() },
  ],
  '/endpoints': [NAME, { name: 'Endpoints', cell: (o) => endpointsCell(o) }, AGE],
  'discovery.k8s.io/endpointslices': [
    NAME,
    { name: 'AddressType', cell: (o) => str(at(o, 'addressType'), '') },
    {
      name: 'Ports',
      cell: (o) => {
        const ports = list(at(o, 'ports')).map((p) => (p['port'] === undefined ? '<unset>' : String(p['port'])));
        return ports.length ? ports.join(',') : '<unset>';
      },
    },
    {
      name: 'Endpoints',
      cell: (o) => {
        const addrs = list(at(o, 'endpoints')).flatMap((e) => (Array.isArray(e['addresses']) ? (e['addresses'] as string[]) : []));
        if (!addrs.length) return '<unset>';
        return addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
      },
    },
    AGE,
  ],
  'apps/deployments': [
    NAME,
    { name: 'Ready', cell: (o) => `${num(at(o, 'status', 'readyReplicas'))}/${num(at(o, 'spec', 'replicas'))}` },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(at(o, 'status', 'updatedReplicas')) },
    { name: 'Available', type: 'integer', cell: (o) => num(at(o, 'status', 'availableReplicas')) },
    AGE,
    ...WORKLOAD_WIDE,
  ],
  'apps/replicasets': [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => num(at(o, 'spec', 'replicas')) },
    { name: 'Current', type: 'integer', cell: (o) => num(at(o, 'status', 'replicas')) },
    { name: 'Ready', type: 'integer', cell: (o) => num(at(o, 'status', 'readyReplicas')) },
    AGE,
    ...WORKLOAD_WIDE,
  ],
  'apps/daemonsets': [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => num(at(o, 'status', 'desiredNumberScheduled')) },
    { name: 'Current', type: 'integer', cell: (o) => num(at(o, 'status', 'currentNumberScheduled')) },
    { name: 'Ready', type: 'integer', cell: (o) => num(at(o, 'status', 'numberReady')) },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(at(o, 'status', 'updatedNumberScheduled')) },
    { name: 'Available', type: 'integer', cell: (o) => num(at(o, 'status', 'numberAvailable')) },
    {
      name: 'Node Selector',
      cell: (o) => {
        const sel = at(o, 'spec', 'template', 'spec', 'nodeSelector');
        return isPlainObject(sel) && Object.keys(sel).length ? selectorFromMap(sel as Record<string, string>).toString() : '<none>';
      },
    },
    AGE,
    ...WORKLOAD_WIDE,
  ],
  'networking.k8s.io/networkpolicies': [
    NAME,
    {
      name: 'Pod-Selector',
      cell: (o) => {
        const sel = at(o, 'spec', 'podSelector');
        const text = isPlainObject(sel) ? selectorFromObject(sel as LabelSelectorObject).toString() : '';
        return text || '<none>';
      },
    },
    AGE,
  ],
  // Cilium's CRDs declare these additionalPrinterColumns.
  'cilium.io/ciliumnetworkpolicies': [NAME, AGE, { name: 'Valid', cell: policyValid }],
  'cilium.io/ciliumclusterwidenetworkpolicies': [NAME, AGE, { name: 'Valid', cell: policyValid }],
  'cilium.io/ciliumendpoints': [
    NAME,
    { name: 'Security Identity', type: 'integer', cell: (o) => num(at(o, 'status', 'identity', 'id')) },
    { name: 'Endpoint State', cell: (o) => str(at(o, 'status', 'state'), '') },
    { name: 'IPv4', cell: (o) => cepAddress(o, 'ipv4') },
    { name: 'IPv6', cell: (o) => cepAddress(o, 'ipv6') },
  ],
  'cilium.io/ciliumidentities': [NAME, { name: 'Namespace', cell: (o) => str(o.metadata.labels?.['io.kubernetes.pod.namespace'], '') }, AGE],
  'cilium.io/ciliumnodes': [
    NAME,
    { name: 'CiliumInternalIP', cell: (o) => ciliumNodeAddress(o, 'CiliumInternalIP') },
    { name: 'InternalIP', cell: (o) => ciliumNodeAddress(o, 'InternalIP') },
    AGE,
  ],
};

function columnsFor(resource: ResourceInfo): ColumnSpec[] {
  return COLUMNS[`${resource.group}/${resource.plural}`] ?? [NAME, AGE];
}

function columnDefinitions(resource: ResourceInfo): TableColumn[] {
  return columnsFor(resource).map((c) => ({
    name: c.name,
    type: c.type ?? 'string',
    format: c === NAME ? 'name' : '',
    description: c.description ?? '',
    priority: c.wide ? 1 : 0,
  }));
}

function rowObject(o: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

/**
 * Render objects of one resource as a Table at wall-clock time `now` (ms).
 * `withHeaders: false` omits the column definitions (later watch events).
 */
export function toTable(
  resource: ResourceInfo,
  objects: readonly KubeObject[],
  now: number,
  opts: { include?: IncludeObject; withHeaders?: boolean; resourceVersion?: string; continue?: string } = {},
): Table {
  const columns = columnsFor(resource);
  const include = opts.include ?? 'Metadata';
  const metadata: Table['metadata'] = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: opts.withHeaders === false ? [] : columnDefinitions(resource),
    rows: objects.map((o) => {
      const row: TableRow = { cells: columns.map((c) => c.cell(o, now)) };
      const object = rowObject(o, include);
      if (object !== undefined) row.object = object;
      return row;
    }),
  };
}
