// The L7 part of policy as the proxies enforce it. The policy engine decides
// which (endpoint, direction, port, peer) is redirected and which rules cover
// it; the proxy asks for those rules per request (L7PolicyLookup) and matches
// them here: HTTP method/path/host as full-match RE2 regexes (re2js, linear
// time: a hostile pattern cannot stall the agent), headers and headerMatches;
// DNS names against matchName / matchPattern.

import { RE2JS } from 're2js';
import type { DnsRule, HttpRule } from '../policy/types.js';
import type { HttpHeaders } from '../packet/http.js';

export type { DnsRule, HttpRule };
export type L7Direction = 'ingress' | 'egress';

/** What the proxy knows about a redirected flow when it asks for the rules. */
export interface L7PolicyQuery {
  /** The local endpoint whose policy redirected: the server for ingress, the client for egress. */
  endpointId: number;
  endpointIdentity: number;
  direction: L7Direction;
  /** IP protocol (6, 17) and the original destination port: the policy map key's port. */
  proto: number;
  port: number;
  /** The peer's security identity (the client for ingress, the server for egress). */
  remoteIdentity: number;
}

/** The union of the L7 rules covering one flow. */
export interface L7PolicyRules {
  /** Some covering rule has no L7 part (L7 shadowed by an L4 allow): everything passes. */
  allowAll?: boolean;
  http?: readonly HttpRule[];
  dns?: readonly DnsRule[];
}

/**
 * Provided by the policy engine: the L7 rules for a redirected flow, or null
 * when no policy covers it (the proxy then denies, as Envoy does without a
 * policy for the endpoint).
 */
export type L7PolicyLookup = (q: L7PolicyQuery) => L7PolicyRules | null;

/** The engine's l7Rules() answer ({ allowAll, rules: L7Rules[] }) as the proxy's rule union. */
export function l7RulesUnion(r: { allowAll: boolean; rules: readonly { http?: readonly HttpRule[]; dns?: readonly DnsRule[] }[] } | null | undefined): L7PolicyRules | null {
  if (!r) return null;
  const http: HttpRule[] = [];
  const dns: DnsRule[] = [];
  for (const x of r.rules) {
    if (x.http) http.push(...x.http);
    if (x.dns) dns.push(...x.dns);
  }
  return { allowAll: r.allowAll, http, dns };
}

// ---- regexes ---------------------------------------------------------------------------

const regexCache = new Map<string, RE2JS | null>();

/** RE2 compile, cached; null for a pattern RE2 refuses (validation rejects those at apply). */
export function re2(pattern: string): RE2JS | null {
  let r = regexCache.get(pattern);
  if (r !== undefined) return r;
  try {
    r = RE2JS.compile(pattern);
  } catch {
    r = null;
  }
  if (regexCache.size > 10_000) regexCache.clear();
  regexCache.set(pattern, r);
  return r;
}

/** Full match, as Envoy's safe_regex matchers do. */
function fullMatch(pattern: string, s: string): boolean {
  const r = re2(pattern);
  return r !== null && r.matches(s);
}

// ---- HTTP --------------------------------------------------------------------------------

/** A header edit a headerMatches mismatch action asks for. */
export type HeaderEdit = { op: 'add' | 'replace'; name: string; value: string } | { op: 'delete'; name: string } | { op: 'log'; name: string };

interface HeaderCheck {
  name: string;
  /** Exact value; undefined = presence. */
  value?: string;
  /** headerMatches mismatch action (LOG, ADD, DELETE, REPLACE); undefined = the rule fails. */
  mismatch?: string;
}

interface CompiledHttpRule {
  method?: string;
  path?: string;
  host?: string;
  headers: HeaderCheck[];
}

const compiled = new WeakMap<HttpRule, CompiledHttpRule>();

/** `headers` entries split at the first space: `"X-Key: v"` = header X-Key equal to v; `"X-Key"` = present. */
function headerCheck(h: string): HeaderCheck {
  const sp = h.indexOf(' ');
  if (sp < 0) return { name: h };
  return { name: h.slice(0, sp).replace(/:+$/, ''), value: h.slice(sp + 1) };
}

function compileHttpRule(r: HttpRule): CompiledHttpRule {
  let c = compiled.get(r);
  if (c) return c;
  c = { headers: [] };
  if (r.method) c.method = r.method;
  if (r.path) c.path = r.path;
  if (r.host) c.host = r.host;
  for (const h of r.headers ?? []) c.headers.push(headerCheck(h));
  for (const m of r.headerMatches ?? []) c.headers.push({ name: m.name, ...(m.value !== undefined && m.value !== '' ? { value: m.value } : {}), ...(m.mismatch ? { mismatch: m.mismatch.toUpperCase() } : {}) });
  compiled.set(r, c);
  return c;
}

/** What a request looks like to the rules: Envoy's :method, :path (with the query) and :authority. */
export interface HttpRequestView {
  method: string;
  target: string;
  headers: HttpHeaders;
}

function headerValue(headers: HttpHeaders, name: string): string | undefined {
  const all = headers.getAll(name);
  return all.length ? all.join(',') : undefined;
}

function matchRule(c: CompiledHttpRule, req: HttpRequestView, edits: HeaderEdit[]): boolean {
  if (c.method !== undefined && !fullMatch(c.method, req.method)) return false;
  if (c.path !== undefined && !fullMatch(c.path, req.target)) return false;
  if (c.host !== undefined && !fullMatch(c.host, req.headers.get('host') ?? '')) return false;
  const mine: HeaderEdit[] = [];
  for (const h of c.headers) {
    const v = headerValue(req.headers, h.name);
    const ok = v !== undefined && (h.value === undefined || v === h.value);
    if (ok) continue;
    switch (h.mismatch) {
      case 'LOG':
        mine.push({ op: 'log', name: h.name });
        break;
      case 'ADD':
        mine.push({ op: 'add', name: h.name, value: h.value ?? '' });
        break;
      case 'DELETE':
        if (v !== undefined) mine.push({ op: 'delete', name: h.name });
        break;
      case 'REPLACE':
        mine.push({ op: 'replace', name: h.name, value: h.value ?? '' });
        break;
      default:
        return false;
    }
  }
  edits.push(...mine);
  return true;
}

export interface HttpDecision {
  allowed: boolean;
  /** Edits of the first matching rule's headerMatches mismatch actions. */
  edits: HeaderEdit[];
}

/** Allowed if any rule matches (an empty rule matches everything); no policy at all denies. */
export function decideHttp(policy: L7PolicyRules | null, req: HttpRequestView): HttpDecision {
  const edits: HeaderEdit[] = [];
  if (!policy) return { allowed: false, edits };
  if (policy.allowAll) return { allowed: true, edits };
  for (const r of policy.http ?? []) {
    if (matchRule(compileHttpRule(r), req, edits)) return { allowed: true, edits };
  }
  return { allowed: false, edits: [] };
}

/** Apply the edits to a request's headers (ADD appends, REPLACE sets, DELETE removes; LOG only logs). */
export function applyHeaderEdits(headers: HttpHeaders, edits: readonly HeaderEdit[]): void {
  for (const e of edits) {
    if (e.op === 'add') headers.append(e.name, e.value);
    else if (e.op === 'replace') headers.set(e.name, e.value);
    else if (e.op === 'delete') headers.delete(e.name);
  }
}

// ---- DNS ---------------------------------------------------------------------------------

/** Characters a DNS label may hold in a matchPattern wildcard (Cilium's allowedDNSCharsREGroup). */
const DNS_CHARS = '[-a-zA-Z0-9_]';

function quoteName(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, (c) => (c === '.' ? '[.]' : `\\${c}`));
}

/** A name as the DNS proxy compares it: lower case with the trailing dot. */
export function fqdn(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

/** matchName / matchPattern as the regex Cilium's matchpattern package builds. */
export function dnsRuleRegex(r: DnsRule): string | null {
  if (r.matchName !== undefined && r.matchName !== '') return `^${quoteName(fqdn(r.matchName))}$`;
  const p = r.matchPattern;
  if (p === undefined || p === '') return null;
  const pat = fqdn(p);
  // `*` alone: every name (and the root).
  if (pat === '*.') return `(^(${DNS_CHARS}+[.])+$)|(^[.]$)`;
  let prefix = '';
  let rest = pat;
  if (rest.startsWith('**.')) {
    // Newer: any depth of subdomains.
    prefix = `(${DNS_CHARS}+[.])+`;
    rest = rest.slice(3);
  }
  return `^${prefix}${rest.split('*').map(quoteName).join(`${DNS_CHARS}*`)}$`;
}

/** Whether a query name is allowed by the rules (allowAll, or any matchName/matchPattern). */
export function decideDns(policy: L7PolicyRules | null, qname: string): boolean {
  if (!policy) return false;
  if (policy.allowAll) return true;
  const name = fqdn(qname);
  for (const r of policy.dns ?? []) {
    const re = dnsRuleRegex(r);
    if (re !== null && fullMatch(re, name)) return true;
  }
  return false;
}

/** Whether a name matches a toFQDNs selector (matchName / matchPattern), for the FQDN cache's users. */
export function fqdnSelectorMatches(sel: DnsRule, name: string): boolean {
  const re = dnsRuleRegex(sel);
  return re !== null && fullMatch(re, fqdn(name));
}

// ---- a static policy (tests, and the runtime until the engine answers) ---------------------

export interface StaticL7Entry {
  /** Omitted = any endpoint. */
  endpointId?: number;
  direction: L7Direction;
  /** Omitted = any port. */
  port?: number;
  /** Omitted = any peer. */
  remoteIdentity?: number;
  rules: L7PolicyRules;
}

/** Rules given directly, unioned over every entry that covers the flow. */
export class StaticL7Policy {
  readonly entries: StaticL7Entry[] = [];

  constructor(entries: StaticL7Entry[] = []) {
    this.entries.push(...entries);
  }

  add(e: StaticL7Entry): this {
    this.entries.push(e);
    return this;
  }

  readonly lookup: L7PolicyLookup = (q) => {
    let found = false;
    const out: { allowAll: boolean; http: HttpRule[]; dns: DnsRule[] } = { allowAll: false, http: [], dns: [] };
    for (const e of this.entries) {
      if (e.direction !== q.direction) continue;
      if (e.endpointId !== undefined && e.endpointId !== q.endpointId) continue;
      if (e.port !== undefined && e.port !== q.port) continue;
      if (e.remoteIdentity !== undefined && e.remoteIdentity !== q.remoteIdentity) continue;
      found = true;
      if (e.rules.allowAll) out.allowAll = true;
      if (e.rules.http) out.http.push(...e.rules.http);
      if (e.rules.dns) out.dns.push(...e.rules.dns);
    }
    return found ? out : null;
  };
}

// ---- the policy engine as the proxies' lookup ------------------------------------------------

/** What the proxy needs from the policy engine (PolicyEngine.l7Rules). */
export interface L7RulesSource {
  l7Rules(
    subject: { identity: number; labels: readonly string[] },
    q: { direction: L7Direction; remoteIdentity: number; proto: number; port: number },
    mode?: 'default' | 'always' | 'never',
  ): { allowAll: boolean; rules: readonly { http?: readonly HttpRule[]; dns?: readonly DnsRule[] }[] } | undefined;
}

/**
 * The runtime's wiring: a redirected flow's rules are those the engine keeps
 * for the redirecting endpoint's identity (its labels from the identity
 * allocator), in the agent's enforcement mode.
 */
export function engineL7Lookup(engine: L7RulesSource, labelsOf: (identity: number) => readonly string[] | undefined, mode?: 'default' | 'always' | 'never'): L7PolicyLookup {
  return (q) => l7RulesUnion(engine.l7Rules({ identity: q.endpointIdentity, labels: labelsOf(q.endpointIdentity) ?? [] }, { direction: q.direction, remoteIdentity: q.remoteIdentity, proto: q.proto, port: q.port }, mode));
}
