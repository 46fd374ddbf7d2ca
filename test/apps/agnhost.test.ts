// agnhost as the Kubernetes e2e suite uses it: `connect` verdicts, and the
// netexec / serve-hostname servers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deletePolicyEntry } from '../../src/datapath/map-writer.js';
import { AgnhostServer, createPodEnv, httpRequest, text } from '../../src/apps/index.js';
import { drive } from '../../src/util/drive.js';
import { makeLab } from './harness.js';

test('agnhost connect: exit 0 silently on success, REFUSED on RST, TIMEOUT when policy drops the SYN', async () => {
  const lab = makeLab();
  const ok = await lab.run('frontend', ['agnhost', 'connect', 'backend:8080', '--timeout=1s']);
  assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, '', '']);
  const refused = await lab.run('frontend', ['agnhost', 'connect', '10.0.2.100:9', '--timeout', '1s']);
  assert.deepEqual([refused.code, refused.stderr], [1, 'REFUSED\n']);
  deletePolicyEntry(lab.pods.backend.policyMap, { identity: 0, egress: false, proto: 0, port: 0 });
  const timeout = await lab.run('frontend', ['/agnhost', 'connect', 'backend:8080', '--timeout=1s', '--protocol=tcp']);
  assert.deepEqual([timeout.code, timeout.stderr], [1, 'TIMEOUT\n']);
  assert.ok(timeout.elapsedMs >= 1000 && timeout.elapsedMs < 1001);
});

test('agnhost connect: DNS and UNKNOWN prefixes, cobra errors', async () => {
  const lab = makeLab();
  const dns = await lab.run('frontend', ['agnhost', 'connect', 'nosuch:80', '--timeout=1s']);
  assert.deepEqual([dns.code, dns.stderr], [1, 'DNS: lookup nosuch on 10.96.0.10:53: no such host\n']);
  const noPort = await lab.run('frontend', ['agnhost', 'connect', 'backend', '--timeout=1s']);
  assert.deepEqual([noPort.code, noPort.stderr], [1, 'UNKNOWN: address backend: missing port in address\n']);
  const badFlag = await lab.run('frontend', ['agnhost', 'connect', 'backend:8080', '--timeout=soon']);
  assert.equal(badFlag.code, 1);
  assert.ok(badFlag.stderr.startsWith('Error: invalid argument "soon" for "--timeout" flag: time: invalid duration "soon"\n'));
  const unknown = await lab.run('frontend', ['agnhost', 'bogus']);
  assert.deepEqual([unknown.code, unknown.stderr], [1, 'Error: unknown command "bogus" for "agnhost"\nRun \'agnhost --help\' for usage.\n']);
});

test('agnhost connect --protocol=udp waits for the netexec UDP answer; a closed UDP port is REFUSED', async () => {
  const lab = makeLab();
  const ok = await lab.run('frontend', ['agnhost', 'connect', 'netexec:8081', '--protocol=udp', '--timeout=1s']);
  assert.deepEqual([ok.code, ok.stderr], [0, '']);
  const refused = await lab.run('frontend', ['agnhost', 'connect', '10.0.2.100:5353', '--protocol=udp', '--timeout=1s']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^REFUSED: read udp 10\.0\.1\.50:\d+->10\.0\.2\.100:5353: read: connection refused\n$/);
});

test('netexec: /hostname, /clientip as the server sees it (no SNAT), /echo, /dial from the server pod', async () => {
  const lab = makeLab();
  assert.equal((await lab.run('frontend', ['curl', '-s', 'netexec:8080/hostname'])).stdout, 'netexec-0');
  const clientip = await lab.run('frontend', ['curl', '-s', 'netexec:8080/clientip']);
  assert.match(clientip.stdout, /^10\.0\.1\.50:\d+$/);
  assert.equal((await lab.run('frontend', ['curl', '-s', 'netexec:8080/echo?msg=hello']))?.stdout, 'hello');
  const code = await lab.run('frontend', ['curl', '-s', '-w', ' %{http_code}', 'netexec:8080/echo?msg=teapot&code=418']);
  assert.equal(code.stdout, 'teapot 418');
  const now = await lab.run('frontend', ['curl', '-s', 'netexec:8080/']);
  assert.match(now.stdout, /^NOW: 2026-01-01 \d\d:\d\d:\d\d\.\d{9} \+0000 UTC m=\+\d+\.\d{9}$/);
  const dial = await lab.run('frontend', ['curl', '-s', 'netexec:8080/dial?host=backend.demo.svc.cluster.local&port=8080&request=health&protocol=http&tries=2']);
  assert.deepEqual(JSON.parse(dial.stdout), { responses: ['{"status":"healthy"}\n', '{"status":"healthy"}\n'] });
  const udp = await lab.run('frontend', ['curl', '-s', 'netexec:8080/dial?host=10.0.2.120&port=8081&request=hostname&protocol=udp']);
  assert.deepEqual(JSON.parse(udp.stdout), { responses: ['netexec-0'] });
  const failed = await lab.run('frontend', ['curl', '-s', 'netexec:8080/dial?host=10.0.2.100&port=9&request=x']);
  assert.deepEqual(JSON.parse(failed.stdout), { errors: ['Get "http://10.0.2.100:9/x": dial tcp 10.0.2.100:9: connect: connection refused'] });
  assert.ok(lab.logs.netexec.some((l) => /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Started HTTP server on port 8080$/.test(l)));
});

test('serve-hostname answers with the pod name over HTTP, or raw over TCP and UDP', async () => {
  const lab = makeLab();
  const pod = lab.w.addPod('hostnames-abc12', 1, '10.0.2.130', 56789);
  const env = createPodEnv({ podName: pod.name, namespace: 'demo', ip: pod.ip, stack: pod.stack, clock: lab.w.clock, rng: lab.w.rng.fork() });
  const logs: string[] = [];
  new AgnhostServer().start(env, { command: ['/agnhost'], args: ['serve-hostname', '--port=9376'], ports: [] }, { log: (l) => logs.push(l) });
  const res = await drive(lab.w.clock, httpRequest(lab.pods.frontend.stack, pod.ip, 9376, { path: '/' }));
  assert.equal(text(res.body), 'hostnames-abc12');
  assert.ok(logs.some((l) => l.endsWith('Serving on port 9376.')));

  const pod2 = lab.w.addPod('hostnames-raw', 1, '10.0.2.131', 56789);
  const env2 = createPodEnv({ podName: pod2.name, namespace: 'demo', ip: pod2.ip, stack: pod2.stack, clock: lab.w.clock, rng: lab.w.rng.fork() });
  const exits: number[] = [];
  new AgnhostServer().start(env2, { args: ['serve-hostname', '--tcp', '--udp', '--http=false', '--port=9000'], ports: [] }, { exit: (c) => exits.push(c) });
  const viaNc = await lab.run('frontend', ['nc', '10.0.2.131', '9000']);
  assert.equal(viaNc.stdout, 'hostnames-raw');
  const viaUdp = await lab.run('frontend', ['nc', '-u', '-w', '1', '10.0.2.131', '9000'], { stdin: ['x'] });
  assert.equal(viaUdp.stdout, 'hostnames-raw');
  // HTTP together with raw modes is refused, as the real one does (log.Fatalf → exit 1).
  new AgnhostServer().start(env2, { args: ['serve-hostname', '--udp'], ports: [] }, { exit: (c) => exits.push(c) });
  lab.w.settle(1);
  assert.deepEqual(exits, [1]);
});
