// The cluster config: what `podpath up --config FILE` reads. A YAML-able
// object validated before anything is built, so a bad file is rejected with
// the field that is wrong (`externalHosts[0].ip: Invalid value: "300.1.2.3":
// must be a valid IPv4 address`), the way kubectl reports bad manifests.
//
// Layout follows kind: nodes `<name>-control-plane`, `<name>-worker`,
// `<name>-worker2`, ... on 172.18.0.0/16 from .2 up, pod CIDRs 10.244.N.0/24
// in node order, services in 10.96.0.0/16.

import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { cidrContains, cidrToString, ipv4ToString, parseCidr, parseIpv4Addr, prefixMask } from '../packet/ip.js';
import { MonitorAggregation } from '../datapath/trace.js';
import {
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  renderFieldErrors,
  type FieldError,
} from '../k8s/validation/field.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const POLICY_ENFORCEMENT_MODES = ['default', 'always', 'never'] as const;
export type PolicyEnforcementMode = (typeof POLICY_ENFORCEMENT_MODES)[number];

export const MONITOR_AGGREGATION_LEVELS = ['none', 'low', 'medium', 'maximum'] as const;
export type MonitorAggregationLevel = (typeof MONITOR_AGGREGATION_LEVELS)[number];

export const EXTERNAL_HOST_APPS = ['http', 'echo'] as const;

const portSchema = z.strictObject({
  port: z.int(),
  protocol: z.string().default('TCP'),
});

const externalHostSchema = z.strictObject({
  name: z.string(),
  ip: z.string(),
  ports: z.array(portSchema).default([]),
  app: z.string().default('http'),
});

const ciliumSchema = z.strictObject({
  /** Cilium's cluster-name (the `io.cilium.k8s.policy.cluster` label); kind + Cilium installs use "default". */
  clusterName: z.string().default('default'),
  version: z.string().default('1.17.4'),
  policyEnforcementMode: z.string().default('default'),
  policyAuditMode: z.boolean().default(false),
  socketLB: z.boolean().default(true),
  monitorAggregation: z.string().default('medium'),
});

export const clusterConfigSchema = z.strictObject({
  name: z.string().default('kind'),
  workers: z.int().default(3),
  /** Underlay subnet the node IPs come from (kind's docker network). */
  nodeSubnet: z.string().default('172.18.0.0/16'),
  /** Cluster pod CIDR; node N gets the N-th /nodeCIDRMaskSize out of it. */
  podCIDR: z.string().default('10.244.0.0/16'),
  nodeCIDRMaskSize: z.int().default(24),
  /** Per-node pod CIDR overrides, by node name. */
  podCIDRs: z.record(z.string(), z.string()).default({}),
  serviceCIDR: z.string().default('10.96.0.0/16'),
  cilium: ciliumSchema.default(() => ciliumSchema.parse({})),
  externalHosts: z.array(externalHostSchema).default([]),
  seed: z.int().default(1),
});

/** The validated config (every default filled in). */
export type ClusterConfig = z.infer<typeof clusterConfigSchema>;
export type ClusterConfigInput = z.input<typeof clusterConfigSchema>;
export type ExternalHostConfig = ClusterConfig['externalHosts'][number];

export type ParseConfigResult = { ok: true; config: ClusterConfig } | { ok: false; errors: FieldError[]; message: string };

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
}

/** Turn zod's issues into apiserver-style field errors ("workers: Invalid value: \"three\": expected number"). */
function zodErrors(err: z.ZodError, input: unknown): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of err.issues) {
    const path = pathText(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push(fieldForbidden(path ? `${path}.${k}` : k, 'unknown field'));
      continue;
    }
    const value = valueAt(input, issue.path);
    if (value === undefined) out.push(fieldRequired(path || '<root>'));
    else if (issue.code === 'invalid_type') out.push(fieldInvalid(path || '<root>', value, `expected ${issue.expected}`));
    else out.push(fieldInvalid(path || '<root>', value, issue.message));
  }
  return out;
}

/** Validate a config object (e.g. parsed YAML). Missing fields get kind's defaults. */
export function parseClusterConfig(input: unknown): ParseConfigResult {
  const parsed = clusterConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const errors = zodErrors(parsed.error, input);
    return { ok: false, errors, message: renderFieldErrors(errors) };
  }
  const errors = checkSemantics(parsed.data);
  if (errors.length) return { ok: false, errors, message: renderFieldErrors(errors) };
  return { ok: true, config: parsed.data };
}

/** Parse YAML text into a validated config. A YAML syntax error is reported as one error at `<root>`. */
export function parseClusterConfigYaml(text: string): ParseConfigResult {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const errors = [fieldInvalid('<root>', undefined, `invalid YAML: ${err instanceof Error ? err.message : String(err)}`)];
    return { ok: false, errors, message: renderFieldErrors(errors) };
  }
  return parseClusterConfig(doc ?? {});
}

/** The default config (3 workers), optionally overridden. Throws on an invalid override. */
export function defaultClusterConfig(overrides: ClusterConfigInput = {}): ClusterConfig {
  const r = parseClusterConfig(overrides);
  if (!r.ok) throw new Error(`invalid cluster config: ${r.message}`);
  return r.config;
}

// ---- derived layout --------------------------------------------------------

export type NodeRole = 'control-plane' | 'worker';

export interface NodeLayout {
  name: string;
  role: NodeRole;
  /** Position in the node list: 0 is the control plane. */
  index: number;
  ip: number;
  /** Docker's MAC scheme: 02:42 followed by the IPv4 address. */
  mac: number;
  podCidr: { addr: number; prefixLen: number };
}

export function nodeNames(cfg: ClusterConfig): string[] {
  const names = [`${cfg.name}-control-plane`];
  for (let i = 1; i <= cfg.workers; i++) names.push(i === 1 ? `${cfg.name}-worker` : `${cfg.name}-worker${i}`);
  return names;
}

/** Nodes in kind's order with their underlay address and pod CIDR. */
export function nodeLayout(cfg: ClusterConfig): NodeLayout[] {
  const subnet = parseCidr(cfg.nodeSubnet)!;
  const pool = parseCidr(cfg.podCIDR)!;
  const step = 2 ** (32 - cfg.nodeCIDRMaskSize);
  return nodeNames(cfg).map((name, index) => {
    const ip = (subnet.addr + 2 + index) >>> 0;
    const override = cfg.podCIDRs[name];
    const podCidr = override ? parseCidr(override)! : { addr: (pool.addr + index * step) >>> 0, prefixLen: cfg.nodeCIDRMaskSize };
    return { name, role: index === 0 ? 'control-plane' : 'worker', index, ip, mac: 0x02_42_00_00_00_00 + ip, podCidr };
  });
}

export function monitorAggregationValue(level: string): number {
  switch (level) {
    case 'none':
      return MonitorAggregation.NONE;
    case 'low':
      return MonitorAggregation.LOW;
    case 'maximum':
      return MonitorAggregation.MAXIMUM;
    default:
      return MonitorAggregation.MEDIUM;
  }
}

// ---- semantic checks ----------------------------------------------------------

function checkCidrField(path: string, value: string, errors: FieldError[]): { addr: number; prefixLen: number } | null {
  const c = parseCidr(value);
  if (!c || !value.includes('/')) {
    errors.push(fieldInvalid(path, value, 'must be a valid IPv4 CIDR (e.g. 10.244.0.0/16)'));
    return null;
  }
  if (c.addr !== parseIpv4Addr(value.slice(0, value.indexOf('/')))) {
    errors.push(fieldInvalid(path, value, `must be a network address (did you mean ${cidrToString(c.addr, c.prefixLen)}?)`));
  }
  return c;
}

function overlaps(a: { addr: number; prefixLen: number }, b: { addr: number; prefixLen: number }): boolean {
  const len = Math.min(a.prefixLen, b.prefixLen);
  return ((a.addr & prefixMask(len)) >>> 0) === ((b.addr & prefixMask(len)) >>> 0);
}

function checkSemantics(cfg: ClusterConfig): FieldError[] {
  const errors: FieldError[] = [];
  if (!DNS_LABEL.test(cfg.name) || cfg.name.length > 40) {
    errors.push(fieldInvalid('name', cfg.name, 'must be a lowercase DNS label of at most 40 characters (a-z, 0-9, -)'));
  }
  if (cfg.workers < 0 || cfg.workers > 1000) errors.push(fieldInvalid('workers', cfg.workers, 'must be between 0 and 1000'));
  if (cfg.nodeCIDRMaskSize < 16 || cfg.nodeCIDRMaskSize > 28) {
    errors.push(fieldInvalid('nodeCIDRMaskSize', cfg.nodeCIDRMaskSize, 'must be between 16 and 28'));
  }
  if (!Number.isSafeInteger(cfg.seed) || cfg.seed < 0) errors.push(fieldInvalid('seed', cfg.seed, 'must be a non-negative integer'));

  const subnet = checkCidrField('nodeSubnet', cfg.nodeSubnet, errors);
  const pool = checkCidrField('podCIDR', cfg.podCIDR, errors);
  const services = checkCidrField('serviceCIDR', cfg.serviceCIDR, errors);
  const nodeCount = cfg.workers + 1;
  if (subnet && nodeCount + 2 > 2 ** (32 - subnet.prefixLen)) {
    errors.push(fieldInvalid('nodeSubnet', cfg.nodeSubnet, `too small for ${nodeCount} nodes`));
  }
  if (pool && cfg.nodeCIDRMaskSize >= pool.prefixLen && 2 ** (cfg.nodeCIDRMaskSize - pool.prefixLen) < nodeCount) {
    errors.push(fieldInvalid('podCIDR', cfg.podCIDR, `holds fewer than ${nodeCount} /${cfg.nodeCIDRMaskSize} node CIDRs`));
  } else if (pool && cfg.nodeCIDRMaskSize < pool.prefixLen) {
    errors.push(fieldInvalid('nodeCIDRMaskSize', cfg.nodeCIDRMaskSize, `must not be shorter than the podCIDR prefix (/${pool.prefixLen})`));
  }
  if (services && services.prefixLen > 28) errors.push(fieldInvalid('serviceCIDR', cfg.serviceCIDR, 'must be /28 or larger'));
  if (pool && services && overlaps(pool, services)) errors.push(fieldInvalid('serviceCIDR', cfg.serviceCIDR, `overlaps podCIDR ${cfg.podCIDR}`));
  if (subnet && pool && overlaps(subnet, pool)) errors.push(fieldInvalid('podCIDR', cfg.podCIDR, `overlaps nodeSubnet ${cfg.nodeSubnet}`));

  const names = new Set(nodeNames(cfg));
  const nodeCidrs: { name: string; cidr: { addr: number; prefixLen: number } }[] = [];
  for (const [node, cidr] of Object.entries(cfg.podCIDRs)) {
    const path = `podCIDRs[${node}]`;
    if (!names.has(node)) errors.push(fieldNotSupported(path, node, [...names]));
    const c = checkCidrField(path, cidr, errors);
    if (c && (c.prefixLen < 16 || c.prefixLen > 28)) errors.push(fieldInvalid(path, cidr, 'prefix must be between /16 and /28'));
    if (c && services && overlaps(c, services)) errors.push(fieldInvalid(path, cidr, `overlaps serviceCIDR ${cfg.serviceCIDR}`));
  }
  if (!errors.length) {
    for (const n of nodeLayout(cfg)) {
      const clash = nodeCidrs.find((o) => overlaps(o.cidr, n.podCidr));
      if (clash) errors.push(fieldInvalid(`podCIDRs[${n.name}]`, cidrToString(n.podCidr.addr, n.podCidr.prefixLen), `overlaps the pod CIDR of ${clash.name}`));
      nodeCidrs.push({ name: n.name, cidr: n.podCidr });
    }
  }

  const { policyEnforcementMode, monitorAggregation } = cfg.cilium;
  if (!(POLICY_ENFORCEMENT_MODES as readonly string[]).includes(policyEnforcementMode)) {
    errors.push(fieldNotSupported('cilium.policyEnforcementMode', policyEnforcementMode, POLICY_ENFORCEMENT_MODES));
  }
  if (!(MONITOR_AGGREGATION_LEVELS as readonly string[]).includes(monitorAggregation)) {
    errors.push(fieldNotSupported('cilium.monitorAggregation', monitorAggregation, MONITOR_AGGREGATION_LEVELS));
  }
  if (!DNS_LABEL.test(cfg.cilium.clusterName)) errors.push(fieldInvalid('cilium.clusterName', cfg.cilium.clusterName, 'must be a lowercase DNS label'));

  const hostNames = new Set<string>();
  const hostIps = new Set<number>();
  const nodeIps = errors.length ? [] : nodeLayout(cfg).map((n) => n.ip);
  cfg.externalHosts.forEach((h, i) => {
    const p = `externalHosts[${i}]`;
    if (!h.name) errors.push(fieldRequired(`${p}.name`));
    else if (!DNS_LABEL.test(h.name)) errors.push(fieldInvalid(`${p}.name`, h.name, 'must be a lowercase DNS label'));
    else if (hostNames.has(h.name) || names.has(h.name)) errors.push(fieldDuplicate(`${p}.name`, h.name));
    hostNames.add(h.name);
    const ip = parseIpv4Addr(h.ip);
    if (ip === null) {
      errors.push(fieldInvalid(`${p}.ip`, h.ip, 'must be a valid IPv4 address'));
    } else {
      if (hostIps.has(ip) || nodeIps.includes(ip)) errors.push(fieldDuplicate(`${p}.ip`, h.ip));
      hostIps.add(ip);
      if ((ip >>> 24) === 127 || ip === 0 || (ip >>> 28) >= 14) errors.push(fieldInvalid(`${p}.ip`, h.ip, 'must be a unicast address outside 127.0.0.0/8'));
      if (pool && cidrContains(pool.addr, pool.prefixLen, ip)) errors.push(fieldInvalid(`${p}.ip`, h.ip, `is inside the pod CIDR ${cfg.podCIDR}`));
      if (services && cidrContains(services.addr, services.prefixLen, ip)) errors.push(fieldInvalid(`${p}.ip`, h.ip, `is inside the service CIDR ${cfg.serviceCIDR}`));
    }
    if (!(EXTERNAL_HOST_APPS as readonly string[]).includes(h.app)) errors.push(fieldNotSupported(`${p}.app`, h.app, EXTERNAL_HOST_APPS));
    const seen = new Set<string>();
    h.ports.forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (port.port < 1 || port.port > 65535) errors.push(fieldInvalid(`${pp}.port`, port.port, 'must be between 1 and 65535, inclusive'));
      if (port.protocol !== 'TCP' && port.protocol !== 'UDP') errors.push(fieldNotSupported(`${pp}.protocol`, port.protocol, ['TCP', 'UDP']));
      const id = `${port.port}/${port.protocol}`;
      if (seen.has(id)) errors.push(fieldDuplicate(pp, id));
      seen.add(id);
    });
  });
  return errors;
}

/** "172.18.0.2" for diagnostics and status pages. */
export function formatIp(ip: number): string {
  return ipv4ToString(ip);
}
