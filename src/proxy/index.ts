// The L7 proxy: the HTTP proxy (Envoy's role) and the DNS proxy behind the
// proxy ports of redirected policy map entries, with the access log and the
// FQDN cache toFQDNs policy selects from.
export { L7Proxy, DEFAULT_PROXY_CONNECT_TIMEOUT_MS } from './proxy.js';
export type { L7ProxyOptions, L7ProxyStats } from './proxy.js';
export { StaticL7Policy, decideHttp, decideDns, applyHeaderEdits, dnsRuleRegex, engineL7Lookup, fqdn, fqdnSelectorMatches, l7RulesUnion, re2 } from './l7-policy.js';
export type { L7Direction, L7PolicyLookup, L7PolicyQuery, L7PolicyRules, L7RulesSource, HttpDecision, HeaderEdit, HttpRequestView, StaticL7Entry, HttpRule, DnsRule } from './l7-policy.js';
export { FqdnCache } from './fqdn.js';
export type { FqdnUpdate, FqdnCacheOptions } from './fqdn.js';
export { PROXY_PORTS, PROXY_PORT_MIN, PROXY_PORT_MAX, proxyPortFor, listenerOf, listenerName, redirectPort } from './ports.js';
export { ACCESS_DENIED_BODY, HttpProxySession } from './http.js';
export { DnsProxy, DNS_UPSTREAM_TIMEOUT_MS } from './dns.js';
export type { DnsRejectCode } from './dns.js';
export { TransparentNetns, frameTuple, tupleKey, reverseTuple } from './tproxy.js';
export type { Tuple, TransparentNetnsOptions } from './tproxy.js';
export type { Peer, Redirect, ProxyContext, L7Parser } from './types.js';
export { canonicalHeaderKey, uuid4, rfc3339Nano } from './types.js';
