// Image → server, name → command, and the parsers under curl.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AgnhostServer,
  CoreDnsServer,
  DeathstarServer,
  DemoBackendServer,
  GenericServer,
  HubbleUiServer,
  NginxServer,
  commandByName,
  createPodEnv,
  curl,
  httpRequest,
  parseCurlArgs,
  parseImage,
  parseUrl,
  serverForImage,
  text,
} from '../../src/apps/index.js';
import { drive } from '../../src/util/drive.js';
import { makeLab } from './harness.js';

test('parseImage strips registry, library/, tag and digest', () => {
  assert.deepEqual(parseImage('docker.io/cilium/starwars:v2.1@sha256:abc'), { registry: '', repository: 'cilium/starwars', tag: 'v2.1' });
  assert.deepEqual(parseImage('nginx'), { registry: '', repository: 'nginx', tag: undefined });
  assert.deepEqual(parseImage('docker.io/library/nginx:1.25.3'), { registry: '', repository: 'nginx', tag: '1.25.3' });
  assert.deepEqual(parseImage('localhost:5000/team/app:dev'), { registry: 'localhost:5000', repository: 'team/app', tag: 'dev' });
  assert.deepEqual(parseImage('registry.k8s.io/coredns/coredns:v1.11.1'), { registry: 'registry.k8s.io', repository: 'coredns/coredns', tag: 'v1.11.1' });
});

test('serverForImage picks the workload from the image (and agnhost from its command)', () => {
  assert.ok(serverForImage('registry.k8s.io/coredns/coredns:v1.11.1') instanceof CoreDnsServer);
  assert.ok(serverForImage('docker.io/cilium/starwars') instanceof DeathstarServer);
  assert.ok(serverForImage('cilium/starwars:latest') instanceof DeathstarServer);
  assert.ok(serverForImage('quay.io/cilium/starwars:v2.1') instanceof DeathstarServer);
  assert.ok(serverForImage('registry.k8s.io/e2e-test-images/agnhost:2.52') instanceof AgnhostServer);
  assert.ok(serverForImage('example/tools', ['/agnhost', 'netexec']) instanceof AgnhostServer);
  assert.ok(serverForImage('podpath/demo-backend:1.0') instanceof DemoBackendServer);
  assert.ok(serverForImage('ghcr.io/acme/orders-backend') instanceof DemoBackendServer);
  assert.ok(serverForImage('podpath/demo-frontend') instanceof GenericServer);
  assert.ok(serverForImage('nginx:1.25.3') instanceof NginxServer);
  assert.ok(serverForImage('busybox:1.36') instanceof GenericServer);
  assert.ok(serverForImage('quay.io/cilium/hubble-ui:v0.13.2') instanceof HubbleUiServer);
  assert.ok(serverForImage('quay.io/cilium/hubble-ui-backend:v0.13.2') instanceof GenericServer);
});

test('commandByName knows the tools by name or path', () => {
  assert.equal(commandByName('curl'), curl);
  assert.equal(commandByName('/usr/bin/curl'), curl);
  assert.equal(commandByName('netcat'), commandByName('nc'));
  assert.equal(commandByName('bash'), undefined);
  assert.equal(commandByName('toString'), undefined);
});

test('the generic server answers HTTP on TCP ports and echoes on UDP ports; nginx serves its welcome page', async () => {
  const lab = makeLab();
  const pod = lab.w.addPod('web-1', 1, '10.0.2.140', 61000);
  const env = createPodEnv({ podName: pod.name, namespace: 'demo', ip: pod.ip, stack: pod.stack, clock: lab.w.clock, rng: lab.w.rng.fork() });
  serverForImage('example.com/unknown/app:1').start(env, { ports: [{ containerPort: 3000 }, { containerPort: 5000, protocol: 'UDP' }] });
  const res = await drive(lab.w.clock, httpRequest(lab.pods.frontend.stack, pod.ip, 3000));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.ok(text(res.body).includes('web-1'));
  const echo = await lab.run('frontend', ['nc', '-u', '-w', '1', '10.0.2.140', '5000'], { stdin: ['ping\n'] });
  assert.equal(echo.stdout, 'ping\n');

  const ng = lab.w.addPod('nginx-1', 1, '10.0.2.141', 61001);
  const ngEnv = createPodEnv({ podName: ng.name, namespace: 'demo', ip: ng.ip, stack: ng.stack, clock: lab.w.clock, rng: lab.w.rng.fork() });
  const logs: string[] = [];
  serverForImage('nginx:1.25.3').start(ngEnv, { ports: [] }, { log: (l) => logs.push(l) });
  const page = await lab.run('frontend', ['curl', '-si', 'http://10.0.2.141/']);
  assert.ok(page.stdout.includes('Server: nginx/1.25.3\r\n'));
  assert.ok(page.stdout.includes('<title>Welcome to nginx!</title>'));
  assert.match(logs.at(-1)!, /^10\.0\.1\.50 - - \[01\/Jan\/2026:\d\d:\d\d:\d\d \+0000\] "GET \/ HTTP\/1\.1" 200 \d+ "-" "curl\/8\.5\.0" "-"$/);
});

test('Hubble UI\'s frontend serves its page on 8081 for every GET path, as its nginx does for the single-page app', async () => {
  const lab = makeLab();
  const ui = lab.w.addPod('hubble-ui-1', 1, '10.0.2.142', 61002);
  const env = createPodEnv({ podName: ui.name, namespace: 'kube-system', ip: ui.ip, stack: ui.stack, clock: lab.w.clock, rng: lab.w.rng.fork() });
  serverForImage('quay.io/cilium/hubble-ui:v0.13.2').start(env, { ports: [{ containerPort: 8081, name: 'http' }] });
  for (const path of ['/', '/?namespace=demo']) {
    const page = await lab.run('frontend', ['curl', '-si', `http://10.0.2.142:8081${path}`]);
    assert.match(page.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(page.stdout.includes('<title>Hubble UI</title>'));
    assert.ok(page.stdout.includes('Served by pod hubble-ui-1 (10.0.2.142)'));
  }
  const post = await lab.run('frontend', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-XPOST', 'http://10.0.2.142:8081/']);
  assert.equal(post.stdout, '405');
});

test('the deathstar explodes two seconds after its exhaust port is hit, when a runtime can restart it', async () => {
  const lab = makeLab();
  const pod = lab.w.addPod('deathstar-2', 1, '10.0.2.150', 34567);
  const env = createPodEnv({ podName: pod.name, namespace: 'default', ip: pod.ip, stack: pod.stack, clock: lab.w.clock, rng: lab.w.rng.fork() });
  const exits: number[] = [];
  const logs: string[] = [];
  new DeathstarServer().start(env, { ports: [{ containerPort: 80 }] }, { exit: (c) => exits.push(c), log: (l) => logs.push(l) });
  const r = await lab.run('frontend', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-XPUT', 'http://10.0.2.150/v1/exhaust-port']);
  assert.equal(r.stdout, '503');
  assert.deepEqual(exits, []);
  await lab.run('frontend', ['sleep', '2']);
  assert.deepEqual(exits, [2]);
  assert.ok(logs.includes('panic: deathstar exploded'));
  const after = await lab.run('frontend', ['curl', '-sS', 'http://10.0.2.150/v1']);
  assert.equal(after.code, 7, 'the process is gone: nothing listens on 80');
});

test('parseUrl: default scheme, host:port, Host authority, dot segments, rejections with curl exit codes', () => {
  assert.deepEqual(parseUrl('backend:8080'), { scheme: 'http', host: 'backend', port: 8080, nonDefaultPort: true, target: '/' });
  assert.deepEqual(parseUrl('http://Backend/a/./b/../c?x=1#frag'), { scheme: 'http', host: 'backend', port: 80, nonDefaultPort: false, target: '/a/c?x=1' });
  assert.deepEqual(parseUrl('http://u:p@h:80?q'), { scheme: 'http', host: 'h', port: 80, nonDefaultPort: false, target: '/?q', user: 'u', password: 'p' });
  assert.deepEqual(parseUrl('http://:80/'), { code: 3, message: 'URL rejected: No host part in the URL' });
  assert.deepEqual(parseUrl('http://a b/'), { code: 3, message: 'URL rejected: Malformed input to a URL function' });
  assert.deepEqual(parseUrl('scp://h/'), { code: 1, message: 'Protocol "scp" not supported' });
});

test('parseCurlArgs: bundled flags, glued values, -- ends options', () => {
  const o = parseCurlArgs(['-sSLo/dev/null', '-XPUT', '-H', 'X-A: 1', '-m', '2.5', '--', '-weird-url']);
  assert.ok(typeof o !== 'string');
  assert.equal(o.silent && o.showError && o.location, true);
  assert.deepEqual(o.output, ['/dev/null']);
  assert.equal(o.request, 'PUT');
  assert.deepEqual(o.headers, ['X-A: 1']);
  assert.equal(o.maxTimeMs, 2500);
  assert.deepEqual(o.urls, ['-weird-url']);
  assert.match(parseCurlArgs(['-9']) as string, /^curl: option -9: is unknown\n/);
});
