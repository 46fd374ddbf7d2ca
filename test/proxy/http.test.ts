// HTTP L7 policy through real traffic: curl in one pod, the server in
// another, the node's proxy in between because a policy map entry redirects
// the port (the seeded entry the policy engine will write), with the L7
// rules given to the proxies directly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_USERS } from '../../src/apps/index.js';
import { formatMonitorLine } from '../../src/datapath/monitor.js';
import { ObsPoint } from '../../src/datapath/trace.js';
import { ip } from '../helpers/world.js';
import { drive } from '../../src/util/drive.js';
import { makeProxyLab, redirectPort, l7Rules } from './harness.js';

test('ingress L7: GET /api/.* reaches the backend (200, the JSON), POST gets 403 Access denied; a request and a response event each', async () => {
  const lab = makeProxyLab();
  const port = redirectPort(lab.pods.backend, 'ingress', 8080);
  l7Rules(lab, 'backend', 'ingress', 8080, { http: [{ method: 'GET', path: '/api/.*' }] });

  const ok = await lab.run('frontend', ['curl', '-s', 'http://backend:8080/api/users']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), DEMO_USERS);

  const log = lab.accessLog();
  assert.equal(log.length, 2);
  const [req, res] = log as [NonNullable<(typeof log)[0]>, NonNullable<(typeof log)[0]>];
  assert.equal(req.Type, 'Request');
  assert.equal(req.Verdict, 'Forwarded');
  assert.equal(req.ObservationPoint, 'Ingress');
  assert.deepEqual(req.HTTP && { m: req.HTTP.Method, u: req.HTTP.URL, c: req.HTTP.Code, p: req.HTTP.Protocol }, { m: 'GET', u: 'http://backend:8080/api/users', c: 0, p: 'HTTP/1.1' });
  assert.deepEqual([req.SourceEndpoint.IPv4, req.SourceEndpoint.Identity, req.DestinationEndpoint.IPv4, req.DestinationEndpoint.Identity, req.DestinationEndpoint.ID], ['10.0.1.50', 12345, '10.0.2.100', 23456, lab.pods.backend.ep.id]);
  assert.equal(req.LatencyNs, undefined);
  assert.equal(res.Type, 'Response');
  assert.equal(res.HTTP?.Code, 200);
  assert.equal(res.HTTP?.Method, 'GET');
  // A response goes from the server to the client, and carries the request's X-Request-Id and latency.
  assert.equal(res.SourceEndpoint.IPv4, '10.0.2.100');
  assert.equal(res.DestinationEndpoint.IPv4, '10.0.1.50');
  assert.match(req.HTTP!.Headers['X-Request-Id']![0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(res.HTTP!.Headers['X-Request-Id'], req.HTTP!.Headers['X-Request-Id']);
  assert.ok((res.LatencyNs ?? 0) > 0, 'response latency');

  // The datapath reported the redirect: to-proxy with the listener's port, on the backend's node.
  const toProxy = lab.events().filter((e) => e.type === 'trace' && e.obsPoint === ObsPoint.TO_PROXY);
  assert.ok(toProxy.length > 0, 'to-proxy traces');
  assert.ok(toProxy.some((e) => e.type === 'trace' && e.dstId === port), 'to-proxy carries the proxy port');

  const denied = await lab.run('frontend', ['curl', '-s', '-i', '-X', 'POST', 'http://backend:8080/api/users']);
  assert.equal(denied.code, 0);
  const [head, body] = denied.stdout.split('\r\n\r\n') as [string, string];
  assert.equal(body, 'Access denied\r\n');
  const lines = head.split('\r\n');
  assert.equal(lines[0], 'HTTP/1.1 403 Forbidden');
  assert.deepEqual(lines.slice(1).map((l) => l.split(':')[0]), ['content-length', 'content-type', 'date', 'server']);
  assert.ok(lines.includes('content-length: 15'), head);
  assert.ok(lines.includes('content-type: text/plain'), head);
  assert.ok(lines.includes('server: envoy'), head);

  const more = lab.accessLog().slice(2);
  assert.deepEqual(
    more.map((r) => [r.Type, r.Verdict, r.HTTP?.Method, r.HTTP?.Code]),
    [
      ['Request', 'Denied', 'POST', 0],
      ['Response', 'Forwarded', 'POST', 403],
    ],
  );
  // The backend never saw the POST.
  assert.ok(!lab.logs.backend.some((l) => l.includes('POST')), lab.logs.backend.join('\n'));
});

test('Star Wars: with only POST /v1/request-landing allowed, the tiefighter lands, its PUT /v1/exhaust-port gets Access denied, the xwing hangs', async () => {
  const lab = makeProxyLab();
  const tiefighter = lab.addClient('tiefighter', 0, '10.0.1.70', 56789);
  const xwing = lab.addClient('xwing', 0, '10.0.1.71', 67890);
  // Ingress of the deathstar: only org=empire (the tiefighter's identity) on 80/TCP, with the HTTP rule.
  redirectPort(lab.pods.deathstar, 'ingress', 80, { peer: 56789 });
  l7Rules(lab, 'deathstar', 'ingress', 80, { http: [{ method: 'POST', path: '/v1/request-landing' }] });

  const land = await lab.runIn(tiefighter.env, ['curl', '-s', '-XPOST', 'deathstar.default.svc.cluster.local/v1/request-landing']);
  assert.equal(land.stdout, 'Ship landed\n');
  const exhaust = await lab.runIn(tiefighter.env, ['curl', '-s', '-XPUT', 'deathstar.default.svc.cluster.local/v1/exhaust-port']);
  assert.equal(exhaust.code, 0);
  assert.equal(exhaust.stdout, 'Access denied\r\n');
  // The exact path only: a longer one is not the rule's.
  const sub = await lab.runIn(tiefighter.env, ['curl', '-s', '-XPOST', 'deathstar.default.svc.cluster.local/v1/request-landing/now']);
  assert.equal(sub.stdout, 'Access denied\r\n');
  // Not allowed at L3/L4: dropped before any proxy, curl times out.
  const x = await lab.runIn(xwing.env, ['curl', '-s', '-m', '2', '-XPOST', 'deathstar.default.svc.cluster.local/v1/request-landing']);
  assert.equal(x.code, 28);

  const l7 = lab.events().filter((e) => e.type === 'access-log');
  const lines = l7.map((e) => formatMonitorLine(e));
  assert.ok(lines.some((l) => l.startsWith('<- Request http from 0 ([]) to') && l.endsWith('verdict Forwarded POST http://deathstar.default.svc.cluster.local/v1/request-landing => 0')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('<- Response http to') && l.endsWith('verdict Forwarded POST http://deathstar.default.svc.cluster.local/v1/request-landing => 200')), lines.join('\n'));
  assert.ok(lines.some((l) => l.endsWith('verdict Denied PUT http://deathstar.default.svc.cluster.local/v1/exhaust-port => 0')), lines.join('\n'));
  assert.ok(lines.some((l) => l.endsWith('verdict Forwarded PUT http://deathstar.default.svc.cluster.local/v1/exhaust-port => 403')), lines.join('\n'));
  // Nothing from the xwing reached a proxy.
  assert.ok(!l7.some((e) => e.type === 'access-log' && e.record.SourceEndpoint.IPv4 === '10.0.1.71'), 'xwing never proxied');
});

test('egress L7 on the client: its own node proxies, the upstream leaves with the client identity, replies come back through the proxy', async () => {
  const lab = makeProxyLab();
  redirectPort(lab.pods.frontend, 'egress', 8080, { peer: 23456 });
  // DNS must stay allowed for the name lookup (egress was allow-all).
  l7Rules(lab, 'frontend', 'egress', 8080, { http: [{ method: 'GET', path: '/api/users' }] });
  const { putPolicyEntry } = await import('../../src/datapath/map-writer.js');
  putPolicyEntry(lab.pods.frontend.policyMap, { identity: 102, egress: true, proto: 17, port: 53 });

  const ok = await lab.run('frontend', ['curl', '-s', 'http://backend:8080/api/users']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), DEMO_USERS);
  const no = await lab.run('frontend', ['curl', '-s', 'http://backend:8080/healthz']);
  assert.equal(no.stdout, 'Access denied\r\n');

  assert.equal(lab.proxies[0]!.stats.redirects.http, 2);
  assert.equal(lab.proxies[1]!.stats.redirects.http, 0);
  const log = lab.accessLog();
  assert.deepEqual(
    log.map((r) => [r.ObservationPoint, r.Type, r.Verdict, r.HTTP?.URL, r.HTTP?.Code]),
    [
      ['Egress', 'Request', 'Forwarded', 'http://backend:8080/api/users', 0],
      ['Egress', 'Response', 'Forwarded', 'http://backend:8080/api/users', 200],
      ['Egress', 'Request', 'Denied', 'http://backend:8080/healthz', 0],
      ['Egress', 'Response', 'Forwarded', 'http://backend:8080/healthz', 403],
    ],
  );
  assert.equal(log[0]!.SourceEndpoint.ID, lab.pods.frontend.ep.id);
  // The backend saw the client's own address (a transparent upstream), not the node's.
  assert.ok(lab.pods.backend.stack.tcpSockets().every((s) => s.remoteIp === ip('10.0.1.50')), 'upstream from the client address');
});

test('client egress and server ingress both L7: one exchange gives four L7 records', async () => {
  const lab = makeProxyLab();
  const { putPolicyEntry } = await import('../../src/datapath/map-writer.js');
  redirectPort(lab.pods.frontend, 'egress', 8080, { peer: 23456 });
  putPolicyEntry(lab.pods.frontend.policyMap, { identity: 102, egress: true, proto: 17, port: 53 });
  redirectPort(lab.pods.backend, 'ingress', 8080, { peer: 12345 });
  l7Rules(lab, 'frontend', 'egress', 8080, { http: [{}] });
  l7Rules(lab, 'backend', 'ingress', 8080, { http: [{ method: 'GET' }] });

  const ok = await lab.run('frontend', ['curl', '-s', 'http://backend:8080/api/users']);
  assert.deepEqual(JSON.parse(ok.stdout), DEMO_USERS);
  assert.deepEqual(
    lab
      .accessLog()
      .map((r) => `${r.Type}/${r.ObservationPoint}`)
      .sort(),
    ['Request/Egress', 'Request/Ingress', 'Response/Egress', 'Response/Ingress'],
  );
});

test('same node: client and server on one node, ingress L7 on the server; pipelined keep-alive requests are decided one by one', async () => {
  const lab = makeProxyLab();
  const client = lab.addClient('client', 1, '10.0.2.150', 44444, 'demo');
  redirectPort(lab.pods.backend, 'ingress', 8080);
  l7Rules(lab, 'backend', 'ingress', 8080, { http: [{ path: '/api/users' }] });
  const r = await lab.runIn(client.env, ['curl', '-s', '-w', ' %{http_code}', 'http://backend:8080/api/users']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.endsWith(' 200'), r.stdout);

  // Three requests written at once on one connection: forwarded, denied, forwarded; answers in order.
  const sock = client.pod.stack.tcpConnect(ip('10.0.2.100'), 8080);
  let got = '';
  const done = new Promise<void>((resolve) => {
    sock.onData = (b) => {
      got += new TextDecoder().decode(b);
      if ((got.match(/HTTP\/1\.1 /g) ?? []).length === 3 && got.endsWith(']\n')) resolve();
    };
  });
  const reqs = ['GET /api/users HTTP/1.1\r\nHost: backend\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: backend\r\n\r\n', 'GET /api/users HTTP/1.1\r\nHost: backend\r\n\r\n'];
  sock.onConnect = () => sock.write(new TextEncoder().encode(reqs.join('')));
  await drive(lab.w.clock, done);
  const statuses = [...got.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '403', '200']);
  assert.equal(lab.proxies[1]!.stats.redirects.http, 2, 'curl, then one connection for the three requests');
  assert.deepEqual(
    lab.accessLog().slice(2).map((x) => `${x.Type} ${x.Verdict} ${x.HTTP?.URL} ${x.HTTP?.Code}`),
    [
      'Request Forwarded http://backend/api/users 0',
      'Response Forwarded http://backend/api/users 200',
      'Request Denied http://backend/healthz 0',
      'Response Forwarded http://backend/healthz 403',
      'Request Forwarded http://backend/api/users 0',
      'Response Forwarded http://backend/api/users 200',
    ],
  );
  sock.end();
});

test('headers rules: a required header with a value; a missing or different value is denied', async () => {
  const lab = makeProxyLab();
  redirectPort(lab.pods.backend, 'ingress', 8080);
  l7Rules(lab, 'backend', 'ingress', 8080, { http: [{ path: '/api/.*', headers: ['X-Token: s3cret'] }] });
  const ok = await lab.run('frontend', ['curl', '-s', '-H', 'X-Token: s3cret', 'http://backend:8080/api/users']);
  assert.deepEqual(JSON.parse(ok.stdout), DEMO_USERS);
  const wrong = await lab.run('frontend', ['curl', '-s', '-H', 'X-Token: guess', 'http://backend:8080/api/users']);
  assert.equal(wrong.stdout, 'Access denied\r\n');
  const none = await lab.run('frontend', ['curl', '-s', 'http://backend:8080/api/users']);
  assert.equal(none.stdout, 'Access denied\r\n');
});

test('a hostile path regex (nested quantifiers) against a long path is decided, and denied, without stalling', async () => {
  const lab = makeProxyLab();
  redirectPort(lab.pods.backend, 'ingress', 8080);
  l7Rules(lab, 'backend', 'ingress', 8080, { http: [{ path: '/(a+)+$' }, { path: '/((a|aa)*)*b' }] });
  const path = '/' + 'a'.repeat(20_000) + '!';
  const r = await lab.run('frontend', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://backend:8080${path}`]);
  assert.equal(r.stdout, '403');
  // The same pattern still matches what it should.
  const ok = await lab.run('frontend', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://backend:8080/${'a'.repeat(5000)}`]);
  assert.equal(ok.stdout, '404');
});

test('no L7 policy for the redirected flow: every request is denied; an upstream that refuses gets Envoy’s 503', async () => {
  const lab = makeProxyLab();
  redirectPort(lab.pods.backend, 'ingress', 8080);
  const r = await lab.run('frontend', ['curl', '-s', 'http://backend:8080/api/users']);
  assert.equal(r.stdout, 'Access denied\r\n');

  // Port 9999 has no listener in the backend pod: the proxy accepts, the upstream connect is refused.
  redirectPort(lab.pods.backend, 'ingress', 9999);
  l7Rules(lab, 'backend', 'ingress', 9999, { http: [{}] });
  const refused = await lab.run('frontend', ['curl', '-s', '-w', ' %{http_code}', 'http://10.0.2.100:9999/']);
  assert.equal(refused.stdout, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure 503');
});
