// curl from the frontend pod against real servers through the datapath:
// DNS with the search path, socket LB, VXLAN between nodes, policy drops.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deletePolicyEntry } from '../../src/datapath/map-writer.js';
import { DnsType } from '../../src/packet/dns.js';
import { DEMO_USERS } from '../../src/apps/index.js';
import { BACKEND_VIP, makeLab, type Lab } from './harness.js';

/** Backend ingress loses its allow-all entry: the policy drops every SYN. */
function denyBackendIngress(lab: Lab): void {
  assert.equal(deletePolicyEntry(lab.pods.backend.policyMap, { identity: 0, egress: false, proto: 0, port: 0 }), 0);
}

test('curl -s http://backend:8080/api/users returns the JSON, resolved through the search path', async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['curl', '-s', 'http://backend:8080/api/users']);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  assert.deepEqual(JSON.parse(r.stdout), DEMO_USERS);
  // backend has no dot (< ndots 5): the first search domain answers.
  assert.deepEqual(lab.queries, [{ name: 'backend.demo.svc.cluster.local', qtype: DnsType.A }]);
  // The SYN left addressed to the backend pod (socket LB) and crossed the tunnel.
  const conns = lab.pods.backend.stack.tcpSockets();
  assert.ok(conns.every((s) => s.remoteIp === lab.pods.frontend.ip));
});

test('curl -v writes curl 8 trace lines; the address shown is the service IP it connected to', async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['curl', '-v', 'http://backend:8080/api/users']);
  assert.equal(r.code, 0);
  const lines = r.stderr.split('\n');
  const at = (s: string): number => lines.findIndex((l) => l.endsWith(s) || l === s);
  for (const expected of [
    `*   Trying ${BACKEND_VIP}:8080...`,
    `* Connected to backend (${BACKEND_VIP}) port 8080`,
    '> GET /api/users HTTP/1.1',
    '> Host: backend:8080',
    '> User-Agent: curl/8.5.0',
    '> Accept: */*',
    '> ',
    '< HTTP/1.1 200 OK',
    '< Content-Type: application/json',
    '< ',
    '* Connection #0 to host backend left intact',
  ]) {
    assert.ok(at(expected) >= 0, `missing ${JSON.stringify(expected)} in\n${r.stderr}`);
  }
  assert.ok(at('> GET /api/users HTTP/1.1') < at('< HTTP/1.1 200 OK'));
  // Not a terminal: the progress meter is on stderr too.
  assert.match(r.stderr, /% Total {4}% Received % Xferd/);
  assert.match(r.stderr, /\r100 {3}\d+ {2}100 {3}\d+ /);
});

test("curl -w '%{http_code}' -o /dev/null prints only the status; -w variables and escapes", async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://backend:8080/api/users']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '200');
  const r2 = await lab.run('frontend', ['curl', '-so', '/dev/null', '-w', '%{remote_ip}:%{remote_port} %{size_download} %{time_total}\\n', 'backend:8080']);
  assert.match(r2.stdout, new RegExp(`^${BACKEND_VIP.replace(/\./g, '\\.')}:8080 36 0\\.\\d{6}\\n$`));
  const r3 = await lab.run('frontend', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://backend:8080/nope']);
  assert.equal(r3.stdout, '404');
});

test('NXDOMAIN: exit 6 and "Could not resolve host" after trying every search domain and the name itself', async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['curl', '-sS', 'http://nosuch:8080/']);
  assert.equal(r.code, 6);
  assert.equal(r.stderr, 'curl: (6) Could not resolve host: nosuch\n');
  assert.deepEqual(
    lab.queries.map((q) => q.name),
    ['nosuch.demo.svc.cluster.local', 'nosuch.svc.cluster.local', 'nosuch.cluster.local', 'nosuch'],
  );
  const silent = await lab.run('frontend', ['curl', '-s', 'http://nosuch:8080/']);
  assert.equal(silent.code, 6);
  assert.equal(silent.stderr, '');
});

test('nothing listening: the RST makes exit 7 "Couldn\'t connect to server"', async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['curl', '-sS', 'http://10.0.2.100:9090/']);
  assert.equal(r.code, 7);
  assert.match(r.stderr, /^curl: \(7\) Failed to connect to 10\.0\.2\.100 port 9090 after \d+ ms: Couldn't connect to server\n$/);
  const v = await lab.run('frontend', ['curl', '-sv', 'http://10.0.2.100:9090/']);
  assert.match(v.stderr, /\* connect to 10\.0\.2\.100 port 9090 from 10\.0\.1\.50 port \d+ failed: Connection refused\n/);
});

test('policy drops the SYN: --max-time 5 ends with exit 28 after five seconds of virtual time', async () => {
  const lab = makeLab();
  denyBackendIngress(lab);
  const r = await lab.run('frontend', ['curl', '-v', '--max-time', '5', 'http://backend:8080']);
  assert.equal(r.code, 28);
  assert.match(r.stderr, /curl: \(28\) Connection timed out after 500\d milliseconds\n$/);
  assert.ok(r.stderr.includes(`*   Trying ${BACKEND_VIP}:8080...\n`));
  assert.ok(r.elapsedMs >= 5000 && r.elapsedMs < 5100, `took ${r.elapsedMs} ms`);
  // Dropped by the backend's ingress policy: no SYN (nor its retransmissions at 1 s and 3 s) reached the pod.
  assert.equal(lab.pods.backend.stack.stats.tcpSegmentsIn, 0);
});

test('--connect-timeout bounds only the connect; without it the kernel gives up after 127 s (exit 28)', async () => {
  const lab = makeLab();
  denyBackendIngress(lab);
  const r = await lab.run('frontend', ['curl', '-sS', '--connect-timeout', '2', 'http://backend:8080']);
  assert.equal(r.code, 28);
  assert.match(r.stderr, /Connection timed out after 200\d milliseconds/);
  const k = await lab.run('frontend', ['curl', '-sS', 'http://backend:8080']);
  assert.equal(k.code, 28);
  assert.match(k.stderr, /^curl: \(28\) Failed to connect to backend port 8080 after 127\d{3} ms: Couldn't connect to server\n$/);
});

test('a server that accepts but never answers: "Operation timed out ... with 0 bytes received"', async () => {
  const lab = makeLab();
  lab.pods.backend.stack.tcpListen(9000, () => undefined);
  const r = await lab.run('frontend', ['curl', '-sS', '-m', '3', 'http://10.0.2.100:9000/']);
  assert.equal(r.code, 28);
  assert.match(r.stderr, /^curl: \(28\) Operation timed out after 300\d milliseconds with 0 bytes received\n$/);
});

test('starwars: POST /v1/request-landing lands; PUT /v1/exhaust-port returns the panic with 503', async () => {
  const lab = makeLab();
  const land = await lab.run('frontend', ['curl', '-s', '-XPOST', 'deathstar.default.svc.cluster.local/v1/request-landing']);
  assert.equal(land.code, 0);
  assert.equal(land.stdout, 'Ship landed\n');
  // 4 dots < ndots 5: all three search domains are tried first.
  assert.deepEqual(
    lab.queries.map((q) => q.name),
    [
      'deathstar.default.svc.cluster.local.demo.svc.cluster.local',
      'deathstar.default.svc.cluster.local.svc.cluster.local',
      'deathstar.default.svc.cluster.local.cluster.local',
      'deathstar.default.svc.cluster.local',
    ],
  );
  const boom = await lab.run('frontend', ['curl', '-s', '-w', '\\n%{http_code}', '-XPUT', 'deathstar.default.svc.cluster.local/v1/exhaust-port']);
  assert.ok(boom.stdout.startsWith('Panic: deathstar exploded\n\ngoroutine 1 [running]:\nmain.HandleGarbage('));
  assert.ok(boom.stdout.endsWith('\n503'));
  const info = await lab.run('frontend', ['curl', '-s', 'http://deathstar.default.svc.cluster.local/v1']);
  assert.equal(JSON.parse(info.stdout).hostname, lab.pods.deathstar.name);
  const missing = await lab.run('frontend', ['curl', '-s', '-w', '%{http_code}', '-o', '/dev/null', 'deathstar.default.svc.cluster.local/v2']);
  assert.equal(missing.stdout, '404');
});

test('option errors exit 2 with curl\'s wording; bad URLs exit 3, unknown schemes 1', async () => {
  const lab = makeLab();
  const bogus = await lab.run('frontend', ['curl', '--bogus', 'http://backend:8080']);
  assert.equal(bogus.code, 2);
  assert.equal(bogus.stderr, "curl: option --bogus: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n");
  const eq = await lab.run('frontend', ['curl', '--max-time=5', 'x']);
  assert.equal(eq.code, 2, 'curl has no --opt=value syntax');
  const missing = await lab.run('frontend', ['curl', '-H']);
  assert.match(missing.stderr, /^curl: option -H: requires parameter\n/);
  assert.equal((await lab.run('frontend', ['curl'])).stderr.split('\n')[0], 'curl: no URL specified!');
  const port = await lab.run('frontend', ['curl', 'http://backend:70000/']);
  assert.equal(port.code, 3);
  assert.equal(port.stderr, 'curl: (3) URL rejected: Port number was not a decimal number between 0 and 65535\n');
  assert.equal((await lab.run('frontend', ['curl', 'gopher://backend/'])).code, 1);
});

test('-f turns 4xx into exit 22; -i and -I print the head; -d POSTs a form', async () => {
  const lab = makeLab();
  const f = await lab.run('frontend', ['curl', '-sSf', 'http://backend:8080/missing']);
  assert.equal(f.code, 22);
  assert.equal(f.stdout, '');
  assert.equal(f.stderr, 'curl: (22) The requested URL returned error: 404\n');
  const head = await lab.run('frontend', ['curl', '-sI', 'http://backend:8080/']);
  assert.match(head.stdout, /^HTTP\/1\.1 200 OK\r\nContent-Type: application\/json\r\n/);
  assert.ok(head.stdout.endsWith('\r\n\r\n'));
  const inc = await lab.run('frontend', ['curl', '-si', 'http://backend:8080/']);
  assert.ok(inc.stdout.endsWith('\r\n\r\n{"service":"backend","status":"ok"}\n'));
  const post = await lab.run('frontend', ['curl', '-sv', '-d', 'name=x', 'http://backend:8080/']);
  assert.ok(post.stderr.includes('> POST / HTTP/1.1\n'));
  assert.ok(post.stderr.includes('> Content-Length: 6\n> Content-Type: application/x-www-form-urlencoded\n'));
});

test('-L follows a redirect to another service; without -L the 302 is the answer', async () => {
  const lab = makeLab();
  const target = encodeURIComponent('http://backend:8080/health');
  const noFollow = await lab.run('frontend', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', `http://netexec:8080/redirect?location=${target}`]);
  assert.equal(noFollow.stdout, '302 http://backend:8080/health');
  const follow = await lab.run('frontend', ['curl', '-sL', '-w', '\n%{num_redirects} %{url_effective}', `http://netexec:8080/redirect?location=${target}`]);
  assert.equal(follow.code, 0);
  assert.equal(follow.stdout, '{"status":"healthy"}\n\n1 http://backend:8080/health');
});

test('curl is killed by Ctrl-C while waiting: 130, nothing printed', async () => {
  const lab = makeLab();
  denyBackendIngress(lab);
  const r = await lab.run('frontend', ['curl', '-s', 'http://backend:8080'], { signalAfterMs: 2000 });
  assert.equal(r.code, 130);
  assert.equal(r.stdout, '');
  const term = await lab.run('frontend', ['curl', '-s', 'http://backend:8080'], { signalAfterMs: 1000, signal: 'SIGTERM' });
  assert.equal(term.code, 143);
});

test('a Service without backends: connect() fails at once with EHOSTUNREACH from the socket LB', async () => {
  const lab = makeLab();
  lab.w.addService('10.96.99.99', 80, []);
  const r = await lab.run('frontend', ['curl', '-sv', 'http://10.96.99.99/']);
  assert.equal(r.code, 7);
  assert.ok(r.stderr.includes('* Immediate connect fail for 10.96.99.99: No route to host\n'), r.stderr);
  assert.equal(r.elapsedMs < 1, true);
});

test('servers that hang up: empty reply is 52, a reset is 56 "Recv failure"', async () => {
  const lab = makeLab();
  lab.pods.backend.stack.tcpListen(9001, (s) => s.close());
  lab.pods.backend.stack.tcpListen(9002, (s) => {
    s.onData = () => s.destroy();
  });
  const empty = await lab.run('frontend', ['curl', '-sS', 'http://10.0.2.100:9001/']);
  assert.deepEqual([empty.code, empty.stderr], [52, 'curl: (52) Empty reply from server\n']);
  const reset = await lab.run('frontend', ['curl', '-sS', 'http://10.0.2.100:9002/']);
  assert.deepEqual([reset.code, reset.stderr], [56, 'curl: (56) Recv failure: Connection reset by peer\n']);
});

test('--retry retries a timeout after 1 s, then 2 s; -m bounds each attempt', async () => {
  const lab = makeLab();
  denyBackendIngress(lab);
  const r = await lab.run('frontend', ['curl', '-S', '--no-progress-meter', '-m', '2', '--retry', '2', 'http://backend:8080']);
  assert.equal(r.code, 28);
  assert.deepEqual(r.stderr.split('\n').filter((l) => l.length > 0), [
    'Warning: Problem : timeout. Will retry in 1 seconds. 2 retries left.',
    'Warning: Problem : timeout. Will retry in 2 seconds. 1 retries left.',
    'curl: (28) Connection timed out after 2001 milliseconds',
  ]);
  assert.ok(Math.abs(r.elapsedMs - (3 * 2001 + 1000 + 2000)) < 1);
});
