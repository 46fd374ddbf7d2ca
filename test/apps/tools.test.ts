// The busybox client tools a pod has: ping, nc, echo, sleep, hostname,
// true/false, cat; signal exit codes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deletePolicyEntry } from '../../src/datapath/map-writer.js';
import { makeLab } from './harness.js';

test('ping -c 3 across nodes: busybox reply lines, ttl 63 after the node hop, summary, exit 0', async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['ping', '-c', '3', '10.0.2.100']);
  assert.equal(r.code, 0);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'PING 10.0.2.100 (10.0.2.100): 56 data bytes');
  for (let seq = 0; seq < 3; seq++) assert.match(lines[1 + seq]!, new RegExp(`^64 bytes from 10\\.0\\.2\\.100: seq=${seq} ttl=63 time=\\d+\\.\\d{3} ms$`));
  assert.equal(lines[4], '');
  assert.equal(lines[5], '--- 10.0.2.100 ping statistics ---');
  assert.equal(lines[6], '3 packets transmitted, 3 packets received, 0% packet loss');
  assert.match(lines[7]!, /^round-trip min\/avg\/max = \d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3} ms$/);
  // One request per second; done as soon as the third reply is in.
  assert.ok(r.elapsedMs > 2000 && r.elapsedMs < 2010);
});

test('ping with no reply: 100% loss, no round-trip line, exit 1 after -W seconds', async () => {
  const lab = makeLab();
  deletePolicyEntry(lab.pods.backend.policyMap, { identity: 0, egress: false, proto: 0, port: 0 });
  const r = await lab.run('frontend', ['ping', '-c', '2', '-W', '3', '10.0.2.100']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'PING 10.0.2.100 (10.0.2.100): 56 data bytes\n\n--- 10.0.2.100 ping statistics ---\n2 packets transmitted, 0 packets received, 100% packet loss\n');
  assert.equal(r.elapsedMs, 4000);
  const bad = await lab.run('frontend', ['ping', '-c', '1', 'nosuch']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "ping: bad address 'nosuch'\n");
});

test('ping without -c runs until Ctrl-C, then prints the statistics (busybox catches SIGINT)', async () => {
  const lab = makeLab();
  const pod = await lab.run('frontend', ['ping', '10.0.2.100'], { signalAfterMs: 2500 });
  assert.equal(pod.code, 0);
  assert.ok(pod.stdout.includes('--- 10.0.2.100 ping statistics ---\n3 packets transmitted, 3 packets received, 0% packet loss\n'));
  // A ClusterIP is not a host: the socket LB translates TCP/UDP, never ICMP.
  const svc = await lab.run('frontend', ['ping', 'backend'], { signalAfterMs: 2500 });
  assert.equal(svc.code, 1);
  assert.ok(svc.stdout.startsWith('PING backend (10.96.12.34): 56 data bytes\n'));
  assert.ok(svc.stdout.includes('--- backend ping statistics ---\n3 packets transmitted, 0 packets received, 100% packet loss\n'));
});

test('nc -zv: "open" on success, "nc: host (ip:port): Connection refused" and exit 1 otherwise', async () => {
  const lab = makeLab();
  const open = await lab.run('frontend', ['nc', '-zv', 'backend', '8080']);
  assert.equal(open.code, 0);
  assert.equal(open.stderr, 'backend (10.96.12.34:8080) open\n');
  const refused = await lab.run('frontend', ['nc', '-z', '10.0.2.100', '9'], {});
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, 'nc: 10.0.2.100 (10.0.2.100:9): Connection refused\n');
  deletePolicyEntry(lab.pods.backend.policyMap, { identity: 0, egress: false, proto: 0, port: 0 });
  const dropped = await lab.run('frontend', ['nc', '-zvw', '2', 'backend', '8080']);
  assert.equal(dropped.code, 1);
  assert.equal(dropped.stderr, 'nc: backend (10.96.12.34:8080): Connection timed out\n');
  assert.ok(dropped.elapsedMs >= 2000 && dropped.elapsedMs < 2001);
  assert.equal((await lab.run('frontend', ['nc', 'nosuch', '80'])).stderr, "nc: bad address 'nosuch'\n");
});

test('nc sends stdin and prints what comes back; -u talks to a UDP server', async () => {
  const lab = makeLab();
  const http = await lab.run('frontend', ['nc', 'backend', '8080'], { stdin: ['GET /health HTTP/1.0\r\n', '\r\n'] });
  assert.equal(http.code, 0);
  assert.match(http.stdout, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n[\s\S]*\r\n\r\n\{"status":"healthy"\}\n$/);
  const udp = await lab.run('frontend', ['nc', '-u', '-w', '1', 'netexec', '8081'], { stdin: ['hostname\n'] });
  assert.equal(udp.code, 0);
  assert.equal(udp.stdout, 'netexec-0');
});

test('echo, hostname, true, false, cat', async () => {
  const lab = makeLab();
  assert.equal((await lab.run('frontend', ['echo', 'hello', 'world'])).stdout, 'hello world\n');
  assert.equal((await lab.run('frontend', ['echo', '-n', 'x'])).stdout, 'x');
  assert.equal((await lab.run('frontend', ['echo', '-e', 'a\\tb'])).stdout, 'a\tb\n');
  assert.equal((await lab.run('frontend', ['hostname'])).stdout, `${lab.pods.frontend.name}\n`);
  assert.equal((await lab.run('frontend', ['hostname', '-i'])).stdout, '10.0.1.50\n');
  assert.equal((await lab.run('frontend', ['true'])).code, 0);
  assert.equal((await lab.run('frontend', ['false'])).code, 1);
  assert.equal((await lab.run('frontend', ['cat'], { stdin: ['a', 'b\n'] })).stdout, 'ab\n');
  assert.equal(
    (await lab.run('frontend', ['cat', '/etc/resolv.conf'])).stdout,
    'search demo.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
  );
  assert.ok((await lab.run('frontend', ['cat', '/etc/hosts'])).stdout.endsWith(`10.0.1.50\t${lab.pods.frontend.name}\n`));
  const missing = await lab.run('frontend', ['cat', '/etc/shadow']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "cat: can't open '/etc/shadow': No such file or directory\n");
});

test('sleep waits on the virtual clock; a signal ends it with 128 + signo', async () => {
  const lab = makeLab();
  const r = await lab.run('frontend', ['sleep', '1.5']);
  assert.equal(r.code, 0);
  assert.equal(r.elapsedMs, 1500);
  assert.equal((await lab.run('frontend', ['sleep', '1m'])).elapsedMs, 60_000);
  const int = await lab.run('frontend', ['sleep', '3600'], { signalAfterMs: 10 });
  assert.equal(int.code, 130);
  assert.equal(int.elapsedMs, 10);
  assert.equal((await lab.run('frontend', ['sleep', '3600'], { signalAfterMs: 10, signal: 'SIGTERM' })).code, 143);
  assert.equal((await lab.run('frontend', ['sleep', 'x'])).stderr, "sleep: invalid number 'x'\n");
});

test('busybox wget: -qO- prints the body; its chatter and its error messages otherwise', async () => {
  const lab = makeLab();
  const quiet = await lab.run('frontend', ['wget', '-qO-', 'http://backend:8080/']);
  assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, '{"service":"backend","status":"ok"}\n', '']);
  const chatty = await lab.run('frontend', ['wget', '-O-', 'backend:8080/health']);
  assert.deepEqual(chatty.stderr.split('\n').filter((l) => !l.startsWith('-  ')), ['Connecting to backend:8080 (10.96.12.34:8080)', 'writing to stdout', 'written to stdout', '']);
  const missing = await lab.run('frontend', ['wget', '-qO-', 'http://backend:8080/nope']);
  assert.deepEqual([missing.code, missing.stderr], [1, 'wget: server returned error: HTTP/1.1 404 Not Found\n']);
  assert.equal((await lab.run('frontend', ['wget', '-q', 'http://nosuch:8080/'])).stderr, "wget: bad address 'nosuch:8080'\n");
  const refused = await lab.run('frontend', ['wget', '-qO-', 'http://10.0.2.100:9/']);
  assert.equal(refused.stderr, "wget: can't connect to remote host (10.0.2.100): Connection refused\n");
  const timeout = await lab.run('frontend', ['wget', '-qT', '2', 'http://10.9.9.9/']);
  assert.deepEqual([timeout.code, timeout.stderr, timeout.elapsedMs], [1, 'wget: download timed out\n', 2000]);
});
