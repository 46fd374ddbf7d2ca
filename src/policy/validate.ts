// Validation of policy objects at apply time, with the field path of every
// problem, rendered the way kubectl shows the apiserver's answer:
//
//   spec.ingress[0].toPorts[0].ports[0].port: Invalid value: "99999": Unable to parse port: ...
//
// Two stages, like the real path of a CiliumNetworkPolicy: the CRD's
// structural schema (JSON types, unknown fields, enums) and then Cilium's
// rule sanitizer (mixed peer kinds, CIDRs, ports, L7 rules; reasons worded as
// the agent words them). Kubernetes NetworkPolicy gets the apiserver's own
// checks (ValidateNetworkPolicy). Regexes are compiled with RE2 (re2js), the
// engine Envoy and Go use: never JavaScript's backtracking RegExp.

import { RE2JS } from 're2js';
import {
  childPath,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  indexPath,
  keyPath,
  type FieldError,
} from '../k8s/validation/field.js';
import { checkCidr, checkLabelValue, checkPortName, checkQualifiedName } from '../k8s/validation/names.js';
import { parsePrefix, prefixContainsAddr } from './cidr.js';
import { splitKey } from './selector.js';
import type { PolicyKind } from './types.js';

// ---- the structural schema ----------------------------------------------------

type Shape = 'string' | 'bool' | 'int' | 'intOrString' | 'any' | 'stringMap' | { obj: Record<string, Shape> } | { arr: Shape };

const str: Shape = 'string';
const strList: Shape = { arr: 'string' };
const selector: Shape = {
  obj: {
    matchLabels: 'stringMap',
    matchExpressions: { arr: { obj: { key: str, operator: str, values: strList } } },
  },
};
const secretRef: Shape = { obj: { namespace: str, name: str } };
const portProtocol: Shape = { obj: { port: str, endPort: 'int', protocol: str } };
const httpRule: Shape = {
  obj: {
    method: str,
    path: str,
    host: str,
    headers: strList,
    headerMatches: { arr: { obj: { name: str, value: str, mismatch: str, secret: secretRef } } },
  },
};
const fqdnSelector: Shape = { obj: { matchName: str, matchPattern: str } };
const l7Rules: Shape = {
  obj: { http: { arr: httpRule }, dns: { arr: fqdnSelector }, kafka: { arr: 'any' }, l7proto: str, l7: { arr: 'stringMap' } },
};
const tlsContext: Shape = { obj: { secret: secretRef, trustedCA: str, certificate: str, privateKey: str } };
const portRule: Shape = {
  obj: {
    ports: { arr: portProtocol },
    rules: l7Rules,
    terminatingTLS: tlsContext,
    originatingTLS: tlsContext,
    serverNames: strList,
    listener: { obj: { envoyConfig: { obj: { kind: str, name: str } }, name: str, priority: 'int' } },
  },
};
const portDenyRule: Shape = { obj: { ports: { arr: portProtocol } } };
const cidrRule: Shape = { obj: { cidr: str, cidrGroupRef: str, cidrGroupSelector: selector, except: strList } };
const icmpRule: Shape = { obj: { fields: { arr: { obj: { family: str, type: 'intOrString' } } } } };
const serviceRule: Shape = {
  obj: {
    k8sService: { obj: { serviceName: str, namespace: str } },
    k8sServiceSelector: { obj: { selector, namespace: str } },
  },
};
const auth: Shape = { obj: { mode: str } };
const ingressCommon = {
  fromEndpoints: { arr: selector },
  fromRequires: { arr: selector },
  fromCIDR: strList,
  fromCIDRSet: { arr: cidrRule },
  fromEntities: strList,
  fromGroups: { arr: 'any' },
  fromNodes: { arr: selector },
  icmps: { arr: icmpRule },
} satisfies Record<string, Shape>;
const egressCommon = {
  toEndpoints: { arr: selector },
  toRequires: { arr: selector },
  toCIDR: strList,
  toCIDRSet: { arr: cidrRule },
  toEntities: strList,
  toServices: { arr: serviceRule },
  toGroups: { arr: 'any' },
  toNodes: { arr: selector },
  icmps: { arr: icmpRule },
} satisfies Record<string, Shape>;
const ruleShape: Shape = {
  obj: {
    endpointSelector: selector,
    nodeSelector: selector,
    ingress: { arr: { obj: { ...ingressCommon, toPorts: { arr: portRule }, authentication: auth } } },
    ingressDeny: { arr: { obj: { ...ingressCommon, toPorts: { arr: portDenyRule } } } },
    egress: { arr: { obj: { ...egressCommon, toPorts: { arr: portRule }, toFQDNs: { arr: fqdnSelector }, authentication: auth } } },
    egressDeny: { arr: { obj: { ...egressCommon, toPorts: { arr: portDenyRule } } } },
    labels: { arr: { obj: { key: str, value: str, source: str } } },
    description: str,
    enableDefaultDeny: { obj: { ingress: 'bool', egress: 'bool' } },
    log: { obj: { value: str } },
  },
};

const knpSelector = selector;
const knpPort: Shape = { obj: { protocol: str, port: 'intOrString', endPort: 'int' } };
const knpPeer: Shape = { obj: { podSelector: knpSelector, namespaceSelector: knpSelector, ipBlock: { obj: { cidr: str, except: strList } } } };
const knpSpec: Shape = {
  obj: {
    podSelector: knpSelector,
    ingress: { arr: { obj: { from: { arr: knpPeer }, ports: { arr: knpPort } } } },
    egress: { arr: { obj: { to: { arr: knpPeer }, ports: { arr: knpPort } } } },
    policyTypes: strList,
  },
};

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  return typeof v;
}

function typeError(path: string, expected: string, v: unknown): FieldError {
  const got = jsonType(v);
  return { field: path, type: 'FieldValueTypeInvalid', badValue: got, message: `${path} in body must be of type ${expected}: ${JSON.stringify(got)}` };
}

/** JSON types and unknown fields, as the CRD's structural schema checks them. */
function checkShape(v: unknown, shape: Shape, path: string, out: FieldError[]): void {
  if (v === null || v === undefined) return;
  if (shape === 'any') return;
  if (shape === 'string') {
    if (typeof v !== 'string') out.push(typeError(path, 'string', v));
    return;
  }
  if (shape === 'bool') {
    if (typeof v !== 'boolean') out.push(typeError(path, 'boolean', v));
    return;
  }
  if (shape === 'int') {
    if (typeof v !== 'number' || !Number.isInteger(v)) out.push(typeError(path, 'integer', v));
    return;
  }
  if (shape === 'intOrString') {
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) out.push(typeError(path, 'integer or string', v));
    return;
  }
  if (shape === 'stringMap') {
    if (typeof v !== 'object' || Array.isArray(v)) {
      out.push(typeError(path, 'object', v));
      return;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== null && typeof x !== 'string') out.push(typeError(keyPath(path, k), 'string', x));
    return;
  }
  if ('arr' in shape) {
    if (!Array.isArray(v)) {
      out.push(typeError(path, 'array', v));
      return;
    }
    v.forEach((x, i) => checkShape(x, shape.arr, indexPath(path, i), out));
    return;
  }
  if (typeof v !== 'object' || Array.isArray(v)) {
    out.push(typeError(path, 'object', v));
    return;
  }
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const sub = shape.obj[k];
    if (sub === undefined) out.push(fieldForbidden(childPath(path, k), 'unknown field'));
    else checkShape(x, sub, childPath(path, k), out);
  }
}

// ---- helpers ---------------------------------------------------------------------

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const present = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

/** Compile with RE2; the error text as Go's regexp prints it, or undefined. */
export function re2Error(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export const ENTITIES = ['all', 'world', 'cluster', 'host', 'init', 'ingress', 'unmanaged', 'remote-node', 'health', 'none', 'kube-apiserver'] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ANY'] as const;

/** ICMP type names Cilium accepts (api.ICMPField.Type), IPv4 numbers. */
export const ICMPV4_TYPES: Record<string, number> = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  Redirect: 5,
  Echo: 8,
  EchoRequest: 8,
  RouterAdvertisement: 9,
  RouterSelection: 10,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
  Photuris: 40,
  ExtendedEchoRequest: 42,
  ExtendedEchoReply: 43,
};
export const ICMPV6_TYPES: Record<string, number> = {
  DestinationUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  MulticastListenerQuery: 130,
  MulticastListenerReport: 131,
  MulticastListenerDone: 132,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  RedirectMessage: 137,
  RouterRenumbering: 138,
  ICMPNodeInformationQuery: 139,
  ICMPNodeInformationResponse: 140,
  InverseNeighborDiscoverySolicitation: 141,
  InverseNeighborDiscoveryAdvertisement: 142,
  HomeAgentAddressDiscoveryRequest: 144,
  HomeAgentAddressDiscoveryReply: 145,
  MobilePrefixSolicitation: 146,
  MobilePrefixAdvertisement: 147,
  DuplicateAddressRequestCodeSuffix: 157,
  DuplicateAddressConfirmationCodeSuffix: 158,
  ExtendedEchoRequest: 160,
  ExtendedEchoReply: 161,
};

const MAX_PORTS = 40;
const MAX_ICMP_FIELDS = 40;
/** IANA service name: letters, digits and single hyphens, at least one letter. */
const SVC_NAME = /^(?=.{1,15}$)(?=.*[a-zA-Z])[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$/;
const MATCH_NAME = /^([-a-zA-Z0-9_]+[.]?)+$/;
const MATCH_PATTERN = /^([-a-zA-Z0-9_*]+[.]?)+$/;

export function isServiceName(p: string): boolean {
  return SVC_NAME.test(p);
}

/** A port string: a number 0..65535 (Go's ParseUint base 0: 0x.., 0o.., 0b.. too) or an IANA service name. */
export function parsePortString(p: string): { port: number } | { name: string } | { error: string } {
  if (isServiceName(p)) return { name: p.toLowerCase() };
  const m = /^(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|[0-9_]+)$/.exec(p);
  if (!m) return { error: `Unable to parse port: strconv.ParseUint: parsing ${JSON.stringify(p)}: invalid syntax` };
  const t = p.replace(/_/g, '');
  let n: number;
  if (/^0[xX]/.test(t)) n = parseInt(t.slice(2), 16);
  else if (/^0[bB]/.test(t)) n = parseInt(t.slice(2), 2);
  else if (/^0[oO]/.test(t)) n = parseInt(t.slice(2), 8);
  else if (/^0[0-7]+$/.test(t)) n = parseInt(t.slice(1), 8);
  else n = Number(t);
  if (!Number.isFinite(n) || Number.isNaN(n)) return { error: `Unable to parse port: strconv.ParseUint: parsing ${JSON.stringify(p)}: invalid syntax` };
  if (n > 65535) return { error: `Unable to parse port: strconv.ParseUint: parsing ${JSON.stringify(p)}: value out of range` };
  return { port: n };
}

/** Protocol as written → canonical (Cilium upper-cases; empty = ANY). */
export function normalizeProtocol(p: string | undefined): string {
  return (p ?? '').toUpperCase() || 'ANY';
}

// ---- selectors --------------------------------------------------------------------

function validateSelector(sel: unknown, path: string, allowSources: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const s = asObj(sel);
  const keyErrors = (k: string, p: string): void => {
    const { key } = allowSources ? splitKey(k) : { key: k };
    for (const m of checkQualifiedName(key)) errs.push(fieldInvalid(p, k, m));
  };
  for (const [k, v] of Object.entries(asObj(s['matchLabels']))) {
    const p = childPath(path, 'matchLabels');
    keyErrors(k, p);
    if (typeof v === 'string') for (const m of checkLabelValue(v)) errs.push(fieldInvalid(p, v, m));
  }
  asArr(s['matchExpressions']).forEach((e, i) => {
    const ep = indexPath(childPath(path, 'matchExpressions'), i);
    const x = asObj(e);
    const op = asStr(x['operator']) ?? '';
    const values = asArr(x['values']);
    switch (op) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errs.push(fieldRequired(childPath(ep, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errs.push(fieldForbidden(childPath(ep, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      case '':
        errs.push(fieldRequired(childPath(ep, 'operator')));
        break;
      default:
        errs.push(fieldNotSupported(childPath(ep, 'operator'), op, ['In', 'NotIn', 'Exists', 'DoesNotExist']));
    }
    const key = asStr(x['key']);
    if (!key) errs.push(fieldRequired(childPath(ep, 'key')));
    else keyErrors(key, childPath(ep, 'key'));
    values.forEach((v, j) => {
      if (typeof v === 'string') for (const m of checkLabelValue(v)) errs.push(fieldInvalid(indexPath(childPath(ep, 'values'), j), v, m));
    });
  });
  return errs;
}

// ---- CiliumNetworkPolicy rules -----------------------------------------------------

const INGRESS_L3 = ['fromEndpoints', 'fromCIDR', 'fromCIDRSet', 'fromEntities', 'fromNodes', 'fromGroups'] as const;
const EGRESS_L3 = ['toEndpoints', 'toCIDR', 'toCIDRSet', 'toEntities', 'toServices', 'toFQDNs', 'toGroups', 'toNodes'] as const;

/** `fromEndpoints` → `FromEndpoints`, `toCIDRSet` → `ToCIDRSet`, as Cilium's messages name the fields. */
const goName = (f: string): string => f.charAt(0).toUpperCase() + f.slice(1);

function validateCidr(v: unknown, path: string, out: FieldError[]): void {
  const s = asStr(v);
  if (s === undefined) return;
  if (s === '') out.push(fieldRequired(path, 'IP must be specified'));
  else if (!parsePrefix(s, true)) out.push(fieldInvalid(path, s, 'unable to parse CIDR: must be an IP address or a CIDR prefix (e.g. 10.0.0.0/8)'));
}

function validateCidrRule(v: unknown, path: string, out: FieldError[]): void {
  const r = asObj(v);
  const set = ['cidr', 'cidrGroupRef', 'cidrGroupSelector'].filter((k) => r[k] !== undefined && r[k] !== null && r[k] !== '');
  if (set.length !== 1) {
    out.push(fieldInvalid(path, set.length ? set.join(', ') : 'none', 'exactly one of cidr, cidrGroupRef or cidrGroupSelector must be set'));
    return;
  }
  if (r['cidrGroupSelector'] !== undefined) out.push(...validateSelector(r['cidrGroupSelector'], childPath(path, 'cidrGroupSelector'), false));
  const cidr = asStr(r['cidr']);
  if (cidr === undefined) return;
  const outer = parsePrefix(cidr);
  if (!outer) {
    out.push(fieldInvalid(childPath(path, 'cidr'), cidr, `Unable to parse CIDRRule ${JSON.stringify(cidr)}: must be a CIDR prefix (e.g. 10.0.0.0/8)`));
    return;
  }
  asArr(r['except']).forEach((e, i) => {
    const s = asStr(e);
    if (s === undefined) return;
    const p = indexPath(childPath(path, 'except'), i);
    const inner = parsePrefix(s);
    if (!inner) out.push(fieldInvalid(p, s, 'must be a CIDR prefix (e.g. 10.96.0.0/12)'));
    else if (!prefixContainsAddr(outer, inner)) out.push(fieldInvalid(p, s, `allow CIDR prefix ${cidr} does not contain exclude CIDR prefix ${s}`));
  });
}

function validatePortRule(v: unknown, path: string, ingress: boolean, deny: boolean, hostPolicy: boolean, out: FieldError[]): void {
  const pr = asObj(v);
  const ports = asArr(pr['ports']);
  const rules = pr['rules'] === undefined || pr['rules'] === null ? undefined : asObj(pr['rules']);
  const kinds = rules ? (['http', 'kafka', 'dns', 'l7proto'] as const).filter((k) => (k === 'l7proto' ? !!asStr(rules[k]) : rules[k] !== undefined && rules[k] !== null)) : [];
  const hasDns = !!rules && present(rules['dns']);
  const hasL7 = kinds.length > 0 && kinds.some((k) => (k === 'l7proto' ? true : present(rules![k])));
  if (deny && rules) out.push(fieldForbidden(childPath(path, 'rules'), 'L7 rules are not allowed in deny rules'));
  if (ingress && hasDns) out.push(fieldForbidden(childPath(path, 'rules.dns'), 'DNS rules are not allowed on ingress'));
  if (hostPolicy && hasL7) out.push(fieldForbidden(childPath(path, 'rules'), 'host policies do not support L7 rules yet'));
  asArr(pr['serverNames']).forEach((s, i) => {
    if (s === '') out.push(fieldInvalid(indexPath(childPath(path, 'serverNames'), i), s, 'Empty server name is not allowed'));
  });
  if (present(pr['serverNames']) && hasL7 && pr['terminatingTLS'] === undefined) {
    out.push(fieldForbidden(childPath(path, 'serverNames'), 'ServerNames are not allowed with L7 rules without TLS termination'));
  }
  if (ports.length > MAX_PORTS) out.push({ field: childPath(path, 'ports'), type: 'FieldValueTooMany', message: `too many ports, the max is ${MAX_PORTS}`, badValue: ports.length });
  let zero = false;
  ports.forEach((p, i) => {
    const pp = indexPath(childPath(path, 'ports'), i);
    const x = asObj(p);
    const port = asStr(x['port']);
    const proto = asStr(x['protocol']);
    if (proto !== undefined && !(PROTOCOLS as readonly string[]).includes(proto.toUpperCase())) {
      out.push(fieldNotSupported(childPath(pp, 'protocol'), proto, PROTOCOLS));
    }
    const endPort = x['endPort'];
    if (typeof endPort === 'number' && (endPort < 0 || endPort > 65535)) {
      out.push(fieldInvalid(childPath(pp, 'endPort'), endPort, `${childPath(pp, 'endPort')} in body should be less than or equal to 65535`));
    }
    if (port === undefined || port === '') {
      out.push(fieldRequired(childPath(pp, 'port'), 'Port must be specified'));
      return;
    }
    const parsed = parsePortString(port);
    if ('error' in parsed) {
      out.push(fieldInvalid(childPath(pp, 'port'), port, parsed.error));
      return;
    }
    if ('port' in parsed) {
      if (parsed.port === 0) zero = true;
      if (hasDns && typeof endPort === 'number' && endPort > parsed.port) out.push(fieldInvalid(childPath(pp, 'endPort'), endPort, 'DNS rules do not support port ranges'));
    }
    const p4 = normalizeProtocol(proto);
    if (hasL7 && !hasDns && p4 !== 'TCP') out.push(fieldInvalid(childPath(pp, 'protocol'), proto ?? '', `L7 rules can only apply to TCP (not ${p4}) except for DNS rules`));
  });
  const listener = pr['listener'];
  if (listener !== undefined && listener !== null) {
    const name = asStr(asObj(listener)['name']) ?? '';
    if (ingress) out.push(fieldForbidden(childPath(path, 'listener'), `Listener is not allowed on ingress (${name})`));
    if (hasL7) out.push(fieldForbidden(childPath(path, 'listener'), `Listener is not allowed with L7 rules (${name})`));
  }
  if (!rules || deny) return;
  if (hasL7 && zero) out.push(fieldInvalid(childPath(path, 'rules'), 'port 0', 'L7 rules can not be used when a port is 0'));
  if (kinds.length > 1) out.push(fieldForbidden(childPath(path, 'rules'), 'multiple L7 protocol rule types specified in single rule'));
  if (rules['l7'] !== undefined && !asStr(rules['l7proto'])) out.push(fieldForbidden(childPath(path, 'rules.l7'), "'l7' may only be specified when a 'l7proto' is also specified"));
  if (hasDns && ports.length === 0) out.push(fieldRequired(childPath(path, 'ports'), 'Port 53 must be specified for DNS rules'));
  asArr(rules['http']).forEach((h, i) => {
    const hp = indexPath(childPath(path, 'rules.http'), i);
    const x = asObj(h);
    for (const f of ['method', 'path', 'host'] as const) {
      const re = asStr(x[f]);
      if (!re) continue;
      const err = re2Error(re);
      if (err) out.push(fieldInvalid(childPath(hp, f), re, err));
    }
    asArr(x['headerMatches']).forEach((m, j) => {
      const mp = indexPath(childPath(hp, 'headerMatches'), j);
      const hm = asObj(m);
      if (!asStr(hm['name'])) out.push(fieldRequired(childPath(mp, 'name'), 'Header name missing'));
      const mismatch = asStr(hm['mismatch']);
      if (mismatch && !['LOG', 'ADD', 'DELETE', 'REPLACE'].includes(mismatch)) {
        out.push(fieldNotSupported(childPath(mp, 'mismatch'), mismatch, ['LOG', 'ADD', 'DELETE', 'REPLACE']));
      }
      if (hm['secret'] !== undefined && hm['secret'] !== null && !asStr(asObj(hm['secret'])['name'])) out.push(fieldRequired(childPath(mp, 'secret.name'), 'Secret name missing'));
    });
  });
  asArr(rules['dns']).forEach((d, i) => validateFqdn(d, indexPath(childPath(path, 'rules.dns'), i), false, out));
}

function validateFqdn(v: unknown, path: string, exclusive: boolean, out: FieldError[]): void {
  const x = asObj(v);
  const name = asStr(x['matchName']);
  const pattern = asStr(x['matchPattern']);
  if (exclusive && name && pattern) out.push(fieldForbidden(path, 'only one of MatchName or MatchPattern is allowed in an FQDNSelector'));
  if (name && !MATCH_NAME.test(name)) {
    out.push(fieldInvalid(childPath(path, 'matchName'), name, `Invalid characters in MatchName: "${name}". Only 0-9, a-z, A-Z and . and - characters are allowed`));
  }
  if (pattern && !MATCH_PATTERN.test(pattern)) {
    out.push(fieldInvalid(childPath(path, 'matchPattern'), pattern, `Invalid characters in MatchPattern: "${pattern}". Only 0-9, a-z, A-Z and ., - and * characters are allowed`));
  }
}

function validateIcmps(v: unknown, path: string, out: FieldError[]): void {
  asArr(v).forEach((r, i) => {
    const rp = indexPath(path, i);
    const fields = asArr(asObj(r)['fields']);
    if (fields.length > MAX_ICMP_FIELDS) out.push({ field: childPath(rp, 'fields'), type: 'FieldValueTooMany', message: `too many types, the max is ${MAX_ICMP_FIELDS}`, badValue: fields.length });
    fields.forEach((f, j) => {
      const fp = indexPath(childPath(rp, 'fields'), j);
      const x = asObj(f);
      const family = asStr(x['family']) ?? 'IPv4';
      if (family !== 'IPv4' && family !== 'IPv6') {
        out.push(fieldNotSupported(childPath(fp, 'family'), family, ['IPv4', 'IPv6']));
        return;
      }
      const t = x['type'];
      if (t === undefined || t === null) out.push(fieldRequired(childPath(fp, 'type')));
      else if (typeof t === 'number') {
        if (t < 0 || t > 255) out.push(fieldInvalid(childPath(fp, 'type'), t, 'must be an ICMP type between 0 and 255'));
      } else if (typeof t === 'string') {
        const names = family === 'IPv4' ? ICMPV4_TYPES : ICMPV6_TYPES;
        if (!(t in names) && !/^[0-9]+$/.test(t)) out.push(fieldNotSupported(childPath(fp, 'type'), t, Object.keys(names)));
      }
    });
  });
}

function validatePeerRule(rule: unknown, path: string, section: 'ingress' | 'ingressDeny' | 'egress' | 'egressDeny', hostPolicy: boolean, out: FieldError[]): void {
  const r = asObj(rule);
  const ingress = section.startsWith('ingress');
  const deny = section.endsWith('Deny');
  const l3 = (ingress ? INGRESS_L3 : EGRESS_L3).filter((f) => present(r[f]));
  if (l3.length > 1) out.push(fieldForbidden(path, `Combining ${goName(l3[0]!)} and ${goName(l3[1]!)} is not supported yet`));
  if (present(r['toServices']) && present(r['toPorts'])) out.push(fieldForbidden(path, 'Combining ToServices and ToPorts is not supported yet'));
  if (present(r['icmps']) && present(r['toPorts'])) out.push(fieldForbidden(path, 'The ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts.'));
  for (const f of ['fromNodes', 'toNodes']) {
    if (present(r[f])) out.push(fieldForbidden(childPath(path, f), 'FromNodes/ToNodes rules can only be applied when the "enable-node-selector-labels" flag is set'));
  }
  for (const f of ['fromEndpoints', 'fromRequires', 'toEndpoints', 'toRequires']) {
    asArr(r[f]).forEach((s, i) => out.push(...validateSelector(s, indexPath(childPath(path, f), i), true)));
  }
  for (const f of ['fromCIDR', 'toCIDR']) asArr(r[f]).forEach((c, i) => validateCidr(c, indexPath(childPath(path, f), i), out));
  for (const f of ['fromCIDRSet', 'toCIDRSet']) asArr(r[f]).forEach((c, i) => validateCidrRule(c, indexPath(childPath(path, f), i), out));
  for (const f of ['fromEntities', 'toEntities']) {
    asArr(r[f]).forEach((e, i) => {
      if (typeof e === 'string' && !(ENTITIES as readonly string[]).includes(e)) out.push(fieldNotSupported(indexPath(childPath(path, f), i), e, ENTITIES));
    });
  }
  asArr(r['toServices']).forEach((s, i) => {
    const sp = indexPath(childPath(path, 'toServices'), i);
    const x = asObj(s);
    const byName = x['k8sService'];
    const bySel = x['k8sServiceSelector'];
    if ((byName === undefined) === (bySel === undefined)) out.push(fieldInvalid(sp, s, 'exactly one of k8sService or k8sServiceSelector must be set'));
    if (byName !== undefined && !asStr(asObj(byName)['serviceName'])) out.push(fieldRequired(childPath(sp, 'k8sService.serviceName')));
    if (bySel !== undefined) {
      const sel = asObj(bySel)['selector'];
      if (sel === undefined) out.push(fieldRequired(childPath(sp, 'k8sServiceSelector.selector')));
      else out.push(...validateSelector(sel, childPath(sp, 'k8sServiceSelector.selector'), false));
    }
  });
  asArr(r['toFQDNs']).forEach((f, i) => validateFqdn(f, indexPath(childPath(path, 'toFQDNs'), i), true, out));
  asArr(r['toPorts']).forEach((p, i) => validatePortRule(p, indexPath(childPath(path, 'toPorts'), i), ingress, deny, hostPolicy, out));
  validateIcmps(r['icmps'], childPath(path, 'icmps'), out);
  const mode = asStr(asObj(r['authentication'])['mode']);
  if (mode !== undefined && !['disabled', 'required', 'test-always-fail'].includes(mode)) {
    out.push(fieldNotSupported(childPath(path, 'authentication.mode'), mode, ['disabled', 'required', 'test-always-fail']));
  }
  // Two PortRules on the same port with different L7 parsers cannot be merged.
  if (!deny) checkL7Conflicts(asArr(r['toPorts']), childPath(path, 'toPorts'), out);
}

function l7Kind(rules: Obj | undefined): string | undefined {
  if (!rules) return undefined;
  if (present(rules['http'])) return 'http';
  if (present(rules['kafka'])) return 'kafka';
  if (present(rules['dns'])) return 'dns';
  return asStr(rules['l7proto']) || undefined;
}

function checkL7Conflicts(portRules: unknown[], path: string, out: FieldError[]): void {
  const seen = new Map<string, string>();
  portRules.forEach((pr, i) => {
    const x = asObj(pr);
    const kind = l7Kind(x['rules'] === undefined ? undefined : asObj(x['rules']));
    if (!kind) return;
    for (const p of asArr(x['ports'])) {
      const pp = asObj(p);
      const key = `${asStr(pp['port']) ?? ''}/${normalizeProtocol(asStr(pp['protocol']))}`;
      const other = seen.get(key);
      if (other && other !== kind) out.push(fieldInvalid(indexPath(path, i), key, `cannot merge conflicting L7 parsers (${other}/${kind})`));
      else seen.set(key, kind);
    }
  });
}

/** One CNP/CCNP rule (`spec` or `specs[i]`). */
function validateRule(rule: unknown, path: string, kind: PolicyKind, out: FieldError[]): void {
  const r = asObj(rule);
  const es = r['endpointSelector'];
  const ns = r['nodeSelector'];
  const hasEs = es !== undefined && es !== null;
  const hasNs = ns !== undefined && ns !== null;
  if (!hasEs && !hasNs) out.push(fieldRequired(childPath(path, 'endpointSelector'), 'rule must have one of EndpointSelector or NodeSelector'));
  if (hasEs && hasNs) out.push(fieldForbidden(childPath(path, 'nodeSelector'), 'rule cannot have both EndpointSelector and NodeSelector'));
  if (hasNs && kind === 'CiliumNetworkPolicy') out.push(fieldForbidden(childPath(path, 'nodeSelector'), 'nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy'));
  if (hasEs) out.push(...validateSelector(es, childPath(path, 'endpointSelector'), true));
  if (hasNs) out.push(...validateSelector(ns, childPath(path, 'nodeSelector'), true));
  for (const section of ['ingress', 'ingressDeny', 'egress', 'egressDeny'] as const) {
    asArr(r[section]).forEach((x, i) => validatePeerRule(x, indexPath(childPath(path, section), i), section, hasNs && !hasEs, out));
  }
  const log = asStr(asObj(r['log'])['value']);
  if (log !== undefined && log.length > 32) out.push({ field: childPath(path, 'log.value'), type: 'FieldValueTooLong', message: 'may not be more than 32 bytes' });
  asArr(r['labels']).forEach((l, i) => {
    if (!asStr(asObj(l)['key'])) out.push(fieldRequired(childPath(indexPath(childPath(path, 'labels'), i), 'key')));
  });
}

// ---- Kubernetes NetworkPolicy --------------------------------------------------------

function validateKnpPeer(v: unknown, path: string, out: FieldError[]): void {
  const p = asObj(v);
  let n = 0;
  if (p['podSelector'] !== undefined && p['podSelector'] !== null) {
    n++;
    out.push(...validateSelector(p['podSelector'], childPath(path, 'podSelector'), false));
  }
  if (p['namespaceSelector'] !== undefined && p['namespaceSelector'] !== null) {
    n++;
    out.push(...validateSelector(p['namespaceSelector'], childPath(path, 'namespaceSelector'), false));
  }
  const ipBlock = p['ipBlock'];
  if (ipBlock !== undefined && ipBlock !== null) {
    n++;
    const b = asObj(ipBlock);
    const cidr = asStr(b['cidr']);
    const bp = childPath(path, 'ipBlock');
    if (!cidr) out.push(fieldRequired(childPath(bp, 'cidr')));
    else {
      const bad = checkCidr(cidr);
      if (bad.length) out.push(fieldInvalid(childPath(bp, 'cidr'), cidr, bad[0]!));
      else {
        const outer = parsePrefix(cidr)!;
        asArr(b['except']).forEach((e, i) => {
          const s = asStr(e) ?? '';
          const ep = indexPath(childPath(bp, 'except'), i);
          const eb = checkCidr(s);
          if (eb.length) {
            out.push(fieldInvalid(ep, s, eb[0]!));
            return;
          }
          const inner = parsePrefix(s)!;
          if (!prefixContainsAddr(outer, inner) || inner.prefixLen <= outer.prefixLen) out.push(fieldInvalid(ep, s, 'must be a strict subset of `cidr`'));
        });
      }
    }
  }
  if (n === 0) out.push(fieldRequired(path, 'must specify a peer'));
  else if (n > 1 && ipBlock !== undefined && ipBlock !== null) out.push(fieldForbidden(path, 'may not specify both ipBlock and another peer'));
}

function validateKnpPort(v: unknown, path: string, out: FieldError[]): void {
  const p = asObj(v);
  const proto = asStr(p['protocol']);
  if (proto !== undefined && !['TCP', 'UDP', 'SCTP'].includes(proto)) out.push(fieldNotSupported(childPath(path, 'protocol'), proto, ['TCP', 'UDP', 'SCTP']));
  const port = p['port'];
  const endPort = p['endPort'];
  if (typeof port === 'number') {
    if (port < 1 || port > 65535) out.push(fieldInvalid(childPath(path, 'port'), port, 'must be between 1 and 65535, inclusive'));
  } else if (typeof port === 'string') {
    for (const m of checkPortName(port)) out.push(fieldInvalid(childPath(path, 'port'), port, m));
  }
  if (typeof endPort === 'number') {
    if (port === undefined || port === null) out.push(fieldRequired(childPath(path, 'port'), 'must be specified when `endPort` is specified'));
    else if (typeof port === 'string') out.push(fieldForbidden(childPath(path, 'endPort'), 'may not be specified when `port` is non-numeric'));
    else if (typeof port === 'number' && endPort < port) out.push(fieldInvalid(childPath(path, 'endPort'), endPort, 'must be greater than or equal to `port`'));
    if (endPort < 1 || endPort > 65535) out.push(fieldInvalid(childPath(path, 'endPort'), endPort, 'must be between 1 and 65535, inclusive'));
  }
}

function validateKnpSpec(spec: Obj, out: FieldError[]): void {
  if (spec['podSelector'] !== undefined && spec['podSelector'] !== null) out.push(...validateSelector(spec['podSelector'], 'spec.podSelector', false));
  for (const [dir, peers] of [
    ['ingress', 'from'],
    ['egress', 'to'],
  ] as const) {
    asArr(spec[dir]).forEach((r, i) => {
      const rp = indexPath(childPath('spec', dir), i);
      const x = asObj(r);
      asArr(x['ports']).forEach((p, j) => validateKnpPort(p, indexPath(childPath(rp, 'ports'), j), out));
      asArr(x[peers]).forEach((p, j) => validateKnpPeer(p, indexPath(childPath(rp, peers), j), out));
    });
  }
  const types = asArr(spec['policyTypes']);
  types.forEach((t, i) => {
    if (typeof t === 'string' && t !== 'Ingress' && t !== 'Egress') out.push(fieldNotSupported(indexPath('spec.policyTypes', i), t, ['Ingress', 'Egress']));
  });
  if (types.length > 2) out.push(fieldInvalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
}

// ---- entry point ---------------------------------------------------------------------------

/** Every problem with a policy object (CNP, CCNP or KNP), with field paths; empty when valid. */
export function validatePolicy(kind: PolicyKind, obj: Record<string, unknown>): FieldError[] {
  const out: FieldError[] = [];
  if (kind === 'NetworkPolicy') {
    if (obj['spec'] === undefined || obj['spec'] === null) return [fieldRequired('spec')];
    checkShape(obj['spec'], knpSpec, 'spec', out);
    if (out.length) return out;
    validateKnpSpec(asObj(obj['spec']), out);
    return out;
  }
  const rules: [unknown, string][] = [];
  if (obj['spec'] !== undefined && obj['spec'] !== null) rules.push([obj['spec'], 'spec']);
  if (obj['specs'] !== undefined && obj['specs'] !== null) {
    if (!Array.isArray(obj['specs'])) return [typeError('specs', 'array', obj['specs'])];
    obj['specs'].forEach((r, i) => rules.push([r, indexPath('specs', i)]));
  }
  for (const [r, p] of rules) checkShape(r, ruleShape, p, out);
  if (out.length) return out;
  for (const [r, p] of rules) validateRule(r, p, kind, out);
  return out;
}
