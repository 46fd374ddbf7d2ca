// The policy engine: Cilium's policy repository, selector cache and per
// endpoint MapState, behind the agent's PolicyComputer interface.
//
//   store events ──► repository (rules by subject) ──► SubjectPolicy per identity
//   CiliumIdentity ─► selector cache (peer selector → identities) ─┘      │
//                                                                        ▼
//                                        entries for cilium_policy_<EPID>, cookies → rules
//
// A SubjectPolicy is what Cilium calls a selectorPolicy: the policy of every
// endpoint with one security identity (endpoints of an identity differ only
// by named ports; those get their own variant). Changes are incremental: a
// new identity touches only the subjects whose selectors select it, and only
// its own keys in their maps; one policy edit rebuilds only the subjects it
// selects. Listeners (the agents) are told which identities to regenerate.
//
// Feeding it: as a Reconciler (observe(StoreEvent) + run(), how ClusterRuntime
// drives it), or directly: upsertPolicy / deletePolicy / upsertIdentity /
// removeIdentity / setPodNamedPorts (benchmarks, tests without a store).

import type { EndpointPolicy, EndpointPolicyContext, PolicyComputer, PolicyEnforcementMode, PolicyUpdateListener, PrefixIdentity } from '../agent/policy.js';
import type { KeyValueMap } from '../bpf/types.js';
import { LOCAL_IDENTITY_FLAG, RESERVED_LABELS, ReservedIdentity } from '../datapath/identity.js';
import type { PolicyEntrySpec } from '../datapath/map-writer.js';
import { POLICY_ENTRY, POLICY_KEY, POLICY_MAP_SIZE, POLICY_PREFIX, PolicyEntryFlags } from '../datapath/maps.js';
import type { StoreEvent } from '../k8s/store.js';
import type { KubeObject } from '../k8s/types.js';
import type { FieldError } from '../k8s/validation/field.js';
import { parseCidr } from '../packet/ip.js';
import { PolicyAttribution, type Attribution, type ImplicitReason, type RuleRef } from './attribution.js';
import { prefixText } from './cidr.js';
import { DirState, PK_ALL, pkPort, pkPrefix, pkProto, pkWildcardBits, portKey, rangeBlocks, type Acc, type PortKey } from './mapstate.js';
import { kindOf, parsePolicy } from './parse.js';
import { CachedSelector, fqdnSelectorText, SelectorCache, type SelectorSpec } from './selector-cache.js';
import { fqdn as fqdnName, fqdnSelectorMatches } from '../proxy/l7-policy.js';
import { LabelSet, POD_NAMESPACE_KEY, Selector, SOURCE_K8S } from './selector.js';
import { directionOf, originText, type Direction, type L7Rules, type Peer, type PeerRule, type PolicyKind, type PolicyRule, type Prefix, type PortProtocol } from './types.js';
import { validatePolicy } from './validate.js';

const PROTO_NUM: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132, ICMP: 1 };
const PROTO_NAME: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP', 1: 'ICMP' };

export interface PolicyEngineOptions {
  /** Cilium's cluster-name (the `cluster` entity, KNP peers). Default "default". */
  clusterName?: string;
  /** Agent flag enable-sctp: protocol ANY then includes SCTP. Default false. */
  enableSctp?: boolean;
  /** --bpf-policy-map-max: entries one endpoint's policy map holds. Default 16384. */
  policyMapMaxEntries?: number;
  /**
   * The L7 proxy: the proxy port for entries whose rules carry L7 rules. Without
   * it L7 rules are parsed and kept (see l7Rules()) but their ports are plain L4
   * allows, as with Cilium's enable-l7-proxy=false.
   */
  proxyPort?: (q: { direction: Direction; proto: number; port: number; parser: string }) => number | undefined;
  /** Problems worth a line in the cluster's report (full policy maps, conflicts). */
  report?: (message: string) => void;
  /** --tofqdns-min-ttl: seconds a learned toFQDNs address stays selected at least. Default 3600. */
  fqdnMinTtl?: number;
}

/** What one allowed DNS answer taught a node's DNS proxy (the proxy's FqdnUpdate). */
export interface FqdnLearn {
  name: string;
  ips: readonly number[];
  /** The answer's TTL in seconds (raised to the minimum TTL). */
  ttl: number;
  /** Clock ms of the answer. */
  timeMs: number;
}

/** A rule's (or an implicit) share in a map key. */
type Contributor = { ref: RuleRef; id: string; l7?: L7Rules } | { implicit: ImplicitReason; id: string };

interface PortSpec {
  pk: PortKey;
  l7?: L7Rules;
}

interface Contribution {
  ref: RuleRef;
  id: string;
  direction: Direction;
  deny: boolean;
  selectors: CachedSelector<SubjectPolicy>[];
  ports: PortSpec[];
}

interface NamedPort {
  name: string;
  port: number;
  protocol: string;
}

/**
 * The endpoint an explanation or L7 lookup is about: its identity and labels
 * (an EndpointPolicyContext, or an agent's EndpointInfo), plus its named
 * ports when rules use them.
 */
export interface SubjectRef {
  identity: number;
  labels: readonly string[];
  namedPorts?: readonly NamedPort[];
}

/** The policy of the endpoints with one identity (and one set of named ports, when the rules use them). */
class SubjectPolicy {
  rules: PolicyRule[] = [];
  enforced = { ingress: false, egress: false };
  contributions: Contribution[] = [];
  selectors = new Set<CachedSelector<SubjectPolicy>>();
  ingress = new DirState<Contributor>();
  egress = new DirState<Contributor>();
  usesIngressNamedPorts = false;
  egressNamedPorts = new Set<string>();
  result: EndpointPolicy | null = null;
  overflow = 0;
  /** The audit variant: computed with the audited policies (podpath.io/mode: audit) included. */
  audit = false;

  constructor(
    readonly key: string,
    readonly identity: number,
    readonly labels: LabelSet,
    readonly mode: PolicyEnforcementMode,
    readonly namedPorts: readonly NamedPort[],
  ) {}

  state(d: Direction): DirState<Contributor> {
    return d === 'ingress' ? this.ingress : this.egress;
  }
}

/** One map entry with the rules behind it (`cilium bpf policy get` data). */
export interface EntryView {
  direction: Direction;
  /** 0 = any identity. */
  identity: number;
  identityLabels: string[];
  proto: number;
  port: number;
  /** Low port bits wildcarded (port ranges). */
  wildcardBits: number;
  /** Protocol+port prefix bits, as `cilium bpf policy get` prints PREFIX (0 any, 8 protocol, 24 exact). */
  prefix: number;
  portProto: string;
  deny: boolean;
  proxyPort: number;
  cookie: number;
  attribution?: Attribution;
  /** From the real map only. */
  bytes?: number;
  packets?: number;
}

export interface DenyExplanation {
  kind: 'default-deny' | 'policy-deny' | 'not-enforced';
  direction: Direction;
  remoteIdentity: number;
  proto: number;
  port: number;
  /** Rules that select the endpoint and put this direction into default deny. */
  selectedBy: RuleRef[];
  /** policy-enforcement=always put the endpoint into default deny without a rule. */
  enforcementAlways: boolean;
  /** For policy-deny: the entry that decided. */
  attribution?: Attribution;
  text: string;
}

/** Hubble's flow.Policy shape (name, namespace, labels, revision, kind). */
export interface HubblePolicy {
  name: string;
  namespace: string;
  labels: string[];
  revision: number;
  kind: string;
}

interface LoadedPolicy {
  key: string;
  kind: PolicyKind;
  obj: KubeObject;
  rules: PolicyRule[];
  hasServices: boolean;
  prefixes: string[];
  audit: boolean;
}

/** Annotation of a staged policy: `podpath.io/mode: audit` is evaluated (AUDIT verdicts) but never enforced. */
export const POLICY_MODE_ANNOTATION = 'podpath.io/mode';

function isAuditPolicy(obj: KubeObject): boolean {
  return obj.metadata.annotations?.[POLICY_MODE_ANNOTATION] === 'audit';
}

const RES_KINDS = new Set(['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy', 'NetworkPolicy', 'CiliumIdentity', 'Pod', 'Service', 'EndpointSlice']);

function policyKeyOf(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

function protoText(proto: number): string {
  return PROTO_NAME[proto] ?? String(proto);
}

/** Which policy, rule and section element an entry or a selection comes from. */
function ruleRef(r: PolicyRule, section: RuleRef['section'], index: number, direction: Direction, deny: boolean): RuleRef {
  return {
    kind: r.origin.kind,
    ...(r.origin.namespace ? { namespace: r.origin.namespace } : {}),
    name: r.origin.name,
    uid: r.origin.uid,
    ruleIndex: r.ruleIndex,
    rulePath: r.path,
    section,
    index,
    direction,
    deny,
    labels: r.labels,
  };
}

/** `8080/TCP`, `ANY`, `8000-8063/TCP` (a range block), `TCP` for every TCP port. */
export function portProtoText(proto: number, port: number, wildcardBits: number): string {
  if (proto === 0) return 'ANY';
  if (port === 0 && wildcardBits === 0) return `${protoText(proto)}`;
  if (wildcardBits > 0) return `${port}-${port + (1 << wildcardBits) - 1}/${protoText(proto)}`;
  return `${port}/${protoText(proto)}`;
}

export class PolicyEngine implements PolicyComputer {
  readonly name = 'policy-engine';
  readonly attribution = new PolicyAttribution();
  private readonly clusterName: string;
  private readonly enableSctp: boolean;
  private readonly mapMax: number;
  private readonly proxyPortFn: PolicyEngineOptions['proxyPort'];
  private readonly reportFn: (m: string) => void;

  private readonly cache = new SelectorCache<SubjectPolicy>();
  private readonly repo = new Map<string, LoadedPolicy>();
  private readonly anchoredRules = new Map<string, Set<PolicyRule>>();
  private readonly unanchoredRules = new Set<PolicyRule>();
  /** Rules of audited policies: only the audit variant of a subject sees them. */
  private readonly auditRules = new Set<PolicyRule>();
  private revisionNumber = 1;

  private readonly subjects = new Map<string, SubjectPolicy>();
  private readonly subjectsById = new Map<number, Set<SubjectPolicy>>();

  private readonly cidrIds = new Map<string, { prefix: Prefix; id: number; refs: number }>();
  private readonly freeCidrIds: number[] = [];
  private nextCidrId = LOCAL_IDENTITY_FLAG + 1;
  /**
   * toFQDNs: the addresses the DNS proxies saw in allowed answers, each with
   * the names (lower case, trailing dot) it was learned for and when each runs
   * out. Cluster-wide: every node's proxy feeds the one engine, so an address
   * one pod resolved is selectable for every endpoint whose toFQDNs matches
   * (Cilium keeps the cache per node, but the identities are cluster-visible).
   */
  private readonly fqdnIps = new Map<number, Map<string, number>>();
  private readonly fqdnMinTtl: number;

  /** Named container ports of every pod (egress named ports resolve against all of them). */
  private readonly podPorts = new Map<string, { sig: string; ports: NamedPort[] }>();
  private readonly namedPortIndex = new Map<string, Map<string, number>>();
  private readonly services = new Map<string, { labels: Record<string, string>; selector?: Record<string, string> }>();
  private readonly sliceIps = new Map<string, { service: string; ips: number[] }>();

  private readonly listeners = new Set<PolicyUpdateListener>();
  private readonly dirty = new Set<number>();
  private prefixesDirty = false;
  private readonly queue: StoreEvent[] = [];
  private applying = false;

  constructor(opts: PolicyEngineOptions = {}) {
    this.clusterName = opts.clusterName ?? 'default';
    this.enableSctp = opts.enableSctp ?? false;
    this.mapMax = opts.policyMapMaxEntries ?? POLICY_MAP_SIZE;
    this.proxyPortFn = opts.proxyPort;
    this.reportFn = opts.report ?? (() => {});
    this.fqdnMinTtl = opts.fqdnMinTtl ?? 3600;
  }

  // ---- the repository ------------------------------------------------------------------

  /** `cilium policy get` Revision: bumped by every policy change. */
  get revision(): number {
    return this.revisionNumber;
  }

  /** Validate and load (or replace) a policy object. Returns the field errors instead when it is invalid. */
  upsertPolicy(obj: KubeObject, kindHint?: PolicyKind): FieldError[] {
    const kind = kindHint ?? kindOf(obj);
    if (!kind) return [{ field: 'kind', type: 'FieldValueNotSupported', message: 'not a policy kind', badValue: obj.kind }];
    const errors = validatePolicy(kind, obj as Record<string, unknown>);
    if (errors.length) return errors;
    this.load(kind, obj);
    this.flushNotifications();
    return [];
  }

  deletePolicy(kind: PolicyKind, namespace: string | undefined, name: string): boolean {
    const key = policyKeyOf(kind, kind === 'CiliumClusterwideNetworkPolicy' ? undefined : (namespace ?? 'default'), name);
    const had = this.repo.has(key);
    if (had) this.unload(key);
    this.flushNotifications();
    return had;
  }

  private load(kind: PolicyKind, obj: KubeObject): void {
    const key = policyKeyOf(kind, kind === 'CiliumClusterwideNetworkPolicy' ? undefined : (obj.metadata.namespace ?? 'default'), obj.metadata.name ?? '');
    const parsed = parsePolicy(obj as KubeObject & Record<string, unknown>, kind, { clusterName: this.clusterName });
    const hasServices = parsed.some((r) => r.rules.some((p) => p.peers.some((x) => x.type === 'service')));
    const rules = hasServices ? parsed.map((r) => this.resolveServices(r)) : parsed;
    const prefixes = new Set<string>();
    for (const r of rules) {
      for (const pr of r.rules) {
        for (const p of pr.peers) {
          if (p.type !== 'cidr') continue;
          for (const x of [p.cidr, ...p.except]) if (x.prefixLen > 0) prefixes.add(prefixText(x));
        }
      }
    }
    const old = this.repo.get(key);
    const audit = isAuditPolicy(obj);
    // New CIDR identities first, so the rebuilt subjects see them.
    for (const p of prefixes) this.acquirePrefix(p);
    const affected = new Set<SubjectPolicy>();
    if (old) {
      for (const r of old.rules) {
        this.indexRule(r, false);
        this.auditRules.delete(r);
        for (const s of this.subjectsMatching(r.subject)) affected.add(s);
      }
    }
    for (const r of rules) {
      this.indexRule(r, true);
      if (audit) this.auditRules.add(r);
      for (const s of this.subjectsMatching(r.subject)) affected.add(s);
    }
    this.repo.set(key, { key, kind, obj, rules, hasServices, prefixes: [...prefixes], audit });
    this.revisionNumber++;
    for (const s of affected) this.rebuild(s);
    if (old) for (const p of old.prefixes) this.releasePrefix(p);
    this.relabelFqdnIdentities();
  }

  private unload(key: string): void {
    const old = this.repo.get(key);
    if (!old) return;
    const affected = new Set<SubjectPolicy>();
    for (const r of old.rules) {
      this.indexRule(r, false);
      this.auditRules.delete(r);
      for (const s of this.subjectsMatching(r.subject)) affected.add(s);
    }
    this.repo.delete(key);
    this.revisionNumber++;
    for (const s of affected) this.rebuild(s);
    for (const p of old.prefixes) this.releasePrefix(p);
  }

  private indexRule(r: PolicyRule, add: boolean): void {
    if (r.hostPolicy) return;
    const a = r.subject.anchor();
    if (!a) {
      if (add) this.unanchoredRules.add(r);
      else this.unanchoredRules.delete(r);
      return;
    }
    let set = this.anchoredRules.get(a);
    if (add) {
      if (!set) this.anchoredRules.set(a, (set = new Set()));
      set.add(r);
    } else {
      set?.delete(r);
      if (set && !set.size) this.anchoredRules.delete(a);
    }
  }

  /** Rules whose subject selector selects these labels (host policies never select pods). */
  private rulesSelecting(labels: LabelSet): PolicyRule[] {
    const out: PolicyRule[] = [];
    const seen = new Set<PolicyRule>();
    const consider = (r: PolicyRule): void => {
      if (seen.has(r)) return;
      seen.add(r);
      if (r.subject.matches(labels)) out.push(r);
    };
    for (const [k, vs] of labels.entries()) for (const v of vs) for (const r of this.anchoredRules.get(`${k}=${v}`) ?? []) consider(r);
    for (const r of this.unanchoredRules) consider(r);
    // Order never changes the result; a stable order keeps map writes and cookies deterministic.
    out.sort((a, b) => (a.origin.uid + a.ruleIndex < b.origin.uid + b.ruleIndex ? -1 : 1));
    return out;
  }

  private subjectsMatching(sel: Selector): SubjectPolicy[] {
    const out: SubjectPolicy[] = [];
    // Identities carrying the rarest equality the selector requires, else every subject.
    let pool: ReadonlySet<number> | undefined;
    let anchored = false;
    for (const a of sel.equalities()) {
      anchored = true;
      const ids = this.cache.withLabel(a);
      if (!ids) return out;
      if (!pool || ids.size < pool.size) pool = ids;
    }
    if (anchored) {
      for (const id of pool!) for (const s of this.subjectsById.get(id) ?? []) if (sel.matches(s.labels)) out.push(s);
      // Subjects whose identity the cache does not know (reserved ones compute with their own labels).
      for (let id = 1; id < 256; id++) for (const s of this.subjectsById.get(id) ?? []) if (!pool!.has(id) && sel.matches(s.labels)) out.push(s);
      return out;
    }
    for (const s of this.subjects.values()) if (sel.matches(s.labels)) out.push(s);
    return out;
  }

  // ---- toServices ----------------------------------------------------------------------

  /** toServices peers → endpoint selectors (Services with a selector) or /32 CIDRs (their endpoints' addresses). */
  private resolveServices(rule: PolicyRule): PolicyRule {
    const rules = rule.rules.map((pr): PeerRule => {
      if (!pr.peers.some((p) => p.type === 'service')) return pr;
      const peers: Peer[] = [];
      for (const p of pr.peers) {
        if (p.type !== 'service') {
          peers.push(p);
          continue;
        }
        for (const [key, svc] of this.services) {
          const [ns, name] = key.split('/') as [string, string];
          if (p.namespace && p.namespace !== ns) continue;
          if (p.serviceName !== undefined ? p.serviceName !== name : !p.selector!.matches(new LabelSet(Object.entries(svc.labels).map(([k, v]) => `k8s:${k}=${v}`)))) continue;
          if (svc.selector && Object.keys(svc.selector).length) {
            const reqs = Object.entries(svc.selector).map(([k, v]) => ({ source: SOURCE_K8S, key: k, op: 'In' as const, values: [v] }));
            peers.push({ type: 'selector', selector: new Selector([...reqs, { source: SOURCE_K8S, key: POD_NAMESPACE_KEY, op: 'In', values: [ns] }]), from: 'services' });
          } else {
            for (const s of this.sliceIps.values()) if (s.service === key) for (const ip of s.ips) peers.push({ type: 'cidr', cidr: { addr: ip, prefixLen: 32 }, except: [] });
          }
        }
      }
      if (!peers.length) peers.push({ type: 'none' });
      return { ...pr, peers };
    });
    return { ...rule, rules };
  }

  private reloadServicePolicies(): void {
    for (const p of [...this.repo.values()]) if (p.hasServices) this.load(p.kind, p.obj);
  }

  // ---- CIDR identities -------------------------------------------------------------------

  private acquirePrefix(text: string): void {
    const e = this.cidrIds.get(text);
    if (e) {
      e.refs++;
      return;
    }
    const c = parseCidr(text)!;
    const id = this.freeCidrIds.length ? this.freeCidrIds.shift()! : this.nextCidrId++;
    this.cidrIds.set(text, { prefix: c, id, refs: 1 });
    this.prefixesDirty = true;
    this.identityChanged(id, this.cache.upsertIdentity(id, [`cidr:${text}`, 'reserved:world'], c));
  }

  private releasePrefix(text: string): void {
    const e = this.cidrIds.get(text);
    if (!e || --e.refs > 0) return;
    this.cidrIds.delete(text);
    this.freeCidrIds.push(e.id);
    this.freeCidrIds.sort((a, b) => a - b);
    this.prefixesDirty = true;
    this.identityChanged(e.id, this.cache.removeIdentity(e.id));
  }

  // ---- toFQDNs: addresses learned from DNS answers ---------------------------------------------

  /**
   * An allowed DNS answer (the DNS proxy's onFqdnUpdate): each address becomes
   * (or stays) a /32 CIDR identity carrying the names it was learned for, the
   * toFQDNs selectors whose matchName/matchPattern match one of those names
   * select it, affected endpoints are told to regenerate and the agents to
   * re-read prefixIdentities() into the ipcache. Expired addresses go first.
   */
  learnFqdn(u: FqdnLearn): void {
    this.expireFqdn(u.timeMs, false);
    const name = fqdnName(u.name);
    const expires = u.timeMs + Math.max(u.ttl, this.fqdnMinTtl) * 1000;
    for (const ip of new Set(u.ips)) {
      let names = this.fqdnIps.get(ip);
      if (!names) {
        this.fqdnIps.set(ip, (names = new Map()));
        this.acquirePrefix(prefixText({ addr: ip >>> 0, prefixLen: 32 }));
      }
      names.set(name, Math.max(names.get(name) ?? 0, expires));
      this.refreshFqdnIdentity(ip);
    }
    this.flushNotifications();
  }

  /** Forget names (and then addresses) whose TTL ran out by `nowMs`; returns how many addresses went. */
  expireFqdn(nowMs: number, flush = true): number {
    let gone = 0;
    for (const [ip, names] of [...this.fqdnIps]) {
      let changed = false;
      for (const [n, exp] of names) {
        if (exp > nowMs) continue;
        names.delete(n);
        changed = true;
      }
      if (!changed) continue;
      if (names.size) {
        this.refreshFqdnIdentity(ip);
        continue;
      }
      this.fqdnIps.delete(ip);
      gone++;
      this.refreshFqdnIdentity(ip);
      this.releasePrefix(prefixText({ addr: ip >>> 0, prefixLen: 32 }));
    }
    if (flush) this.flushNotifications();
    return gone;
  }

  /** `cilium fqdn cache list`-like rows of what the engine selects from (names without the trailing dot). */
  fqdnCache(): { name: string; ip: number; identity: number; expiresMs: number }[] {
    const out: { name: string; ip: number; identity: number; expiresMs: number }[] = [];
    for (const [ip, names] of this.fqdnIps) {
      const id = this.cidrIds.get(prefixText({ addr: ip >>> 0, prefixLen: 32 }))?.id ?? 0;
      for (const [n, exp] of names) out.push({ name: n.replace(/\.$/, ''), ip, identity: id, expiresMs: exp });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.ip - b.ip);
  }

  /** The labels and names of a learned /32's identity: cidr:, fqdn:<selector> for every toFQDNs selector in use that matches, reserved:world. */
  private refreshFqdnIdentity(ip: number): void {
    const text = prefixText({ addr: ip >>> 0, prefixLen: 32 });
    const e = this.cidrIds.get(text);
    if (!e) return;
    const names = [...(this.fqdnIps.get(ip)?.keys() ?? [])].sort();
    const labels = new Set<string>([`cidr:${text}`, 'reserved:world']);
    if (names.length) {
      for (const sel of this.cache.fqdnSelectorSpecs()) {
        if (names.some((n) => fqdnSelectorMatches(sel, n))) labels.add(`fqdn:${fqdnSelectorText(sel)}`);
      }
    }
    this.identityChanged(e.id, this.cache.upsertIdentity(e.id, [...labels].sort(), e.prefix, names));
  }

  /** The toFQDNs selectors in use changed (a policy loaded): learned identities' fqdn: labels follow. */
  private relabelFqdnIdentities(): void {
    for (const ip of this.fqdnIps.keys()) this.refreshFqdnIdentity(ip);
  }

  /** CIDR prefixes named by policies, with their local identities (16777217+), for the ipcache. */
  prefixIdentities(): PrefixIdentity[] {
    return [...this.cidrIds.values()].map((e) => ({ addr: e.prefix.addr, prefixLen: e.prefix.prefixLen, identity: e.id })).sort((a, b) => a.identity - b.identity);
  }

  // ---- identities ----------------------------------------------------------------------

  /** A security identity appeared (or is known): selectors that select it pick it up. */
  upsertIdentity(id: number, labels: readonly string[]): void {
    const sorted = [...labels].sort();
    const changes = this.cache.upsertIdentity(id, sorted);
    this.identityChanged(id, changes);
    this.flushNotifications();
  }

  removeIdentity(id: number): void {
    this.identityChanged(id, this.cache.removeIdentity(id));
    for (const s of this.subjectsById.get(id) ?? []) this.dropSubject(s);
    this.flushNotifications();
  }

  private identityChanged(id: number, changes: { selector: CachedSelector<SubjectPolicy> }[]): void {
    const touched = new Set<SubjectPolicy>();
    for (const c of changes) for (const u of c.selector.users) touched.add(u);
    for (const s of touched) {
      this.rebuildIdentity(s, id);
      this.markDirty(s);
    }
  }

  // ---- named ports ----------------------------------------------------------------------

  /** A pod's named container ports (egress named ports resolve against every pod's). */
  setPodNamedPorts(podKey: string, ports: readonly NamedPort[]): void {
    const sig = ports.map((p) => `${p.name.toLowerCase()}:${p.port}/${p.protocol}`).sort().join(',');
    const old = this.podPorts.get(podKey);
    if ((old?.sig ?? '') === sig) return;
    const names = new Set<string>();
    for (const p of old?.ports ?? []) {
      names.add(p.name.toLowerCase());
      const m = this.namedPortIndex.get(p.name.toLowerCase());
      const k = `${p.port}/${p.protocol}`;
      if (m) {
        const n = (m.get(k) ?? 1) - 1;
        if (n > 0) m.set(k, n);
        else m.delete(k);
      }
    }
    const norm = ports.map((p) => ({ name: p.name.toLowerCase(), port: p.port, protocol: (p.protocol || 'TCP').toUpperCase() }));
    if (norm.length) this.podPorts.set(podKey, { sig, ports: norm });
    else this.podPorts.delete(podKey);
    for (const p of norm) {
      names.add(p.name);
      let m = this.namedPortIndex.get(p.name);
      if (!m) this.namedPortIndex.set(p.name, (m = new Map()));
      const k = `${p.port}/${p.protocol}`;
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    for (const s of [...this.subjects.values()]) if ([...s.egressNamedPorts].some((n) => names.has(n))) this.rebuild(s);
    this.flushNotifications();
  }

  // ---- store events (Reconciler) ---------------------------------------------------------

  /** Record a committed change (ClusterRuntime calls this for every store event). */
  observe(e: StoreEvent): void {
    if (RES_KINDS.has(e.resource.kind)) this.queue.push(e);
  }

  hasWork(): boolean {
    return this.queue.length > 0;
  }

  run(): void {
    this.applyQueue();
    this.flushNotifications();
  }

  private applyQueue(): void {
    if (this.applying) return;
    this.applying = true;
    try {
      let servicesChanged = false;
      while (this.queue.length) {
        const e = this.queue.shift()!;
        const o = e.object;
        const kind = e.resource.kind;
        switch (kind) {
          case 'CiliumNetworkPolicy':
          case 'CiliumClusterwideNetworkPolicy':
          case 'NetworkPolicy': {
            const key = policyKeyOf(kind, kind === 'CiliumClusterwideNetworkPolicy' ? undefined : (o.metadata.namespace ?? 'default'), o.metadata.name ?? '');
            if (e.type === 'DELETED') this.unload(key);
            else {
              const old = this.repo.get(key);
              // Status-only writes do not change rules.
              if (old && old.audit === isAuditPolicy(o) && JSON.stringify(old.obj['spec'] ?? null) === JSON.stringify(o['spec'] ?? null) && JSON.stringify(old.obj['specs'] ?? null) === JSON.stringify(o['specs'] ?? null)) {
                old.obj = o;
                break;
              }
              const errors = validatePolicy(kind, o as Record<string, unknown>);
              if (errors.length) {
                this.reportFn(`${kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}: not imported: ${errors.map((x) => `${x.field}: ${x.message}`).join('; ')}`);
                this.unload(key);
              } else this.load(kind, o);
            }
            break;
          }
          case 'CiliumIdentity': {
            const id = Number(o.metadata.name);
            if (!Number.isInteger(id)) break;
            if (e.type === 'DELETED') {
              this.identityChanged(id, this.cache.removeIdentity(id));
              for (const s of this.subjectsById.get(id) ?? []) this.dropSubject(s);
            } else {
              const map = (o['security-labels'] ?? {}) as Record<string, string>;
              const labels = Object.entries(map)
                .map(([k, v]) => `${k}=${v}`)
                .sort();
              this.identityChanged(id, this.cache.upsertIdentity(id, labels));
            }
            break;
          }
          case 'Pod': {
            const key = `${o.metadata.namespace}/${o.metadata.name}`;
            if (e.type === 'DELETED') this.setPodNamedPorts(key, []);
            else {
              const containers = ((o['spec'] as { containers?: { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[] } | undefined)?.containers ?? []);
              const ports: NamedPort[] = [];
              for (const c of containers) for (const p of c.ports ?? []) if (p.name && p.containerPort) ports.push({ name: p.name, port: p.containerPort, protocol: p.protocol ?? 'TCP' });
              this.setPodNamedPorts(key, ports);
            }
            break;
          }
          case 'Service': {
            const key = `${o.metadata.namespace}/${o.metadata.name}`;
            if (e.type === 'DELETED') this.services.delete(key);
            else {
              const sel = (o['spec'] as { selector?: Record<string, string> } | undefined)?.selector;
              this.services.set(key, { labels: { ...(o.metadata.labels ?? {}) }, ...(sel ? { selector: { ...sel } } : {}) });
            }
            servicesChanged = true;
            break;
          }
          case 'EndpointSlice': {
            const key = `${o.metadata.namespace}/${o.metadata.name}`;
            const svc = o.metadata.labels?.['kubernetes.io/service-name'];
            if (e.type === 'DELETED' || !svc) this.sliceIps.delete(key);
            else {
              const ips: number[] = [];
              for (const ep of (o['endpoints'] as { addresses?: string[] }[] | undefined) ?? []) for (const a of ep.addresses ?? []) {
                const c = parseCidr(a);
                if (c) ips.push(c.addr);
              }
              this.sliceIps.set(key, { service: `${o.metadata.namespace}/${svc}`, ips });
            }
            servicesChanged = true;
            break;
          }
        }
      }
      if (servicesChanged) this.reloadServicePolicies();
    } finally {
      this.applying = false;
    }
  }

  // ---- listeners (agents) -----------------------------------------------------------------

  subscribe(listener: PolicyUpdateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private markDirty(s: SubjectPolicy): void {
    s.result = null;
    this.dirty.add(s.identity);
  }

  private flushNotifications(): void {
    if (this.dirty.size) {
      const ids = new Set(this.dirty);
      this.dirty.clear();
      for (const l of this.listeners) l.regenerate(ids);
    }
    if (this.prefixesDirty) {
      this.prefixesDirty = false;
      for (const l of this.listeners) l.prefixesChanged();
    }
  }

  // ---- computing a subject -------------------------------------------------------------------

  private subjectFor(ctx: SubjectRef, mode: PolicyEnforcementMode, audit = false): SubjectPolicy {
    const base = `${mode}|${ctx.identity}${audit ? '|audit' : ''}`;
    let s = this.subjects.get(base);
    if (!s) {
      const labels = ctx.identity > 0 && ctx.identity < 256 ? (RESERVED_LABELS[ctx.identity] ?? []) : [...ctx.labels].sort();
      s = this.newSubject(base, ctx.identity, new LabelSet(labels), mode, ctx.namedPorts ?? [], audit);
    }
    if (!s.usesIngressNamedPorts) return s;
    const named = ctx.namedPorts ?? [];
    const sig = named.map((p) => `${p.name.toLowerCase()}:${p.port}/${p.protocol}`).sort().join(',');
    const key = `${base}|${sig}`;
    let v = this.subjects.get(key);
    if (!v) v = this.newSubject(key, ctx.identity, s.labels, mode, named, audit);
    return v;
  }

  private newSubject(key: string, identity: number, labels: LabelSet, mode: PolicyEnforcementMode, namedPorts: readonly NamedPort[], audit = false): SubjectPolicy {
    const s = new SubjectPolicy(key, identity, labels, mode, namedPorts.map((p) => ({ ...p })));
    s.audit = audit;
    this.subjects.set(key, s);
    let set = this.subjectsById.get(identity);
    if (!set) this.subjectsById.set(identity, (set = new Set()));
    set.add(s);
    // A new subject has no endpoints written yet: nobody needs telling.
    this.rebuild(s, false);
    return s;
  }

  private dropSubject(s: SubjectPolicy): void {
    this.subjects.delete(s.key);
    this.subjectsById.get(s.identity)?.delete(s);
    for (const sel of s.selectors) {
      sel.users.delete(s);
      this.cache.release(sel);
    }
    s.selectors.clear();
  }

  private ports(p: PortProtocol, direction: Direction, s: SubjectPolicy, l7: L7Rules | undefined): PortSpec[] {
    const protos = p.protocol === 'ANY' ? [6, 17, ...(this.enableSctp ? [132] : [])] : [PROTO_NUM[p.protocol] ?? 6];
    const out: PortSpec[] = [];
    const push = (proto: number, port: number, prefix: number): void => {
      out.push({ pk: portKey(proto, port, prefix), ...(l7 ? { l7 } : {}) });
    };
    if (p.name) {
      const name = p.name;
      let resolved: { port: number; protocol: string }[];
      if (direction === 'ingress') {
        s.usesIngressNamedPorts = true;
        resolved = s.namedPorts.filter((n) => n.name.toLowerCase() === name);
      } else {
        s.egressNamedPorts.add(name);
        resolved = [...(this.namedPortIndex.get(name)?.keys() ?? [])].map((k) => {
          const [port, protocol] = k.split('/') as [string, string];
          return { port: Number(port), protocol };
        });
      }
      for (const r of resolved) {
        const proto = PROTO_NUM[(r.protocol || 'TCP').toUpperCase()] ?? 6;
        if (protos.includes(proto)) push(proto, r.port, POLICY_PREFIX.FULL);
      }
      return out;
    }
    for (const proto of protos) {
      if (p.port === 0) push(proto, 0, POLICY_PREFIX.PROTO);
      else if (p.endPort && p.endPort > p.port) for (const b of rangeBlocks(p.port, p.endPort)) push(proto, b.port, POLICY_PREFIX.FULL - b.bits);
      else push(proto, p.port, POLICY_PREFIX.FULL);
    }
    return out;
  }

  private selectorFor(peer: Peer, requires: Selector[]): SelectorSpec | undefined {
    switch (peer.type) {
      case 'wildcard':
        return { kind: 'wildcard' };
      case 'selector':
        // fromRequires/toRequires narrow every endpoint selector of every rule selecting the endpoint.
        return { kind: 'label', selector: peer.from === 'endpoints' && requires.length ? requires.reduce((a, r) => a.and(r), peer.selector) : peer.selector };
      case 'cidr':
        return { kind: 'cidr', cidr: peer.cidr, except: peer.except };
      case 'fqdn':
        // The addresses the DNS proxies learned for matching names (learnFqdn), as /32 identities.
        return { kind: 'fqdn', ...(peer.matchName ? { matchName: peer.matchName } : {}), ...(peer.matchPattern ? { matchPattern: peer.matchPattern } : {}) };
      default:
        return undefined;
    }
  }

  /** Rebuild everything about a subject from its rules (a policy change, named ports). */
  private rebuild(s: SubjectPolicy, notify = true): void {
    const mode = s.mode;
    let rules = mode === 'never' ? [] : this.rulesSelecting(s.labels);
    // Audited policies are evaluated only by the audit variant; the enforced policy never sees them.
    if (!s.audit && this.auditRules.size) rules = rules.filter((r) => !this.auditRules.has(r));
    s.rules = rules;
    s.enforced = {
      ingress: mode === 'always' || (mode === 'default' && rules.some((r) => r.defaultDeny.ingress)),
      egress: mode === 'always' || (mode === 'default' && rules.some((r) => r.defaultDeny.egress)),
    };
    s.usesIngressNamedPorts = false;
    s.egressNamedPorts = new Set();
    const requires: Record<Direction, Selector[]> = { ingress: [], egress: [] };
    for (const r of rules) for (const pr of r.rules) requires[directionOf(pr.section)].push(...pr.requires);
    const oldSelectors = s.selectors;
    s.selectors = new Set();
    const contributions: Contribution[] = [];
    for (const r of rules) {
      for (const pr of r.rules) {
        const direction = directionOf(pr.section);
        const ref = ruleRef(r, pr.section, pr.index, direction, pr.deny);
        const selectors: CachedSelector<SubjectPolicy>[] = [];
        for (const peer of pr.peers) {
          const spec = this.selectorFor(peer, requires[direction]);
          if (!spec) continue;
          const sel = this.cache.acquire(spec);
          if (s.selectors.has(sel)) this.cache.release(sel);
          else {
            s.selectors.add(sel);
            sel.users.add(s);
          }
          if (!selectors.includes(sel)) selectors.push(sel);
        }
        let ports: PortSpec[];
        if (pr.toPorts) ports = pr.toPorts.flatMap((tp) => tp.ports.flatMap((p) => this.ports(p, direction, s, tp.rules)));
        else if (pr.icmps) ports = pr.icmps.filter((f) => f.family === 'IPv4').map((f) => ({ pk: portKey(1, f.type, POLICY_PREFIX.FULL) }));
        else ports = [{ pk: PK_ALL }];
        contributions.push({ ref, id: `${r.origin.uid}#${r.ruleIndex}/${pr.section}[${pr.index}]`, direction, deny: pr.deny, selectors, ports });
      }
    }
    for (const sel of oldSelectors) {
      if (s.selectors.has(sel)) {
        this.cache.release(sel);
        continue;
      }
      sel.users.delete(s);
      this.cache.release(sel);
    }
    s.contributions = contributions;
    s.ingress = new DirState();
    s.egress = new DirState();
    for (const c of contributions) {
      const st = s.state(c.direction);
      for (const sel of c.selectors) {
        if (sel.isWildcard) this.addPorts(st, 0, c);
        else for (const id of sel.ids) this.addPorts(st, id, c);
      }
    }
    this.addImplicit(s, 0);
    this.addImplicit(s, ReservedIdentity.HOST);
    for (const d of ['ingress', 'egress'] as const) {
      const st = s.state(d);
      st.deriveWild();
      for (const id of st.byId.keys()) st.deriveId(id);
    }
    if (notify) this.markDirty(s);
    else s.result = null;
  }

  private addPorts(st: DirState<Contributor>, id: number, c: Contribution): void {
    for (const p of c.ports) st.add(id, p.pk, { ref: c.ref, id: c.id, ...(p.l7 ? { l7: p.l7 } : {}) }, c.deny, !!p.l7);
  }

  /** Cilium's implicit entries: allow-all where a direction is not enforced; the local host when ingress is. */
  private addImplicit(s: SubjectPolicy, id: number): void {
    if (id === 0) {
      for (const d of ['ingress', 'egress'] as const) if (!s.enforced[d]) s.state(d).add(0, PK_ALL, { implicit: 'enforcement-disabled', id: '!disabled' }, false, false);
    } else if (id === ReservedIdentity.HOST && s.enforced.ingress) {
      s.ingress.add(ReservedIdentity.HOST, PK_ALL, { implicit: 'allow-localhost', id: '!localhost' }, false, false);
    }
  }

  /** Recompute one identity's keys in a subject (it appeared in or left some selectors). */
  private rebuildIdentity(s: SubjectPolicy, id: number): void {
    for (const d of ['ingress', 'egress'] as const) s.state(d).clearId(id);
    for (const c of s.contributions) {
      for (const sel of c.selectors) if (!sel.isWildcard && sel.ids.has(id)) this.addPorts(s.state(c.direction), id, c);
    }
    this.addImplicit(s, id);
    for (const d of ['ingress', 'egress'] as const) s.state(d).deriveId(id);
  }

  // ---- materializing entries ----------------------------------------------------------------------

  private cookieFor(a: Acc<Contributor>, direction: Direction, verdict: Attribution['verdict']): number {
    const rules = (verdict === 'deny' ? a.denies : a.allows) as Contributor[];
    const overridden = verdict === 'deny' ? a.allows : [];
    const ids = [...new Set(rules.map((c) => c.id))].sort();
    const oids = [...new Set(overridden.map((c) => c.id))].sort();
    const sig = `${direction}|${verdict}|${a.derived ? 'd' : ''}|${ids.join(',')}|${oids.join(',')}`;
    return this.attribution.intern(
      {
        direction,
        verdict,
        rules: dedupeRefs(rules),
        overridden: dedupeRefs(overridden),
        derived: a.derived,
        ...(rules.length && rules.every((c) => 'implicit' in c) ? { implicit: (rules[0] as { implicit: ImplicitReason }).implicit } : {}),
      },
      sig,
    );
  }

  private materialize(s: SubjectPolicy): EndpointPolicy {
    const denies: PolicyEntrySpec[] = [];
    const allows: PolicyEntrySpec[] = [];
    for (const direction of ['ingress', 'egress'] as const) {
      const st = s.state(direction);
      const emit = (id: number, a: Acc<Contributor>): void => {
        const proto = pkProto(a.pk);
        const port = pkPort(a.pk);
        const prefix = pkPrefix(a.pk);
        let proxyPort = 0;
        if (!a.deny && a.l7 && this.proxyPortFn) {
          const parser = l7Parser(a.allows);
          proxyPort = this.proxyPortFn({ direction, proto, port, parser }) ?? 0;
        }
        const verdict = a.deny ? 'deny' : proxyPort ? 'redirect' : 'allow';
        const e: PolicyEntrySpec = {
          identity: id,
          egress: direction === 'egress',
          proto,
          port,
          ...(prefix > POLICY_PREFIX.PROTO && prefix < POLICY_PREFIX.FULL ? { portWildcardBits: pkWildcardBits(a.pk) } : {}),
          ...(a.deny ? { deny: true } : {}),
          ...(proxyPort ? { proxyPort } : {}),
          cookie: this.cookieFor(a, direction, verdict),
        };
        (a.deny ? denies : allows).push(e);
      };
      for (const a of st.wild.values()) emit(0, a);
      for (const [id, m] of st.byId) for (const a of m.values()) emit(id, a);
    }
    const entries = [...denies, ...allows];
    if (entries.length > this.mapMax) {
      if (s.overflow !== entries.length) {
        this.reportFn(
          `policy for identity ${s.identity}: ${entries.length} policy map entries needed, the map holds ${this.mapMax} (--bpf-policy-map-max); deny entries are written first, ${entries.length - this.mapMax} allow entries will not fit`,
        );
      }
      s.overflow = entries.length;
    } else s.overflow = 0;
    return { ingressEnforced: s.enforced.ingress, egressEnforced: s.enforced.egress, entries, revision: this.revisionNumber };
  }

  // ---- PolicyComputer --------------------------------------------------------------------------------

  compute(ctx: EndpointPolicyContext, mode: PolicyEnforcementMode): EndpointPolicy {
    this.applyQueue();
    if (ctx.identity >= 256 && !this.cache.identity(ctx.identity)) {
      this.identityChanged(ctx.identity, this.cache.upsertIdentity(ctx.identity, [...ctx.labels].sort()));
    }
    const s = this.subjectFor(ctx, mode);
    if (!s.result) s.result = this.materialize(s);
    // Subjects changed on the way (a policy applied, a new identity selected) tell their endpoints now.
    this.flushNotifications();
    return s.result;
  }

  /** Rules of audited (`podpath.io/mode: audit`) policies loaded: 0 means no endpoint has anything to audit. */
  get auditRuleCount(): number {
    return this.auditRules.size;
  }

  /**
   * Per-policy audit: the endpoint's policy with its audited policies
   * included, for the datapath's audit map; undefined when no audited policy
   * selects the endpoint (then there is nothing to audit and no map).
   */
  auditPolicy(ctx: EndpointPolicyContext, mode: PolicyEnforcementMode): EndpointPolicy | undefined {
    this.applyQueue();
    if (!this.auditRules.size || mode === 'never') return undefined;
    const s = this.subjectFor(ctx, mode, true);
    if (!s.rules.some((r) => this.auditRules.has(r))) return undefined;
    if (!s.result) s.result = this.materialize(s);
    this.flushNotifications();
    return s.result;
  }

  /** Why the audit variant of an endpoint's policy would drop a flow (explainDrop with the audited policies). */
  explainAuditDrop(ctx: SubjectRef, q: { direction: Direction; remoteIdentity: number; proto: number; port: number; cookie?: number }, mode: PolicyEnforcementMode = 'default'): DenyExplanation {
    return this.explainDrop(ctx, q, mode, true);
  }

  /**
   * A private copy for what-if: the same options, identities, services,
   * named ports and policies (loaded in the same order); CIDR identities keep
   * their numbers and cookies their meaning (the attribution table is copied),
   * so maps computed by the copy compare with the live ones. Nothing done to
   * the copy reaches this engine or its listeners.
   */
  fork(): PolicyEngine {
    this.applyQueue();
    const f = new PolicyEngine({ clusterName: this.clusterName, enableSctp: this.enableSctp, policyMapMaxEntries: this.mapMax, ...(this.proxyPortFn ? { proxyPort: this.proxyPortFn } : {}) });
    f.attribution.copyFrom(this.attribution);
    for (const info of this.cache.allIdentities()) if (info.id >= 256 && !info.cidr) f.cache.upsertIdentity(info.id, info.labels.labels);
    for (const [text, e] of this.cidrIds) {
      f.cidrIds.set(text, { prefix: e.prefix, id: e.id, refs: 0 });
      const info = this.cache.identity(e.id);
      f.cache.upsertIdentity(e.id, info ? info.labels.labels : [`cidr:${text}`, 'reserved:world'], e.prefix, info?.names);
    }
    for (const [ip, names] of this.fqdnIps) {
      f.fqdnIps.set(ip, new Map(names));
      const e = f.cidrIds.get(prefixText({ addr: ip >>> 0, prefixLen: 32 }));
      if (e) e.refs++;
    }
    f.freeCidrIds.push(...this.freeCidrIds);
    f.nextCidrId = this.nextCidrId;
    for (const [k, v] of this.podPorts) f.setPodNamedPorts(k, v.ports);
    for (const [k, v] of this.services) f.services.set(k, { labels: { ...v.labels }, ...(v.selector ? { selector: { ...v.selector } } : {}) });
    for (const [k, v] of this.sliceIps) f.sliceIps.set(k, { service: v.service, ips: [...v.ips] });
    for (const p of this.repo.values()) f.load(p.kind, p.obj);
    for (const [text, e] of [...f.cidrIds]) {
      if (e.refs > 0) continue;
      e.refs = 1;
      f.releasePrefix(text);
    }
    f.revisionNumber = this.revisionNumber;
    f.dirty.clear();
    f.prefixesDirty = false;
    return f;
  }

  // ---- attribution & explanations ------------------------------------------------------------------

  /** The rules behind a map entry's or a verdict event's cookie. */
  lookup(cookie: number): Attribution | undefined {
    return this.attribution.lookup(cookie);
  }

  /** Hubble's `*_allowed_by` / `*_denied_by` for a verdict event's cookie (adapter for hubble's PolicyNamer). */
  policies(cookie: number, _ctx?: unknown): HubblePolicy[] {
    const a = this.attribution.lookup(cookie);
    if (!a || a.implicit) return [];
    const seen = new Set<string>();
    const out: HubblePolicy[] = [];
    for (const r of a.rules) {
      const k = `${r.kind}/${r.namespace ?? ''}/${r.name}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ name: r.name, namespace: r.namespace ?? '', labels: r.labels.map((l) => `${l.source}:${l.key}=${l.value}`), revision: this.revisionNumber, kind: r.kind });
    }
    return out;
  }

  /**
   * Why a flow was dropped at an endpoint. With `cookie` (from the verdict
   * event) a deny entry names its rules; without an entry (cookie 0, drop
   * reason 133) the endpoint was in default deny: which rules put it there,
   * and that none allows the peer on that port.
   */
  explainDrop(ctx: SubjectRef, q: { direction: Direction; remoteIdentity: number; proto: number; port: number; cookie?: number }, mode: PolicyEnforcementMode = 'default', audit = false): DenyExplanation {
    this.applyQueue();
    const s = this.subjectFor(ctx, mode, audit);
    const base = { direction: q.direction, remoteIdentity: q.remoteIdentity, proto: q.proto, port: q.port };
    const flow = `identity ${q.remoteIdentity} on ${q.proto === 6 || q.proto === 17 || q.proto === 132 ? `${q.port}/${protoText(q.proto)}` : protoText(q.proto)}`;
    const a = q.cookie ? this.attribution.lookup(q.cookie) : undefined;
    if (a && a.verdict === 'deny') {
      return { kind: 'policy-deny', ...base, selectedBy: [], enforcementAlways: false, attribution: a, text: `${q.direction} ${flow}: ${attributionTextOf(a)}` };
    }
    const selectedBy: RuleRef[] = [];
    for (const r of s.rules) {
      if (!r.defaultDeny[q.direction]) continue;
      selectedBy.push(ruleRef(r, q.direction, 0, q.direction, false));
    }
    const always = s.mode === 'always';
    if (!s.enforced[q.direction]) {
      return { kind: 'not-enforced', ...base, selectedBy, enforcementAlways: false, text: `${q.direction} policy is not enforced for identity ${s.identity}: ${flow} is allowed` };
    }
    const names = [...new Set(selectedBy.map((r) => `${originText(r)}`))];
    const by = names.length ? names.join(', ') : always ? 'policy-enforcement-mode=always' : 'no rule';
    return { kind: 'default-deny', ...base, selectedBy, enforcementAlways: always && !names.length, text: `default deny: selected by ${by}, no rule allows ${flow}` };
  }

  /**
   * The L7 rules that apply to a peer on a port (the hook the HTTP/DNS proxy
   * calls): `allowAll` when some covering rule has no L7 part (shadowed L7).
   */
  l7Rules(ctx: SubjectRef, q: { direction: Direction; remoteIdentity: number; proto: number; port: number }, mode: PolicyEnforcementMode = 'default'): { allowAll: boolean; rules: L7Rules[]; by: RuleRef[] } | undefined {
    this.applyQueue();
    const s = this.subjectFor(ctx, mode);
    const st = s.state(q.direction);
    const out = { allowAll: false, rules: [] as L7Rules[], by: [] as RuleRef[] };
    let any = false;
    for (const m of [st.wild, st.byId.get(q.remoteIdentity)]) {
      if (!m) continue;
      for (const a of m.values()) {
        if (a.deny || !coversFlow(a.pk, q.proto, q.port)) continue;
        for (const c of a.allows) {
          if (!('ref' in c)) continue;
          any = true;
          if (c.l7) out.rules.push(c.l7);
          else out.allowAll = true;
          out.by.push(c.ref);
        }
      }
    }
    return any ? out : undefined;
  }

  // ---- inspection ----------------------------------------------------------------------------------

  /** `cilium policy get [labels]`: the rules (as Cilium prints them) whose labels include every given label. */
  rules(labels?: string[]): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const all = [...this.repo.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    for (const p of all) {
      for (const r of p.rules) {
        if (labels?.length) {
          const have = new Set(r.labels.flatMap((l) => [`${l.source}:${l.key}=${l.value}`, `${l.key}=${l.value}`, `any:${l.key}=${l.value}`]));
          if (!labels.every((l) => have.has(l))) continue;
        }
        out.push(r.json);
      }
    }
    return out;
  }

  /** The repository as `cilium policy get` returns it: rules and revision. */
  policyGet(labels?: string[]): { rules: Record<string, unknown>[]; revision: number } {
    this.applyQueue();
    return { rules: this.rules(labels), revision: this.revisionNumber };
  }

  /** Labels of an identity (reserved, cluster or CIDR), as `cilium bpf policy get` prints them. */
  identityLabels(id: number): string[] {
    if (id === 0) return ['reserved:unknown'];
    const info = this.cache.identity(id);
    return info ? [...info.labels.labels] : (RESERVED_LABELS[id] ?? []);
  }

  /** An endpoint's computed entries with the rules behind each (without reading the map). */
  endpointEntries(ctx: EndpointPolicyContext, mode: PolicyEnforcementMode = 'default'): EntryView[] {
    return this.compute(ctx, mode).entries.map((e) => this.view(e));
  }

  private view(e: PolicyEntrySpec, counters?: { bytes: number; packets: number }): EntryView {
    const bits = e.portWildcardBits ?? 0;
    const prefix = e.proto === 0 ? 0 : e.port === 0 && bits === 0 ? 8 : 24 - bits;
    const a = e.cookie ? this.attribution.lookup(e.cookie) : undefined;
    return {
      direction: e.egress ? 'egress' : 'ingress',
      identity: e.identity,
      identityLabels: this.identityLabels(e.identity),
      proto: e.proto,
      port: e.port,
      wildcardBits: bits,
      prefix,
      portProto: portProtoText(e.proto, e.port, bits),
      deny: !!e.deny,
      proxyPort: e.proxyPort ?? 0,
      cookie: e.cookie ?? 0,
      ...(a ? { attribution: a } : {}),
      ...(counters ?? {}),
    };
  }

  /** `cilium bpf policy get <EPID>` data: decode the real map (with its counters) and attribute every entry. */
  describePolicyMap(map: KeyValueMap): EntryView[] {
    const rows: EntryView[] = [];
    map.forEach((keys, k, v) => {
      const prefixLen = keys[k] | (keys[k + 1]! << 8) | (keys[k + 2]! << 16) | (keys[k + 3]! << 24);
      const identity = (keys[k + POLICY_KEY.SEC_LABEL]! | (keys[k + POLICY_KEY.SEC_LABEL + 1]! << 8) | (keys[k + POLICY_KEY.SEC_LABEL + 2]! << 16) | (keys[k + POLICY_KEY.SEC_LABEL + 3]! << 24)) >>> 0;
      const egress = keys[k + POLICY_KEY.EGRESS] === 1;
      const proto = keys[k + POLICY_KEY.PROTOCOL]!;
      const port = (keys[k + POLICY_KEY.DPORT]! << 8) | keys[k + POLICY_KEY.DPORT + 1]!;
      const dv = map.view;
      const flags = map.values[v + POLICY_ENTRY.FLAGS]!;
      const bits = prefixLen > POLICY_PREFIX.PROTO ? POLICY_PREFIX.FULL - prefixLen : 0;
      const spec: PolicyEntrySpec = {
        identity,
        egress,
        proto: prefixLen <= POLICY_PREFIX.ID_DIR ? 0 : proto,
        port: prefixLen <= POLICY_PREFIX.PROTO ? 0 : port,
        ...(bits ? { portWildcardBits: bits } : {}),
        ...(flags & PolicyEntryFlags.DENY ? { deny: true } : {}),
        proxyPort: dv.getUint16(v + POLICY_ENTRY.PROXY_PORT, false),
        cookie: dv.getUint32(v + POLICY_ENTRY.COOKIE, true),
      };
      const packets = dv.getUint32(v + POLICY_ENTRY.PACKETS, true) + dv.getUint32(v + POLICY_ENTRY.PACKETS + 4, true) * 2 ** 32;
      const bytes = dv.getUint32(v + POLICY_ENTRY.BYTES, true) + dv.getUint32(v + POLICY_ENTRY.BYTES + 4, true) * 2 ** 32;
      rows.push(this.view(spec, { bytes, packets }));
    });
    return rows.sort((a, b) => (a.direction === b.direction ? 0 : a.direction === 'ingress' ? -1 : 1) || a.identity - b.identity || a.proto - b.proto || a.port - b.port);
  }

  /** Sizes, for status pages and the benchmark. */
  stats(): { policies: number; rules: number; identities: number; selectors: number; subjects: number; cookies: number; cidrIdentities: number } {
    let rules = 0;
    for (const p of this.repo.values()) rules += p.rules.length;
    return {
      policies: this.repo.size,
      rules,
      identities: this.cache.identityCount,
      selectors: this.cache.selectorCount,
      subjects: this.subjects.size,
      cookies: this.attribution.size,
      cidrIdentities: this.cidrIds.size,
    };
  }
}

function dedupeRefs(list: readonly Contributor[]): RuleRef[] {
  const seen = new Set<string>();
  const out: RuleRef[] = [];
  for (const c of list) {
    if (!('ref' in c) || seen.has(c.id)) continue;
    seen.add(c.id);
    out.push(c.ref);
  }
  return out;
}

function l7Parser(allows: readonly Contributor[]): string {
  for (const c of allows) {
    if (!('l7' in c) || !c.l7) continue;
    if (c.l7.http?.length) return 'http';
    if (c.l7.dns?.length) return 'dns';
    if (c.l7.kafka?.length) return 'kafka';
    if (c.l7.l7proto) return c.l7.l7proto;
  }
  return 'http';
}

function coversFlow(pk: PortKey, proto: number, port: number): boolean {
  const p = pkPrefix(pk);
  if (p <= POLICY_PREFIX.ID_DIR) return true;
  if (pkProto(pk) !== proto) return false;
  if (p === POLICY_PREFIX.PROTO) return true;
  const shift = POLICY_PREFIX.FULL - p;
  return pkPort(pk) >>> shift === port >>> shift;
}

function attributionTextOf(a: Attribution): string {
  const rules = a.rules.map((r) => `${originText(r)} ${r.rulePath === 'spec' ? '' : `${r.rulePath}.`}${r.section}[${r.index}]`).join(', ');
  return a.verdict === 'deny' ? `denied by ${rules}` : `allowed by ${rules}`;
}
