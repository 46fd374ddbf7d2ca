// The L7 rule matching on its own: Cilium's HTTP rule semantics (full-match
// RE2 regexes, headers, headerMatches actions), DNS matchName/matchPattern,
// the static policy, the FQDN cache, and the access-log record encoding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpHeaders } from '../../src/packet/http.js';
import { VirtualClock } from '../../src/util/clock.js';
import { Rng } from '../../src/util/rng.js';
import { EventRing } from '../../src/bpf/ringbuf.js';
import { decodeEvent, formatMonitorLine } from '../../src/datapath/monitor.js';
import { writeAccessLog, type AccessLogRecord } from '../../src/datapath/accesslog.js';
import {
  applyHeaderEdits,
  canonicalHeaderKey,
  decideDns,
  decideHttp,
  dnsRuleRegex,
  FqdnCache,
  l7RulesUnion,
  listenerOf,
  PROXY_PORTS,
  redirectPort,
  rfc3339Nano,
  StaticL7Policy,
  uuid4,
  type HttpRule,
} from '../../src/proxy/index.js';

const req = (method: string, target: string, headers: Record<string, string> = {}) => ({ method, target, headers: new HttpHeaders({ Host: 'deathstar', ...headers }) });
const allows = (rules: HttpRule[], r: ReturnType<typeof req>): boolean => decideHttp({ http: rules }, r).allowed;

test('HTTP: method and path are full-match regexes; any rule allowing is enough; an empty rule allows all', () => {
  const landing: HttpRule[] = [{ method: 'POST', path: '/v1/request-landing' }];
  assert.equal(allows(landing, req('POST', '/v1/request-landing')), true);
  assert.equal(allows(landing, req('PUT', '/v1/exhaust-port')), false);
  assert.equal(allows(landing, req('POST', '/v1/request-landing/x')), false, 'full match, not prefix');
  assert.equal(allows(landing, req('POST', '/x/v1/request-landing')), false);
  assert.equal(allows(landing, req('POSTX', '/v1/request-landing')), false);
  assert.equal(allows([{ method: 'GET', path: '/api/.*' }], req('GET', '/api/users?limit=1')), true);
  assert.equal(allows([{ method: 'GET|HEAD' }], req('HEAD', '/')), true);
  assert.equal(allows([{ method: 'GET' }, { path: '/public/.*' }], req('DELETE', '/public/a')), true);
  assert.equal(allows([{}], req('PATCH', '/anything')), true);
  assert.equal(allows([], req('GET', '/')), false);
  assert.equal(decideHttp(null, req('GET', '/')).allowed, false, 'no policy: deny');
  assert.equal(decideHttp({ allowAll: true }, req('GET', '/')).allowed, true, 'L7 shadowed by an L4 allow');
  assert.equal(allows([{ path: '[' }], req('GET', '[')), false, 'a pattern RE2 refuses matches nothing');
});

test('HTTP: host regex on the Host header; headers present or equal; headerMatches with mismatch actions', () => {
  assert.equal(allows([{ host: 'deathstar(\\..*)?' }], req('GET', '/')), true);
  assert.equal(allows([{ host: 'api\\.example\\.com' }], req('GET', '/')), false);
  assert.equal(allows([{ headers: ['X-Has-Force'] }], req('GET', '/', { 'x-has-force': 'yes' })), true);
  assert.equal(allows([{ headers: ['X-Has-Force'] }], req('GET', '/')), false);
  assert.equal(allows([{ headers: ['X-Key: v1'] }], req('GET', '/', { 'X-Key': 'v1' })), true);
  assert.equal(allows([{ headers: ['X-Key: v1'] }], req('GET', '/', { 'X-Key': 'v2' })), false);
  assert.equal(allows([{ headerMatches: [{ name: 'X-Token', value: 'abc' }] }], req('GET', '/', { 'X-Token': 'abc' })), true);
  assert.equal(allows([{ headerMatches: [{ name: 'X-Token', value: 'abc' }] }], req('GET', '/', { 'X-Token': 'zzz' })), false);

  const replace = decideHttp({ http: [{ headerMatches: [{ name: 'X-Token', value: 'abc', mismatch: 'REPLACE' }] }] }, req('GET', '/', { 'X-Token': 'zzz' }));
  assert.equal(replace.allowed, true);
  const h = new HttpHeaders({ 'X-Token': 'zzz' });
  applyHeaderEdits(h, replace.edits);
  assert.equal(h.get('x-token'), 'abc');
  const add = decideHttp({ http: [{ headerMatches: [{ name: 'X-Added', value: '1', mismatch: 'ADD' }] }] }, req('GET', '/'));
  assert.deepEqual(add, { allowed: true, edits: [{ op: 'add', name: 'X-Added', value: '1' }] });
  const del = decideHttp({ http: [{ headerMatches: [{ name: 'X-Drop', value: 'ok', mismatch: 'DELETE' }] }] }, req('GET', '/', { 'X-Drop': 'bad' }));
  assert.deepEqual(del.edits, [{ op: 'delete', name: 'X-Drop' }]);
  const log = decideHttp({ http: [{ headerMatches: [{ name: 'X-Audit', mismatch: 'LOG' }] }] }, req('GET', '/'));
  assert.deepEqual(log, { allowed: true, edits: [{ op: 'log', name: 'X-Audit' }] });
});

test('HTTP: nested quantifiers against a long path run in linear time (RE2), still full-match', () => {
  const hostile: HttpRule[] = [{ path: '/(a+)+$' }, { path: '/(a|aa)*(b|c)+d*(a+)+$' }, { path: '/((a*)*)*b' }];
  const long = '/' + 'a'.repeat(100_000) + '!';
  assert.equal(allows(hostile, req('GET', long)), false);
  assert.equal(allows(hostile, req('GET', '/' + 'a'.repeat(100_000))), true);
});

test('DNS: matchName exact (case, trailing dot), matchPattern * within one label, ** for any depth, * alone for all', () => {
  assert.equal(decideDns({ dns: [{ matchName: 'api.github.com' }] }, 'API.GitHub.com.'), true);
  assert.equal(decideDns({ dns: [{ matchName: 'api.github.com.' }] }, 'api.github.com'), true);
  assert.equal(decideDns({ dns: [{ matchName: 'api.github.com' }] }, 'xapi.github.com'), false);
  const star = { dns: [{ matchPattern: '*.cilium.io' }] };
  assert.equal(decideDns(star, 'sub.cilium.io'), true);
  assert.equal(decideDns(star, 'cilium.io'), false);
  assert.equal(decideDns(star, 'a.b.cilium.io'), false);
  assert.equal(decideDns({ dns: [{ matchPattern: 'api*.example.com' }] }, 'api-eu.example.com'), true);
  assert.equal(decideDns({ dns: [{ matchPattern: '**.cilium.io' }] }, 'a.b.cilium.io'), true);
  assert.equal(decideDns({ dns: [{ matchPattern: '**.cilium.io' }] }, 'cilium.io'), false);
  assert.equal(decideDns({ dns: [{ matchPattern: '*' }] }, 'anything.at.all'), true);
  assert.equal(decideDns({ dns: [{ matchPattern: '*.*.svc.cluster.local' }] }, 'backend.demo.svc.cluster.local'), true);
  assert.equal(decideDns({ dns: [{ matchPattern: '*.*.svc.cluster.local' }] }, 'x.backend.demo.svc.cluster.local'), false);
  assert.equal(decideDns({ dns: [] }, 'a.b'), false);
  assert.equal(decideDns(null, 'a.b'), false);
  assert.equal(dnsRuleRegex({ matchName: 'a.b' }), '^a[.]b[.]$');
});

test('static policy and the engine adapter: rules for a flow are the union of every entry covering it', () => {
  const p = new StaticL7Policy([
    { endpointId: 7, direction: 'ingress', port: 80, rules: { http: [{ method: 'GET' }] } },
    { endpointId: 7, direction: 'ingress', port: 80, remoteIdentity: 1000, rules: { http: [{ method: 'POST' }] } },
    { endpointId: 7, direction: 'egress', port: 53, rules: { dns: [{ matchPattern: '*' }] } },
  ]);
  const q = { endpointId: 7, endpointIdentity: 99, direction: 'ingress' as const, proto: 6, port: 80, remoteIdentity: 1000 };
  assert.deepEqual(p.lookup(q)?.http, [{ method: 'GET' }, { method: 'POST' }]);
  assert.deepEqual(p.lookup({ ...q, remoteIdentity: 2000 })?.http, [{ method: 'GET' }]);
  assert.equal(p.lookup({ ...q, port: 81 }), null);
  assert.deepEqual(l7RulesUnion({ allowAll: false, rules: [{ http: [{ path: '/a' }] }, { http: [{ path: '/b' }], dns: [{ matchName: 'x' }] }] }), { allowAll: false, http: [{ path: '/a' }, { path: '/b' }], dns: [{ matchName: 'x' }] });
  assert.equal(l7RulesUnion(undefined), null);
});

test('proxy ports: one per parser and direction, in the proxy range, stable, and mapped back to the listener', () => {
  const ports = Object.values(PROXY_PORTS);
  assert.equal(new Set(ports).size, ports.length);
  for (const p of ports) assert.ok(p >= 10000 && p < 20000, String(p));
  assert.equal(redirectPort({ direction: 'ingress', parser: 'http' }), PROXY_PORTS['http-ingress']);
  assert.equal(redirectPort({ direction: 'egress', parser: 'kafka' }), undefined);
  assert.deepEqual(listenerOf(PROXY_PORTS['dns-egress']), { parser: 'dns', direction: 'egress' });
});

test('FQDN cache: IPs per endpoint and name, kept at least --tofqdns-min-ttl, expire after; names of an IP; selectors', () => {
  const clock = new VirtualClock(0);
  const c = new FqdnCache(clock, { minTtl: 60, maxIpsPerName: 2 });
  c.update({ endpointId: 1, name: 'API.example.com', ips: [1, 2], ttl: 30, timeMs: 0 });
  c.update({ endpointId: 2, name: 'api.example.com.', ips: [3], ttl: 600, timeMs: 0 });
  assert.deepEqual(c.lookup('api.example.com').sort(), [1, 2, 3]);
  assert.deepEqual(c.lookup('api.example.com', 1), [1, 2]);
  assert.deepEqual(c.namesOf(3), ['api.example.com']);
  assert.deepEqual(c.select({ matchPattern: '*.example.com' }).sort(), [1, 2, 3]);
  clock.advance(61_000);
  assert.deepEqual(c.lookup('api.example.com'), [3], 'min TTL 60 s, not the answer’s 30 s');
  assert.equal(c.gc(), 2);
  c.update({ endpointId: 2, name: 'api.example.com', ips: [4, 5], ttl: 600, timeMs: clock.now() });
  assert.deepEqual(c.lookup('api.example.com', 2).sort(), [4, 5], 'at most 2 per name, oldest out');
});

test('access-log records: monitor type 129 in cilium_events, decoded beside datapath events, printed as cilium monitor does', () => {
  const ring = new EventRing(4096);
  const rec: AccessLogRecord = {
    Type: 'Request',
    Timestamp: rfc3339Nano(Date.UTC(2025, 11, 12, 10, 32, 10, 118) + 0.5),
    ObservationPoint: 'Ingress',
    SourceEndpoint: { ID: 0, IPv4: '10.0.1.50', Port: 43822, Identity: 12345, Labels: ['k8s:app=frontend'] },
    DestinationEndpoint: { ID: 2495, IPv4: '10.0.2.100', Port: 8080, Identity: 23456 },
    IPVersion: 'IPv4',
    Verdict: 'Forwarded',
    TransportProtocol: 6,
    HTTP: { Code: 0, Method: 'GET', URL: 'http://backend:8080/api', Protocol: 'HTTP/1.1', Headers: { 'X-Request-Id': ['x'] } },
  };
  assert.equal(rec.Timestamp, '2025-12-12T10:32:10.1185Z');
  assert.ok(writeAccessLog(ring, 1234.5, rec));
  const events: unknown[] = [];
  ring.consume((d, o, l) => events.push(decodeEvent(d, o, l)));
  assert.deepEqual(events, [{ type: 'access-log', timeMs: 1234.5, source: 0, dstId: 2495, record: rec }]);
  const ev = events[0] as Parameters<typeof formatMonitorLine>[0];
  assert.equal(formatMonitorLine(ev), '<- Request http from 0 ([k8s:app=frontend]) to 2495 ([]), identity 12345->23456, verdict Forwarded GET http://backend:8080/api => 0');
});

test('helpers: Go canonical header keys, RFC 4122 v4 request ids', () => {
  assert.equal(canonicalHeaderKey('x-request-id'), 'X-Request-Id');
  assert.equal(canonicalHeaderKey('USER-AGENT'), 'User-Agent');
  const id = uuid4(new Rng(1));
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(uuid4(new Rng(2)), id);
});

test('what Hubble makes of the records: Layer7, verdict, direction, is_reply and the compact summaries', async () => {
  const { hubbleLayer7 } = await import('../../src/datapath/accesslog.js');
  const base = { Timestamp: '', ObservationPoint: 'Ingress' as const, SourceEndpoint: { ID: 0, IPv4: '10.0.1.50', Port: 1, Identity: 1 }, DestinationEndpoint: { ID: 1, IPv4: '10.0.2.100', Port: 80, Identity: 2 }, IPVersion: 'IPv4' as const, TransportProtocol: 6 };
  const http = { Code: 0, Method: 'PUT', URL: 'http://deathstar.default.svc.cluster.local/v1/exhaust-port', Protocol: 'HTTP/1.1', Headers: { 'X-Request-Id': ['r1'], Accept: ['*/*'] } };
  const req = hubbleLayer7({ ...base, Type: 'Request', Verdict: 'Denied', HTTP: http });
  assert.deepEqual(req, {
    l7: { type: 1, http: { method: 'PUT', url: http.URL, protocol: 'HTTP/1.1', headers: [{ key: 'Accept', value: '*/*' }, { key: 'X-Request-Id', value: 'r1' }] } },
    verdict: 'DROPPED',
    trafficDirection: 'INGRESS',
    isReply: false,
    summary: 'HTTP/1.1 PUT http://deathstar.default.svc.cluster.local/v1/exhaust-port',
  });
  const res = hubbleLayer7({ ...base, Type: 'Response', Verdict: 'Forwarded', HTTP: { ...http, Code: 403 }, LatencyNs: 5_123_456 });
  assert.equal(res.summary, 'HTTP/1.1 403 5ms (PUT http://deathstar.default.svc.cluster.local/v1/exhaust-port)');
  assert.equal(res.l7.latency_ns, 5_123_456);
  assert.equal(res.l7.http?.code, 403);
  const dnsQ = hubbleLayer7({ ...base, ObservationPoint: 'Egress', TransportProtocol: 17, Type: 'Request', Verdict: 'Forwarded', DNS: { Query: 'webpod.default.svc.cluster.local.', ObservationSource: 'proxy', QTypes: [1] } });
  assert.equal(dnsQ.summary, 'DNS Query webpod.default.svc.cluster.local. A');
  const dnsA = hubbleLayer7({ ...base, Type: 'Response', Verdict: 'Forwarded', DNS: { Query: 'webpod.default.svc.cluster.local.', IPs: ['10.96.1.51'], TTL: 30, ObservationSource: 'proxy', RCode: 0, QTypes: [1], AnswerTypes: [1] } });
  assert.equal(dnsA.summary, 'DNS Answer "10.96.1.51" TTL: 30 (Proxy webpod.default.svc.cluster.local. A)');
  const nx = hubbleLayer7({ ...base, Type: 'Response', Verdict: 'Forwarded', DNS: { Query: 'x.', TTL: 0, ObservationSource: 'proxy', RCode: 3, QTypes: [1] } });
  assert.equal(nx.summary, 'DNS Answer RCode: Non-Existent Domain TTL: 0 (Proxy x. A)');
});
