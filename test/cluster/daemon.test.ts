// The daemon as a user meets it: `podpath up` returns when the cluster is
// ready, `podpath exec` runs commands in pods through the real datapath, a
// kill -9 and `podpath up` bring back the same cluster (objects, IPs,
// conntrack), and nobody but the owner can connect to its socket.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, chmodSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PassThrough } from 'node:stream';
import { up, down } from '../../src/cli/cluster-commands.js';
import { execRemote, getJson, socketAlive } from '../../src/cli/daemon-client.js';
import { clusterPaths } from '../../src/cluster/paths.js';
import { CT_PATH_PREFIX } from '../../src/cluster/exec-protocol.js';

const home = mkdtempSync(join(tmpdir(), 'podpath-home-'));
process.env['PODPATH_HOME'] = home;
const NAME = 'daemontest';
const paths = clusterPaths(NAME, home);
const quiet = (): void => {};

after(async () => {
  if (await socketAlive(paths.socket)) await down({ name: NAME }, quiet);
  rmSync(home, { recursive: true, force: true });
});

async function run(target: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = new PassThrough();
  const e = new PassThrough();
  let out = '';
  let err = '';
  o.on('data', (c: Buffer) => (out += c.toString()));
  e.on('data', (c: Buffer) => (err += c.toString()));
  const code = await execRemote(paths.socket, { target, argv }, o, e);
  return { code, out, err };
}

async function podsOf(app: string): Promise<{ name: string; ip: string; node: string; uid: string }[]> {
  const list = await getJson<{ items: { metadata: { name: string; uid: string }; status: { podIP: string }; spec: { nodeName: string } }[] }>(paths.socket, `/api/v1/namespaces/demo/pods?labelSelector=app%3D${app}`);
  return list.items.map((p) => ({ name: p.metadata.name, ip: p.status.podIP, node: p.spec.nodeName, uid: p.metadata.uid })).sort((a, b) => a.name.localeCompare(b.name));
}

test('podpath up --demo: ready, private, and curl from a pod reaches the backend through DNS and the datapath', async () => {
  await up({ name: NAME, demo: true }, quiet);
  assert.equal(statSync(paths.dir).mode & 0o777, 0o700);
  assert.equal(statSync(paths.socket).mode & 0o777, 0o600);
  assert.equal(statSync(paths.db).mode & 0o077, 0, 'state is the owner’s alone');
  const [frontend] = await podsOf('frontend');
  const r = await run(`demo/${frontend!.name}`, ['curl', '-s', 'http://backend:8080/api/users']);
  assert.equal(r.code, 0, r.err);
  assert.ok(Array.isArray(JSON.parse(r.out)), r.out);
  // A timeout costs virtual time only: exit 28, as curl reports it.
  const t = await run(`demo/${frontend!.name}`, ['curl', '-sS', '--max-time', '5', 'http://10.0.9.9:8080/']);
  assert.equal(t.code, 28);
  assert.match(t.err, /^curl: \(28\) /);
  const missing = await run('demo/no-such-pod', ['curl', 'http://backend:8080']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /pods "no-such-pod" not found/);
});

test('sh -c runs a real shell whose curl, hostname and cat run inside the pod', { skip: existsSync('/bin/bash') ? false : 'bash is not installed' }, async () => {
  const [frontend] = await podsOf('frontend');
  const bin = join(process.cwd(), 'bin', 'podpath.js');
  const script = 'for i in 1 2 3; do curl -s -o /dev/null -w "%{http_code} " http://backend:8080; done; echo; hostname; cat /etc/resolv.conf | grep nameserver; exit 3';
  const r = spawnSync(process.execPath, [bin, 'exec', '--name', NAME, `demo/${frontend!.name}`, '--', 'sh', '-c', script], { encoding: 'utf8', env: { ...process.env, PODPATH_HOME: home } });
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stdout, `200 200 200 \n${frontend!.name}\nnameserver 10.96.0.10\n`);
});

test('eval "$(podpath env)" puts the front ends for this cluster on PATH', { skip: existsSync('/bin/bash') ? false : 'bash is not installed' }, () => {
  const bin = join(process.cwd(), 'bin', 'podpath.js');
  const script = `eval "$(${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} env --name ${NAME})"; for t in kubectl cilium cilium-dbg hubble; do command -v $t; done; echo "$PODPATH_CLUSTER"; podpath status`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, PODPATH_HOME: home, PODPATH_CLUSTER: '' } });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const [i, t] of ['kubectl', 'cilium', 'cilium-dbg', 'hubble'].entries()) assert.equal(lines[i], join(paths.dir, 'bin', t));
  assert.equal(lines[4], NAME);
  assert.match(lines[5]!, new RegExp(`^${NAME}: running \\(pid \\d+, clock fast, 4 nodes, \\d+ pods\\)$`));
});

const realKubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));

test('real kubectl reaches the cluster through the kubeconfig; without the token the apiserver answers 401', { skip: realKubectl ? false : 'no real kubectl on this machine' }, async () => {
  const kubeconfig = join(paths.dir, 'kubeconfig');
  assert.equal(statSync(kubeconfig).mode & 0o777, 0o600);
  const r = spawnSync(realKubectl!, ['get', 'pods', '-n', 'demo', '-l', 'app=backend', '-o', 'jsonpath={.items[*].status.phase}'], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'Running Running');
  const cfg = readFileSync(kubeconfig, 'utf8');
  const server = /server: (https:\/\/127\.0\.0\.1:\d+)/.exec(cfg)![1]!;
  const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(cfg)![1]!, 'base64');
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest(`${server}/api/v1/namespaces/demo/pods`, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 401);
});

test('kubectl port-forward listens on localhost and carries connections to the Service\'s pod', async () => {
  const bin = join(process.cwd(), 'bin', 'podpath.js');
  const child = spawn(process.execPath, [bin, 'kubectl', 'port-forward', '-n', 'kube-system', 'svc/hubble-ui', ':80'], { env: { ...process.env, PODPATH_HOME: home, PODPATH_CLUSTER: NAME } });
  try {
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /^Forwarding from 127\.0\.0\.1:(\d+) -> 8081$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`port-forward exited ${code}: ${out}`)));
    });
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () => resolve(`${res.statusCode} ${b}`));
      });
      req.on('error', reject);
      req.end();
    });
    assert.match(body, /^200 [\s\S]*hubble-ui-/);
    assert.match(out, /Handling connection for \d+\n/);
  } finally {
    child.kill('SIGINT');
  }
});

test('a user who is not the owner cannot connect to the socket', { skip: process.getuid?.() === 0 ? false : 'needs root to run a command as another user' }, () => {
  // Even with the folder opened up, the socket itself (0600) refuses others.
  chmodSync(paths.dir, 0o711);
  try {
    const script = `require('net').connect(${JSON.stringify(paths.socket)}).on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(3)})`;
    const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', script], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'EACCES', r.stderr);
    assert.equal(r.status, 3);
  } finally {
    chmodSync(paths.dir, 0o700);
  }
});

test('kill -9 then podpath up: same objects, pod IPs, identities and conntrack entries', async () => {
  const before = await podsOf('backend');
  const ceps = await getJson<{ items: { metadata: { name: string }; status: { id: number; identity: { id: number } } }[] }>(paths.socket, '/apis/cilium.io/v2/namespaces/demo/ciliumendpoints');
  const ctBefore = await Promise.all(before.map((p) => text(`${CT_PATH_PREFIX}${p.node}`)));
  assert.ok(ctBefore.some((t) => /TCP IN .* -> .*:8080 /.test(t)), 'the earlier curl left CT entries');
  const pid = Number(readFileSync(paths.pid, 'utf8'));
  process.kill(pid, 'SIGKILL');
  await waitExit(pid);
  assert.equal(await socketAlive(paths.socket), false);
  await up({ name: NAME }, quiet);
  assert.deepEqual(await podsOf('backend'), before);
  const cepsAfter = await getJson<typeof ceps>(paths.socket, '/apis/cilium.io/v2/namespaces/demo/ciliumendpoints');
  const ids = (l: typeof ceps): string[] => l.items.map((c) => `${c.metadata.name}:${c.status.id}:${c.status.identity.id}`).sort();
  assert.deepEqual(ids(cepsAfter), ids(ceps));
  const ctAfter = await Promise.all(before.map((p) => text(`${CT_PATH_PREFIX}${p.node}`)));
  assert.deepEqual(ctAfter, ctBefore);
  // And traffic still flows.
  const [frontend] = await podsOf('frontend');
  const r = await run(`demo/${frontend!.name}`, ['curl', '-s', 'http://backend:8080/']);
  assert.equal(r.code, 0);
});

function text(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: paths.socket, path }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => resolve(b));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolve when the process is gone (signal 0 fails), polling the kernel's process table. */
async function waitExit(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setImmediate(r));
  }
}
