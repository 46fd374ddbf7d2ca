// The internal rule model: what CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy
// and Kubernetes NetworkPolicy objects become once parsed. Selectors are
// already rewritten (namespace pinning, `any:`/`k8s:` sources, entities as
// reserved-label selectors), so the engine never looks at the YAML again.

import type { Selector } from './selector.js';

export type PolicyKind = 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy' | 'NetworkPolicy';
export type Direction = 'ingress' | 'egress';
export type Section = 'ingress' | 'ingressDeny' | 'egress' | 'egressDeny';

/** The object a rule came from. */
export interface PolicyOrigin {
  kind: PolicyKind;
  /** Absent for CiliumClusterwideNetworkPolicy. */
  namespace?: string;
  name: string;
  uid: string;
}

/** A rule label (`cilium policy get` "labels"). */
export interface RuleLabel {
  key: string;
  value: string;
  source: string;
}

export interface Prefix {
  addr: number;
  prefixLen: number;
}

/** An L3 peer: what the selector cache turns into a set of identities. */
export type Peer =
  /** No L3 field but L4 present: every peer, map identity 0. */
  | { type: 'wildcard' }
  /** Endpoints, entities and (KNP) pod/namespace selectors: a label selector on identities. */
  | { type: 'selector'; selector: Selector; from: 'endpoints' | 'entities' | 'nodes' | 'services' }
  /** fromCIDR / fromCIDRSet / ipBlock: CIDR identities inside `cidr` and outside every `except`. */
  | { type: 'cidr'; cidr: Prefix; except: Prefix[] }
  /** toFQDNs: names whose IPs the DNS proxy learns (none until then). */
  | { type: 'fqdn'; matchName?: string; matchPattern?: string }
  /** toServices: resolved against Services when the rule is built. */
  | { type: 'service'; serviceName?: string; namespace?: string; selector?: Selector }
  /** An explicitly empty peer list, `none`, toGroups: selects nothing. */
  | { type: 'none' };

export type L4Proto = 'TCP' | 'UDP' | 'SCTP' | 'ANY';

export interface PortProtocol {
  /** 0 = every port; ignored when `name` is set. */
  port: number;
  endPort?: number;
  /** A named port (lower case), resolved against the destination pod's container ports. */
  name?: string;
  protocol: L4Proto;
}

export interface HttpRule {
  method?: string;
  path?: string;
  host?: string;
  headers?: string[];
  headerMatches?: { name: string; value?: string; secret?: { namespace?: string; name: string }; mismatch?: string }[];
}

export interface DnsRule {
  matchName?: string;
  matchPattern?: string;
}

export interface L7Rules {
  http?: HttpRule[];
  dns?: DnsRule[];
  kafka?: Record<string, unknown>[];
  l7proto?: string;
  l7?: Record<string, string>[];
}

export interface PortRule {
  ports: PortProtocol[];
  rules?: L7Rules;
  serverNames?: string[];
}

export interface IcmpField {
  family: 'IPv4' | 'IPv6';
  type: number;
}

/** One element of ingress / ingressDeny / egress / egressDeny (or a translated KNP rule). */
export interface PeerRule {
  section: Section;
  /** Index in its list (the YAML's `ingress[i]`). */
  index: number;
  deny: boolean;
  /** Peers, ORed. Empty = nothing. */
  peers: Peer[];
  /** fromRequires / toRequires (deprecated): ANDed into every endpoint selector of every rule selecting the endpoint. */
  requires: Selector[];
  /** Absent = L3 only (every protocol and port, ICMP included). */
  toPorts?: PortRule[];
  icmps?: IcmpField[];
}

export interface PolicyRule {
  origin: PolicyOrigin;
  /** Index of the rule in its object (`spec` = 0, then `specs[i]` follow). */
  ruleIndex: number;
  /** Where the rule sits in the object, for messages: `spec`, `specs[1]`. */
  path: string;
  labels: RuleLabel[];
  description?: string;
  /** The endpoint (or node) selector after namespace pinning. */
  subject: Selector;
  hostPolicy: boolean;
  /** Whether selecting an endpoint puts that direction into default deny. */
  defaultDeny: { ingress: boolean; egress: boolean };
  rules: PeerRule[];
  /** The rule as `cilium policy get` prints it. */
  json: Record<string, unknown>;
}

export function directionOf(section: Section): Direction {
  return section === 'ingress' || section === 'ingressDeny' ? 'ingress' : 'egress';
}

export function originText(o: PolicyOrigin): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}
