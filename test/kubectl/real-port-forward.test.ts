// The real kubectl's port-forward against podpath's apiserver: the WebSocket
// SPDY tunnel kubectl 1.31+ tries first and the plain SPDY/3.1 upgrade it
// falls back to, to a Service and to a pod; HTTP through the local port gets
// the pod's own answer; a refused port reports the kubelet's error as a real
// cluster does; the upgrade wants the token like every other request.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_USERS } from '../../src/apps/index.js';
import { kubeconfigPath } from '../../src/cluster/kubeconfig.js';
import { findRealKubectl, REAL_KUBECTL_SKIP, startCluster, type TestCluster } from './harness.js';

const skip = REAL_KUBECTL_SKIP;
let c: TestCluster;
let scratch: string;

before(async () => {
  if (skip) return;
  c = await startCluster('pfwd');
  scratch = mkdtempSync(join(tmpdir(), 'podpath-pfwd-home-'));
});

after(async () => {
  await c?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface Forward {
  /** The local port kubectl listens on. */
  port: number;
  /** The pod port it forwards to, as kubectl printed it. */
  remote: number;
  out(): string;
  err(): string;
  /** kubectl's exit code once it exits by itself. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** `kubectl port-forward ARGS` from the real kubectl, once it prints where it listens. `-v=6` logs each request, upgrades included. */
async function portForward(args: string[], env: Record<string, string> = {}): Promise<Forward> {
  const real = findRealKubectl();
  if (!('path' in real)) throw new Error(real.missing);
  const child: ChildProcessWithoutNullStreams = spawn(real.path, ['port-forward', '-v=6', ...args], {
    env: { ...process.env, KUBECONFIG: kubeconfigPath(c.paths), HOME: scratch, KUBECACHEDIR: join(scratch, 'cache'), ...env },
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    const [port, remote] = await new Promise<[number, number]>((resolve, reject) => {
      const look = (): void => {
        const m = /^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)$/m.exec(out);
        if (m) resolve([Number(m[1]), Number(m[2])]);
      };
      child.stdout.on('data', look);
      void exited.then((code) => reject(new Error(`kubectl port-forward exited ${code} before listening:\n${out}${err}`)));
    });
    return { port, remote, out: () => out, err: () => err, exited, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A GET on its own connection (no keep-alive), as curl does it. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function podName(namespace: string, selector: string): Promise<string> {
  const r = await c.kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'jsonpath={.items[0].metadata.name}']);
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out);
  return r.out;
}

test('port-forward to svc/hubble-ui: kubectl resolves the Service to a pod and port 80 to 8081, and the local port serves the UI page', { skip }, async () => {
  const pf = await portForward(['-n', 'kube-system', 'svc/hubble-ui', ':80']);
  try {
    assert.equal(pf.remote, 8081);
    const page = await get(pf.port, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<title>Hubble UI<\/title>/);
    // The same page a client inside the cluster gets from the Service.
    const inside = await c.kubectl(['exec', '-n', 'demo', 'deploy/frontend', '--', 'curl', '-s', 'http://hubble-ui.kube-system/']);
    assert.equal(inside.code, 0, inside.err);
    assert.equal(page.body, inside.out);
    assert.match(pf.out(), new RegExp(`^Handling connection for ${pf.port}$`, 'm'));
    // kubectl's default: the WebSocket tunnel, no fallback.
    assert.match(pf.err(), /GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/kube-system\/pods\/hubble-ui-[a-z0-9-]+\/portforward 101 Switching Protocols/);
    assert.doesNotMatch(pf.err(), /fallback/);
  } finally {
    await pf.stop();
  }
});

for (const [transport, env, upgrade] of [
  ['the WebSocket tunnel', {}, /GET \S+\/portforward 101 Switching Protocols/],
  ['plain SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, /POST \S+\/portforward 101 Switching Protocols/],
] as const) {
  test(`port-forward to a demo backend pod over ${transport}: GET /api/users twice, over two connections`, { skip }, async () => {
    const backend = await podName('demo', 'app=backend');
    const served = async (): Promise<number> => ((await c.kubectl(['logs', '-n', 'demo', backend])).out.match(/"GET \/api\/users HTTP\/1\.1" 200/g) ?? []).length;
    const before = await served();
    const pf = await portForward(['-n', 'demo', `pod/${backend}`, ':8080'], env);
    try {
      assert.equal(pf.remote, 8080);
      for (let i = 0; i < 2; i++) {
        const r = await get(pf.port, '/api/users');
        assert.equal(r.status, 200);
        assert.deepEqual(JSON.parse(r.body), DEMO_USERS);
      }
      assert.equal(pf.out().match(new RegExp(`^Handling connection for ${pf.port}$`, 'gm'))?.length, 2);
      assert.match(pf.err(), upgrade);
      // The backend logged both requests: they reached the pod itself.
      assert.equal(await served(), before + 2);
    } finally {
      await pf.stop();
    }
  });
}

test('a port nothing listens on: kubectl prints the kubelet\'s error from the error stream, then ends as kubectl 1.32 does ("lost connection to pod")', { skip }, async () => {
  const backend = await podName('demo', 'app=backend');
  const pf = await portForward(['-n', 'demo', `pod/${backend}`, ':9999']);
  try {
    // The local connection is taken, then closed with nothing sent back.
    const outcome = await get(pf.port, '/').then(
      (r) => `answered ${r.status}`,
      (e: Error) => e.message,
    );
    assert.match(outcome, /socket hang up|ECONNRESET/);
    assert.equal(await pf.exited, 1);
    assert.match(
      pf.err(),
      new RegExp(
        `an error occurred forwarding ${pf.port} -> 9999: error forwarding port 9999 to pod [0-9a-f]{64}, uid : ` +
          'failed to execute portforward in network namespace \\\\"/var/run/netns/cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\\\": ' +
          'failed to connect to localhost:9999 inside namespace \\\\"[0-9a-f]{64}\\\\", IPv4: dial tcp4 127\\.0\\.0\\.1:9999: connect: connection refused ' +
          'IPv6 dial tcp6 \\[::1\\]:9999: connect: connection refused',
      ),
    );
    assert.match(pf.err(), /^error: lost connection to pod$/m);
  } finally {
    await pf.stop();
  }
});

interface UpgradeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An upgrade request to the apiserver, as kubectl sends it, with or without the token. */
function upgradeRequest(path: string, headers: Record<string, string>, token?: string): Promise<UpgradeAnswer> {
  const cfg = readFileSync(kubeconfigPath(c.paths), 'utf8');
  const server = /server: (https:\/\/127\.0\.0\.1:\d+)/.exec(cfg)![1]!;
  const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(cfg)![1]!, 'base64');
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${server}${path}`, { ca, method: headers['Upgrade'] === 'websocket' ? 'GET' : 'POST', headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

const WEBSOCKET = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'SPDY/3.1+portforward.k8s.io' };
const SPDY = { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' };

test('the port-forward upgrade wants the bearer token (401 without it), names a missing pod, and answers each transport with its handshake', { skip }, async () => {
  const backend = await podName('demo', 'app=backend');
  const path = `/api/v1/namespaces/demo/pods/${backend}/portforward`;
  const token = readFileSync(join(c.paths.dir, 'token'), 'utf8').trim();
  for (const headers of [WEBSOCKET, SPDY]) {
    const denied = await upgradeRequest(path, headers);
    assert.equal(denied.status, 401);
    assert.deepEqual(JSON.parse(denied.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    const wrong = await upgradeRequest(path, headers, 'not-the-token');
    assert.equal(wrong.status, 401);

    const missing = await upgradeRequest('/api/v1/namespaces/demo/pods/no-such-pod/portforward', headers, token);
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).message, 'pods "no-such-pod" not found');
  }
  const ws = await upgradeRequest(path, WEBSOCKET, token);
  assert.equal(ws.status, 101);
  assert.equal(ws.headers['sec-websocket-protocol'], 'SPDY/3.1+portforward.k8s.io');
  assert.equal(ws.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  const spdy = await upgradeRequest(path, SPDY, token);
  assert.equal(spdy.status, 101);
  assert.equal(spdy.headers['upgrade'], 'SPDY/3.1');
  assert.equal(spdy.headers['x-stream-protocol-version'], 'portforward.k8s.io');
  // A WebSocket without the tunnel subprotocol is refused with a Status (kubectl would then fall back to SPDY).
  const plain = await upgradeRequest(path, { ...WEBSOCKET, 'Sec-WebSocket-Protocol': 'v4.channel.k8s.io' }, token);
  assert.equal(plain.status, 400);
  assert.match(JSON.parse(plain.body).message, /WebSocket subprotocol must be SPDY\/3\.1\+portforward\.k8s\.io/);
});
