// Policy objects → the internal rule model (src/policy/types.ts). Input is
// assumed valid (validate.ts ran at admission); anything odd that still gets
// here is read conservatively (selects nothing) rather than thrown on.
//
// The rewriting is Cilium's (pkg/k8s/apis/cilium.io/utils, pkg/k8s/network_policy.go):
//   CNP  endpointSelector            + k8s:io.kubernetes.pod.namespace=<ns>
//        fromEndpoints/toEndpoints    + k8s:io.kubernetes.pod.namespace=<ns>
//                                       unless the selector names that key or a reserved: label
//   CCNP endpointSelector            as written
//        fromEndpoints/toEndpoints    + k8s:io.kubernetes.pod.namespace Exists (same exceptions)
//   KNP  podSelector                 k8s: keys + namespace pin
//        peers                       podSelector pinned to the policy's namespace; namespaceSelector
//                                    keys become k8s:io.cilium.k8s.namespace.labels.<key>
//                                    ({} = io.kubernetes.pod.namespace Exists); ipBlock = CIDR rule

import { parsePrefix } from './cidr.js';
import { CLUSTER_KEY, NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY, Selector, SOURCE_ANY, SOURCE_K8S, SOURCE_RESERVED, type Requirement, type SelectorObject } from './selector.js';
import type { IcmpField, L4Proto, L7Rules, Peer, PeerRule, PolicyKind, PolicyOrigin, PolicyRule, PortProtocol, PortRule, RuleLabel, Section } from './types.js';
import { ICMPV4_TYPES, ICMPV6_TYPES, normalizeProtocol, parsePortString } from './validate.js';

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const isSet = (v: unknown): boolean => v !== undefined && v !== null;

export interface ParseOptions {
  /** Cilium's cluster-name: the `cluster` entity and KNP peers match pods by it. */
  clusterName: string;
}

export const POLICY_LABEL_DERIVED_FROM = 'io.cilium.k8s.policy.derived-from';
export const POLICY_LABEL_NAME = 'io.cilium.k8s.policy.name';
export const POLICY_LABEL_NAMESPACE = 'io.cilium.k8s.policy.namespace';
export const POLICY_LABEL_UID = 'io.cilium.k8s.policy.uid';

/** The labels every imported rule carries (`cilium policy get`, traces, Hubble). */
export function policyLabels(o: PolicyOrigin): RuleLabel[] {
  const out: RuleLabel[] = [{ key: POLICY_LABEL_DERIVED_FROM, value: o.kind, source: SOURCE_K8S }, { key: POLICY_LABEL_NAME, value: o.name, source: SOURCE_K8S }];
  if (o.namespace) out.push({ key: POLICY_LABEL_NAMESPACE, value: o.namespace, source: SOURCE_K8S });
  out.push({ key: POLICY_LABEL_UID, value: o.uid, source: SOURCE_K8S });
  return out;
}

// ---- entities -------------------------------------------------------------------

const reserved = (name: string): Selector => Selector.label(SOURCE_RESERVED, name);

/** Entity → selectors on reserved labels (api.EntitySelectorMapping); `all` is the wildcard. */
export function entityPeers(entity: string, clusterName: string): Peer[] {
  const sel = (s: Selector): Peer => ({ type: 'selector', selector: s, from: 'entities' });
  switch (entity) {
    case 'all':
      return [{ type: 'wildcard' }];
    case 'world':
      return [sel(reserved('world'))];
    case 'host':
    case 'remote-node':
    case 'kube-apiserver':
    case 'health':
    case 'init':
    case 'ingress':
    case 'unmanaged':
      return [sel(reserved(entity))];
    case 'cluster':
      return [
        ...['host', 'remote-node', 'kube-apiserver', 'init', 'health', 'unmanaged', 'ingress'].map((e) => sel(reserved(e))),
        sel(Selector.label(SOURCE_K8S, CLUSTER_KEY, clusterName)),
      ];
    default:
      return [{ type: 'none' }];
  }
}

// ---- ports, ICMP, L7 ------------------------------------------------------------------

function parsePorts(v: unknown): PortProtocol[] {
  const out: PortProtocol[] = [];
  for (const p of asArr(v)) {
    const x = asObj(p);
    const proto = normalizeProtocol(asStr(x['protocol'])) as L4Proto;
    const parsed = parsePortString(asStr(x['port']) ?? '');
    if ('error' in parsed) continue;
    if ('name' in parsed) out.push({ port: 0, name: parsed.name, protocol: proto });
    else {
      const end = x['endPort'];
      out.push({ port: parsed.port, protocol: proto, ...(typeof end === 'number' && end > parsed.port && parsed.port > 0 ? { endPort: end } : {}) });
    }
  }
  return out;
}

function parseL7(v: unknown): L7Rules | undefined {
  if (!isSet(v)) return undefined;
  const r = asObj(v);
  const out: L7Rules = {};
  if (Array.isArray(r['http'])) out.http = structuredClone(r['http']) as L7Rules['http'];
  if (Array.isArray(r['dns'])) out.dns = structuredClone(r['dns']) as L7Rules['dns'];
  if (Array.isArray(r['kafka'])) out.kafka = structuredClone(r['kafka']) as L7Rules['kafka'];
  if (asStr(r['l7proto'])) out.l7proto = asStr(r['l7proto'])!;
  if (Array.isArray(r['l7'])) out.l7 = structuredClone(r['l7']) as L7Rules['l7'];
  return out.http?.length || out.dns?.length || out.kafka?.length || out.l7proto ? out : undefined;
}

function parsePortRules(v: unknown, deny: boolean): PortRule[] | undefined {
  const list = asArr(v);
  if (!list.length) return undefined;
  return list.map((pr) => {
    const x = asObj(pr);
    const rules = deny ? undefined : parseL7(x['rules']);
    const serverNames = asArr(x['serverNames']).filter((s): s is string => typeof s === 'string');
    return { ports: parsePorts(x['ports']), ...(rules ? { rules } : {}), ...(serverNames.length ? { serverNames } : {}) };
  });
}

function parseIcmps(v: unknown): IcmpField[] | undefined {
  const list = asArr(v);
  if (!list.length) return undefined;
  const out: IcmpField[] = [];
  for (const r of list) {
    for (const f of asArr(asObj(r)['fields'])) {
      const x = asObj(f);
      const family = asStr(x['family']) === 'IPv6' ? 'IPv6' : 'IPv4';
      const t = x['type'];
      const names = family === 'IPv4' ? ICMPV4_TYPES : ICMPV6_TYPES;
      const type = typeof t === 'number' ? t : typeof t === 'string' ? (names[t] ?? (/^[0-9]+$/.test(t) ? Number(t) : -1)) : -1;
      if (type >= 0 && type <= 255) out.push({ family, type });
    }
  }
  return out;
}

// ---- CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy -----------------------------------

function namespaceReq(namespace: string): Requirement {
  return { source: SOURCE_K8S, key: POD_NAMESPACE_KEY, op: 'In', values: [namespace] };
}

/** Pin a peer selector as §3 says: CNP to its namespace, CCNP to "some namespace". */
function pinPeer(sel: Selector, namespace: string | undefined): Selector {
  if (sel.mentionsKey(POD_NAMESPACE_KEY) || sel.mentionsSource(SOURCE_RESERVED)) return sel;
  if (namespace) return sel.with(namespaceReq(namespace));
  return sel.with({ source: SOURCE_K8S, key: POD_NAMESPACE_KEY, op: 'Exists', values: [] });
}

function cidrPeer(text: string, except: string[]): Peer {
  const p = parsePrefix(text, true);
  if (!p || p.family !== 4) return { type: 'none' };
  const ex = except.map((e) => parsePrefix(e)).filter((e): e is NonNullable<typeof e> => !!e && e.family === 4);
  return { type: 'cidr', cidr: { addr: p.addr, prefixLen: p.prefixLen }, except: ex.map((e) => ({ addr: e.addr, prefixLen: e.prefixLen })) };
}

function parseCiliumPeerRule(raw: unknown, section: Section, index: number, namespace: string | undefined, opts: ParseOptions): PeerRule {
  const r = asObj(raw);
  const ingress = section.startsWith('ingress');
  const deny = section.endsWith('Deny');
  const f = (name: string): string => (ingress ? `from${name}` : `to${name}`);
  const peers: Peer[] = [];
  let l3 = false;
  const selectorsOf = (field: string, from: 'endpoints' | 'nodes'): void => {
    if (!Array.isArray(r[field])) return;
    l3 = true;
    for (const s of r[field] as unknown[]) peers.push({ type: 'selector', selector: pinPeer(Selector.fromObject(s as SelectorObject), namespace), from });
  };
  selectorsOf(f('Endpoints'), 'endpoints');
  if (Array.isArray(r[f('Entities')])) {
    l3 = true;
    for (const e of r[f('Entities')] as unknown[]) peers.push(...entityPeers(String(e), opts.clusterName));
  }
  if (Array.isArray(r[f('CIDR')])) {
    l3 = true;
    for (const c of r[f('CIDR')] as unknown[]) peers.push(cidrPeer(String(c), []));
  }
  if (Array.isArray(r[f('CIDRSet')])) {
    l3 = true;
    for (const c of r[f('CIDRSet')] as unknown[]) {
      const x = asObj(c);
      // cidrGroupRef / cidrGroupSelector: CiliumCIDRGroups are not modelled; they select nothing.
      if (asStr(x['cidr'])) peers.push(cidrPeer(asStr(x['cidr'])!, asArr(x['except']).map(String)));
      else peers.push({ type: 'none' });
    }
  }
  if (Array.isArray(r[f('Groups')]) || Array.isArray(r[f('Nodes')])) {
    l3 = true;
    peers.push({ type: 'none' });
  }
  if (!ingress && Array.isArray(r['toFQDNs'])) {
    l3 = true;
    for (const q of r['toFQDNs'] as unknown[]) {
      const x = asObj(q);
      peers.push({ type: 'fqdn', ...(asStr(x['matchName']) ? { matchName: asStr(x['matchName'])! } : {}), ...(asStr(x['matchPattern']) ? { matchPattern: asStr(x['matchPattern'])! } : {}) });
    }
  }
  if (!ingress && Array.isArray(r['toServices'])) {
    l3 = true;
    for (const s of r['toServices'] as unknown[]) {
      const x = asObj(s);
      const byName = asObj(x['k8sService']);
      const bySel = asObj(x['k8sServiceSelector']);
      if (isSet(x['k8sService'])) peers.push({ type: 'service', serviceName: asStr(byName['serviceName']) ?? '', namespace: asStr(byName['namespace']) || namespace || 'default' });
      else if (isSet(x['k8sServiceSelector'])) {
        // A namespaced policy only sees Services of its own namespace.
        const ns = namespace ?? asStr(bySel['namespace']);
        peers.push({ type: 'service', selector: Selector.fromObject(asObj(bySel['selector']) as SelectorObject, SOURCE_ANY), ...(ns ? { namespace: ns } : {}) });
      }
    }
  }
  const requires = asArr(r[f('Requires')]).map((s) => pinPeer(Selector.fromObject(s as SelectorObject), namespace));
  const toPorts = parsePortRules(r['toPorts'], deny);
  const icmps = parseIcmps(r['icmps']);
  // No L3 field: with L4 the rule applies to every peer; with nothing at all it selects nothing.
  if (!l3) peers.push(toPorts || icmps ? { type: 'wildcard' } : { type: 'none' });
  return { section, index, deny, peers, requires, ...(toPorts ? { toPorts } : {}), ...(icmps ? { icmps } : {}) };
}

/** The rule as `cilium policy get` shows it: selectors rewritten, protocols upper-cased, labels added. */
function ciliumRuleJson(raw: Obj, subject: Selector, rules: PeerRule[], labels: RuleLabel[], hostPolicy: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  out[hostPolicy ? 'nodeSelector' : 'endpointSelector'] = subject.toJSON();
  for (const section of ['ingress', 'ingressDeny', 'egress', 'egressDeny'] as const) {
    const list = asArr(raw[section]);
    if (!list.length) continue;
    out[section] = list.map((r, i) => {
      const x = structuredClone(asObj(r));
      const pr = rules.find((p) => p.section === section && p.index === i);
      for (const field of ['fromEndpoints', 'toEndpoints']) {
        if (Array.isArray(x[field]) && pr) x[field] = pr.peers.filter((p) => p.type === 'selector' && p.from === 'endpoints').map((p) => (p as { selector: Selector }).selector.toJSON());
      }
      for (const field of ['fromRequires', 'toRequires']) if (Array.isArray(x[field]) && pr) x[field] = pr.requires.map((s) => s.toJSON());
      for (const tp of asArr(x['toPorts'])) {
        for (const p of asArr(asObj(tp)['ports'])) {
          const pp = p as Obj;
          pp['protocol'] = normalizeProtocol(asStr(pp['protocol']));
          const port = asStr(pp['port']);
          if (port) {
            const parsed = parsePortString(port);
            if ('name' in parsed) pp['port'] = parsed.name;
          }
        }
      }
      return x;
    });
  }
  for (const k of ['enableDefaultDeny', 'description', 'log']) if (isSet(raw[k])) out[k] = structuredClone(raw[k]);
  out['labels'] = labels;
  return out;
}

function parseCiliumRule(raw: unknown, origin: PolicyOrigin, ruleIndex: number, path: string, opts: ParseOptions): PolicyRule {
  const r = asObj(raw);
  const hostPolicy = !isSet(r['endpointSelector']) && isSet(r['nodeSelector']);
  let subject = Selector.fromObject((hostPolicy ? r['nodeSelector'] : r['endpointSelector']) as SelectorObject);
  if (origin.namespace && !hostPolicy) {
    // A CNP selects pods of its own namespace only; a namespace written in the selector is overwritten.
    subject = new Selector([...subject.requirements.filter((q) => q.key !== POD_NAMESPACE_KEY), namespaceReq(origin.namespace)]);
  }
  const rules: PeerRule[] = [];
  for (const section of ['ingress', 'ingressDeny', 'egress', 'egressDeny'] as const) {
    asArr(r[section]).forEach((x, i) => rules.push(parseCiliumPeerRule(x, section, i, origin.namespace, opts)));
  }
  const edd = asObj(r['enableDefaultDeny']);
  const defaultDeny = {
    ingress: typeof edd['ingress'] === 'boolean' ? edd['ingress'] : asArr(r['ingress']).length > 0 || asArr(r['ingressDeny']).length > 0,
    egress: typeof edd['egress'] === 'boolean' ? edd['egress'] : asArr(r['egress']).length > 0 || asArr(r['egressDeny']).length > 0,
  };
  const userLabels = asArr(r['labels']).map((l) => {
    const x = asObj(l);
    return { key: asStr(x['key']) ?? '', value: asStr(x['value']) ?? '', source: asStr(x['source']) || 'unspec' };
  });
  const labels = [...userLabels, ...policyLabels(origin)];
  const description = asStr(r['description']);
  return {
    origin,
    ruleIndex,
    path,
    labels,
    ...(description ? { description } : {}),
    subject,
    hostPolicy,
    defaultDeny,
    rules,
    json: ciliumRuleJson(r, subject, rules, labels, hostPolicy),
  };
}

// ---- Kubernetes NetworkPolicy ----------------------------------------------------------------

/** A KNP label selector with `k8s:` keys; namespace selectors become namespace-label requirements. */
function knpSelector(obj: unknown, keyPrefix = ''): Requirement[] {
  const s = asObj(obj);
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(asObj(s['matchLabels']))) reqs.push({ source: SOURCE_K8S, key: keyPrefix + k, op: 'In', values: [String(v)] });
  for (const e of asArr(s['matchExpressions'])) {
    const x = asObj(e);
    reqs.push({ source: SOURCE_K8S, key: keyPrefix + (asStr(x['key']) ?? ''), op: (asStr(x['operator']) ?? 'In') as Requirement['op'], values: asArr(x['values']).map(String) });
  }
  return reqs;
}

function knpPeers(list: unknown, namespace: string, opts: ParseOptions): Peer[] {
  const peers = asArr(list);
  if (!peers.length) return [{ type: 'wildcard' }];
  const cluster: Requirement = { source: SOURCE_K8S, key: CLUSTER_KEY, op: 'In', values: [opts.clusterName] };
  const out: Peer[] = [];
  for (const p of peers) {
    const x = asObj(p);
    if (isSet(x['ipBlock'])) {
      const b = asObj(x['ipBlock']);
      out.push(cidrPeer(asStr(b['cidr']) ?? '', asArr(b['except']).map(String)));
      continue;
    }
    const pod = isSet(x['podSelector']) ? knpSelector(x['podSelector']) : [];
    if (isSet(x['namespaceSelector'])) {
      const ns = knpSelector(x['namespaceSelector'], NAMESPACE_LABELS_PREFIX);
      const any: Requirement[] = ns.length ? [] : [{ source: SOURCE_K8S, key: POD_NAMESPACE_KEY, op: 'Exists', values: [] }];
      out.push({ type: 'selector', selector: new Selector([...pod, ...ns, ...any, cluster]), from: 'endpoints' });
    } else if (isSet(x['podSelector'])) {
      out.push({ type: 'selector', selector: new Selector([...pod, namespaceReq(namespace), cluster]), from: 'endpoints' });
    } else out.push({ type: 'none' });
  }
  return out;
}

function knpPorts(list: unknown): PortRule[] | undefined {
  const ports = asArr(list);
  if (!ports.length) return undefined;
  const out: PortProtocol[] = [];
  for (const p of ports) {
    const x = asObj(p);
    const protocol = (asStr(x['protocol']) ?? 'TCP') as L4Proto;
    const port = x['port'];
    const end = x['endPort'];
    if (typeof port === 'string') out.push({ port: 0, name: port.toLowerCase(), protocol });
    else if (typeof port === 'number') out.push({ port, protocol, ...(typeof end === 'number' && end > port ? { endPort: end } : {}) });
    else out.push({ port: 0, protocol });
  }
  return [{ ports: out }];
}

function knpJson(subject: Selector, rules: PeerRule[], labels: RuleLabel[]): Record<string, unknown> {
  const peerJson = (p: Peer, ingress: boolean): Record<string, unknown> => {
    const f = (n: string): string => (ingress ? `from${n}` : `to${n}`);
    if (p.type === 'selector') return { [f('Endpoints')]: [p.selector.toJSON()] };
    if (p.type === 'cidr') return { [f('CIDRSet')]: [{ cidr: `${p.cidr.addr >>> 24}.${(p.cidr.addr >>> 16) & 255}.${(p.cidr.addr >>> 8) & 255}.${p.cidr.addr & 255}/${p.cidr.prefixLen}`, except: p.except.map((e) => `${e.addr >>> 24}.${(e.addr >>> 16) & 255}.${(e.addr >>> 8) & 255}.${e.addr & 255}/${e.prefixLen}`) }] };
    if (p.type === 'wildcard') return { [f('Endpoints')]: [{}] };
    return { [f('Endpoints')]: [] };
  };
  const out: Record<string, unknown> = { endpointSelector: subject.toJSON() };
  for (const dir of ['ingress', 'egress'] as const) {
    const list = rules.filter((r) => r.section === dir);
    if (!list.length) continue;
    out[dir] = list.flatMap((r) =>
      (r.peers.length ? r.peers : [{ type: 'none' } as Peer]).map((p) => ({
        ...peerJson(p, dir === 'ingress'),
        ...(r.toPorts ? { toPorts: r.toPorts.map((tp) => ({ ports: tp.ports.map((pp) => ({ port: pp.name ?? String(pp.port), ...(pp.endPort ? { endPort: pp.endPort } : {}), protocol: pp.protocol })) })) } : {}),
      })),
    );
  }
  out['labels'] = labels;
  return out;
}

function parseKnp(obj: Obj, origin: PolicyOrigin, opts: ParseOptions): PolicyRule {
  const spec = asObj(obj['spec']);
  const namespace = origin.namespace ?? 'default';
  const subject = new Selector([...knpSelector(spec['podSelector']).filter((q) => q.key !== POD_NAMESPACE_KEY), namespaceReq(namespace)]);
  const ingress = asArr(spec['ingress']);
  const egress = asArr(spec['egress']);
  const typesRaw = asArr(spec['policyTypes']).map(String);
  const types = typesRaw.length ? typesRaw : ['Ingress', ...(egress.length ? ['Egress'] : [])];
  const rules: PeerRule[] = [];
  ingress.forEach((r, i) => {
    const x = asObj(r);
    const toPorts = knpPorts(x['ports']);
    rules.push({ section: 'ingress', index: i, deny: false, peers: knpPeers(x['from'], namespace, opts), requires: [], ...(toPorts ? { toPorts } : {}) });
  });
  egress.forEach((r, i) => {
    const x = asObj(r);
    const toPorts = knpPorts(x['ports']);
    rules.push({ section: 'egress', index: i, deny: false, peers: knpPeers(x['to'], namespace, opts), requires: [], ...(toPorts ? { toPorts } : {}) });
  });
  const defaultDeny = {
    ingress: ingress.length > 0 || types.includes('Ingress') || !types.includes('Egress'),
    egress: egress.length > 0 || types.includes('Egress'),
  };
  const labels = policyLabels(origin);
  return { origin, ruleIndex: 0, path: 'spec', labels, subject, hostPolicy: false, defaultDeny, rules, json: knpJson(subject, rules, labels) };
}

// ---- entry point -------------------------------------------------------------------------------

export function kindOf(obj: object): PolicyKind | undefined {
  const k = (obj as { kind?: unknown }).kind;
  return k === 'CiliumNetworkPolicy' || k === 'CiliumClusterwideNetworkPolicy' || k === 'NetworkPolicy' ? k : undefined;
}

/** Every rule of a policy object, in order (`spec` first, then `specs[i]`). */
export function parsePolicy(obj: Obj & { metadata?: { name?: string; namespace?: string; uid?: string } }, kindHint: PolicyKind | undefined, opts: ParseOptions): PolicyRule[] {
  const kind = kindHint ?? kindOf(obj);
  if (!kind) return [];
  const meta = obj.metadata ?? {};
  const origin: PolicyOrigin = {
    kind,
    ...(kind !== 'CiliumClusterwideNetworkPolicy' ? { namespace: meta.namespace ?? 'default' } : {}),
    name: meta.name ?? '',
    uid: meta.uid ?? '',
  };
  if (kind === 'NetworkPolicy') return [parseKnp(obj, origin, opts)];
  const out: PolicyRule[] = [];
  if (isSet(obj['spec'])) out.push(parseCiliumRule(obj['spec'], origin, 0, 'spec', opts));
  asArr(obj['specs']).forEach((r, i) => out.push(parseCiliumRule(r, origin, out.length, `specs[${i}]`, opts)));
  return out;
}
