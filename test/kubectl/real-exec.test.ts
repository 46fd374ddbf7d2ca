// `kubectl exec` from the real kubectl (1.32: WebSocket, v5.channel.k8s.io)
// against podpath's apiserver: output, exit codes and stdin pass through,
// workloads resolve to pods, and errors read as they do against a real
// (containerd) cluster. The protocol itself is also driven with a plain
// WebSocket client: the token guard, v4.channel.k8s.io, the error channel.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { parse } from 'yaml';
import WebSocket from 'ws';
import { kubeconfigPath } from '../../src/cluster/kubeconfig.js';
import { pickPod, type OrderedPod } from '../../src/k8s/pod-order.js';
import { REAL_KUBECTL_SKIP, startCluster, type RunResult, type TestCluster } from './harness.js';

let c: TestCluster;
let frontend = '';
let api: { server: string; token: string; ca: Buffer };

before(async () => {
  c = await startCluster('realexec');
  const pods = await c.kubectl(['get', 'pod', '-n', 'demo', '-l', 'app=frontend', '-o', 'jsonpath={.items[0].metadata.name}']);
  assert.equal(pods.code, 0, pods.err);
  frontend = pods.out;
  const config = parse(readFileSync(kubeconfigPath(c.paths), 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  api = { server: config.clusters[0]!.cluster.server, token: config.users[0]!.user.token, ca: Buffer.from(config.clusters[0]!.cluster['certificate-authority-data'], 'base64') };
});

after(async () => {
  await c?.stop();
});

function real(args: string[], input?: string): RunResult {
  return c.real!(args, input === undefined ? {} : { input });
}

/** `kubectl exec` that must succeed: its stdout. */
function execOk(args: string[], input?: string): string {
  const r = real(['exec', ...args], input);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  return r.out;
}

test('curl through the real kubectl exec returns the backend JSON, the same as podpath kubectl', { skip: REAL_KUBECTL_SKIP }, async () => {
  const args = ['-n', 'demo', 'deploy/frontend', '--', 'curl', '-s', 'http://backend:8080/api/users'];
  const out = execOk(args);
  const users = JSON.parse(out) as { name: string }[];
  assert.ok(Array.isArray(users) && users.length > 0 && typeof users[0]!.name === 'string', out);
  const ours = await c.kubectl(['exec', ...args]);
  assert.equal(ours.code, 0, ours.err);
  assert.equal(out, ours.out);
});

test('exit codes pass through: sh exit 3, and a curl a deny policy drops exits 28', { skip: REAL_KUBECTL_SKIP }, () => {
  const sh = real(['exec', '-n', 'demo', frontend, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(sh.code, 3);
  assert.equal(sh.out, 'out\n');
  assert.equal(sh.err, 'err\ncommand terminated with exit code 3\n');

  const curl = ['exec', '-n', 'demo', frontend, '--', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}\n', '--max-time', '1', 'http://backend:8080/'];
  assert.equal(real(curl).out, '200\n');
  const policy = join(process.cwd(), 'labs', '01-packet-flow', 'deny-policy.yaml');
  const applied = real(['apply', '-f', policy]);
  assert.equal(applied.code, 0, applied.err);
  try {
    const denied = real(curl);
    assert.equal(denied.code, 28, denied.err);
    assert.match(denied.err, /^curl: \(28\) .*\ncommand terminated with exit code 28\n$/);
  } finally {
    assert.equal(real(['delete', '-f', policy]).code, 0);
  }
  assert.equal(real(curl).out, '200\n');
});

test('stdin with -i: cat echoes a large input byte for byte, sh runs a script read from stdin', { skip: REAL_KUBECTL_SKIP }, () => {
  const input = Array.from({ length: 4000 }, (_, i) => `line ${i} ${'x'.repeat(i % 53)}\n`).join('');
  assert.ok(input.length > 100_000);
  assert.equal(execOk(['-i', '-n', 'demo', frontend, '--', 'cat'], input), input);

  const script = real(['exec', '-i', '-n', 'demo', frontend, '--', 'sh'], 'echo from stdin\nhostname\nexit 4\n');
  assert.equal(script.code, 4);
  assert.equal(script.out, `from stdin\n${frontend}\n`);
  assert.equal(script.err, 'command terminated with exit code 4\n');

  // Without -i the command sees no stdin at all.
  assert.equal(execOk(['-n', 'demo', frontend, '--', 'cat'], 'ignored\n'), '');
});

test('exec into ds/cilium: the pod kubectl picks runs hubble, cilium and cilium-dbg for its node', { skip: REAL_KUBECTL_SKIP }, async () => {
  const agents = JSON.parse(real(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=cilium', '-o', 'json']).out) as { items: OrderedPod[] };
  const picked = pickPod(agents.items)!;
  assert.equal(execOk(['-n', 'kube-system', 'ds/cilium', '--', 'hostname']), `${picked.metadata.name}\n`);

  execOk(['-n', 'demo', frontend, '--', 'curl', '-s', '-o', '/dev/null', 'http://backend:8080/']);
  const flows = execOk(['-n', 'kube-system', 'ds/cilium', '--', 'hubble', 'observe', '--last', '5']).split('\n').filter(Boolean);
  assert.equal(flows.length, 5, flows.join('\n'));
  for (const f of flows) assert.match(f, /^[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d\.\d{3}: \S+ .*(->|<-) /);

  const status = execOk(['-n', 'kube-system', 'ds/cilium', '--', 'cilium', 'status']);
  assert.match(status, /^KVStore: +Ok +Disabled\n/);
  const ours = await c.kubectl(['exec', '-n', 'kube-system', 'ds/cilium', '--', 'cilium', 'status']);
  assert.equal(status, ours.out);

  const ct = execOk(['-n', 'kube-system', 'ds/cilium', '--', 'cilium-dbg', 'bpf', 'ct', 'list', 'global']).split('\n').filter(Boolean);
  assert.ok(ct.length > 0);
  for (const line of ct) assert.match(line, /^(TCP|UDP|ICMP) (IN|OUT) \d+\.\d+\.\d+\.\d+:\d+ -> \d+\.\d+\.\d+\.\d+:\d+ /);
});

test('errors read as against a real cluster: unknown pod, unknown container, command not found', { skip: REAL_KUBECTL_SKIP }, () => {
  const pod = real(['exec', '-n', 'demo', 'nopod', '--', 'ls']);
  assert.deepEqual([pod.code, pod.out, pod.err], [1, '', 'Error from server (NotFound): pods "nopod" not found\n']);

  const container = real(['exec', '-n', 'demo', frontend, '-c', 'nope', '--', 'ls']);
  assert.deepEqual([container.code, container.out, container.err], [1, '', `Error from server (BadRequest): container nope is not valid for pod ${frontend}\n`]);

  // containerd's answer, wrapped once by the kubelet and once by the apiserver's stream translator.
  const missing = real(['exec', '-n', 'demo', frontend, '--', 'nosuchcmd', '-x']);
  assert.equal(missing.code, 1);
  assert.equal(missing.out, '');
  assert.match(
    missing.err,
    /^error: Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in \$PATH: unknown\n$/,
  );
});

/** The apiserver's count of open exec sessions (apiserver_longrunning_requests, verb CONNECT), from GET /metrics. */
async function openExecSessions(): Promise<number> {
  const res = await fetchApi('/metrics');
  assert.equal(res.status, 200);
  const m = /^apiserver_longrunning_requests\{[^}]*subresource="exec"[^}]*verb="CONNECT"[^}]*\} (\d+)$/m.exec(res.body);
  return m ? Number(m[1]) : 0;
}

function fetchApi(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(api.server + path, { ca: api.ca, headers: { Authorization: `Bearer ${api.token}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/**
 * Wait (bounded, in wall time) until the apiserver has `expected` exec sessions open: one
 * whose kubectl has just exited ends when the daemon sees its connection close.
 */
async function execSessionsWithin(ms: number, expected = 0): Promise<number> {
  const deadline = Date.now() + ms;
  let open = await openExecSessions();
  while (open !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    open = await openExecSessions();
  }
  return open;
}

test('hubble observe --follow through exec streams new flows, and killing kubectl stops it on the server', { skip: REAL_KUBECTL_SKIP }, async () => {
  const agents = JSON.parse(real(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=cilium', '-o', 'json']).out) as { items: OrderedPod[] };
  const node = pickPod(agents.items)!.spec!.nodeName!;
  // Traffic from a pod on the node whose agent ds/cilium reaches, to a port nothing else uses.
  const source = real(['get', 'pods', '-n', 'demo', '--field-selector', `spec.nodeName=${node}`, '-o', 'jsonpath={.items[0].metadata.name}']).out;
  assert.ok(source, `a demo pod runs on ${node}`);
  const [backend, target] = real(['get', 'pods', '-n', 'demo', '-l', 'app=backend', '-o', 'jsonpath={.items[0].metadata.name} {.items[0].status.podIP}']).out.split(' ');
  assert.equal(await execSessionsWithin(10_000), 0);

  const follow = c.realSpawn!(['-n', 'kube-system', 'exec', 'ds/cilium', '--', 'hubble', 'observe', '--follow']);
  let out = '';
  let wake: (() => void) | undefined;
  follow.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    wake?.();
  });
  const printed = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const exited = once(follow, 'exit');
  try {
    // The SYN's flow, printed at the source's node (the follow may start after a round's SYN: then the next round's).
    const syn = new RegExp(`demo/${source}:\\d+ \\(ID:\\d+\\) -> demo/${backend}:9999 \\(ID:\\d+\\) .*\\(TCP Flags: SYN\\)`);
    // Bounded: a few rounds of traffic, each waiting up to 2 s of wall time for kubectl to print the flow.
    for (let round = 0; round < 10 && !syn.test(out); round++) {
      real(['exec', '-n', 'demo', source, '--', 'curl', '-s', '--max-time', '1', `http://${target!}:9999/`]);
      const deadline = Date.now() + 2000;
      while (!syn.test(out) && Date.now() < deadline) await printed(deadline - Date.now());
    }
    assert.match(out, syn);
    assert.equal(await execSessionsWithin(10_000, 1), 1);
  } finally {
    follow.kill('SIGKILL');
    await exited;
  }
  // The server notices the client is gone and stops hubble: the session count drops back (bounded wait on the daemon).
  assert.equal(await execSessionsWithin(10_000), 0);
  assert.equal(execOk(['-n', 'kube-system', 'ds/cilium', '--', 'hostname']).trim().startsWith('cilium-'), true);
});

// ---- the protocol, with a plain WebSocket client -------------------------------------------------

interface RawAnswer {
  /** HTTP status when the upgrade was refused, with the body. */
  refused?: { status: number; body: string };
  protocol?: string;
  /** Bytes per channel, in arrival order. */
  channels?: Map<number, Buffer>;
  closeCode?: number;
}

function rawExec(path: string, opts: { token?: string; protocols?: string[]; stdin?: Buffer[] } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const url = api.server.replace(/^https:/, 'wss:') + path;
    const ws = new WebSocket(url, opts.protocols ?? ['v5.channel.k8s.io'], {
      ca: api.ca,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
    });
    const channels = new Map<number, Buffer>();
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => resolve({ refused: { status: res.statusCode ?? 0, body } }));
    });
    ws.on('open', () => {
      for (const chunk of opts.stdin ?? []) ws.send(chunk);
    });
    ws.on('message', (data: Buffer) => {
      const ch = data[0]!;
      channels.set(ch, Buffer.concat([channels.get(ch) ?? Buffer.alloc(0), data.subarray(1)]));
    });
    ws.on('close', (code) => resolve({ protocol: ws.protocol, channels, closeCode: code }));
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

function execPath(pod: string, command: string[], extra = 'stdout=true&stderr=true'): string {
  return `/api/v1/namespaces/demo/pods/${pod}/exec?${command.map((a) => `command=${encodeURIComponent(a)}`).join('&')}&${extra}`;
}

test('the exec upgrade needs the token: none or a wrong one gets 401 Unauthorized', async () => {
  for (const token of [undefined, 'not-the-token']) {
    const r = await rawExec(execPath(frontend, ['hostname']), token ? { token } : {});
    assert.equal(r.refused?.status, 401);
    const status = JSON.parse(r.refused.body) as { kind: string; reason: string; code: number };
    assert.deepEqual([status.kind, status.reason, status.code], ['Status', 'Unauthorized', 401]);
  }
});

test('exec over v4.channel.k8s.io: output on channels 1 and 2, then the Status on channel 3 and a normal close', async () => {
  const ok = await rawExec(execPath(frontend, ['sh', '-c', 'hostname; echo oops >&2']), { token: api.token, protocols: ['v4.channel.k8s.io'] });
  assert.equal(ok.protocol, 'v4.channel.k8s.io');
  assert.equal(ok.closeCode, 1000);
  assert.equal(ok.channels?.get(1)?.toString(), `${frontend}\n`);
  assert.equal(ok.channels?.get(2)?.toString(), 'oops\n');
  assert.deepEqual(JSON.parse(ok.channels!.get(3)!.toString()), { metadata: {}, status: 'Success' });

  const failed = await rawExec(execPath(frontend, ['sh', '-c', 'exit 7']), { token: api.token });
  assert.equal(failed.protocol, 'v5.channel.k8s.io');
  assert.deepEqual(JSON.parse(failed.channels!.get(3)!.toString()), {
    metadata: {},
    status: 'Failure',
    message: 'command terminated with non-zero exit code: command terminated with exit code 7',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '7' }] },
  });
});

test('v5 stdin: data on channel 0 reaches the command, and the close signal [255, 0] is its EOF', async () => {
  const r = await rawExec(execPath(frontend, ['cat'], 'stdin=true&stdout=true&stderr=true'), {
    token: api.token,
    stdin: [Buffer.from('\x00first '), Buffer.from('\x00second\n'), Buffer.from([255, 0])],
  });
  assert.equal(r.channels?.get(1)?.toString(), 'first second\n');
  assert.deepEqual(JSON.parse(r.channels!.get(3)!.toString()), { metadata: {}, status: 'Success' });
});

test('refused upgrades answer a Status: unknown pod 404, unknown container and unserved protocol 400', async () => {
  const pod = await rawExec(execPath('nopod', ['ls']), { token: api.token });
  assert.equal(pod.refused?.status, 404);
  assert.equal((JSON.parse(pod.refused.body) as { message: string }).message, 'pods "nopod" not found');

  const container = await rawExec(execPath(frontend, ['ls'], 'container=nope&stdout=true'), { token: api.token });
  assert.equal(container.refused?.status, 400);
  assert.equal((JSON.parse(container.refused.body) as { message: string }).message, `container nope is not valid for pod ${frontend}`);

  const noStreams = await rawExec(execPath(frontend, ['ls'], 'stdout=false&stderr=false'), { token: api.token });
  assert.equal(noStreams.refused?.status, 400);
  assert.equal((JSON.parse(noStreams.refused.body) as { message: string }).message, 'you must specify at least 1 of stdin, stdout, stderr');

  const protocol = await rawExec(execPath(frontend, ['ls']), { token: api.token, protocols: ['v3.channel.k8s.io'] });
  assert.equal(protocol.refused?.status, 400);
  assert.match((JSON.parse(protocol.refused.body) as { message: string }).message, /^requested protocol\(s\) are not supported: v3\.channel\.k8s\.io; supports v5\.channel\.k8s\.io, v4\.channel\.k8s\.io$/);
});

test('stdin streams: cat answers each chunk before the next is sent, and a client that goes away ends the session', async () => {
  const url = api.server.replace(/^https:/, 'wss:') + execPath(frontend, ['cat'], 'stdin=true&stdout=true&stderr=true');
  const ws = new WebSocket(url, ['v5.channel.k8s.io'], { ca: api.ca, headers: { Authorization: `Bearer ${api.token}` } });
  await once(ws, 'open');
  assert.equal(await execSessionsWithin(10_000, 1), 1);
  const stdout: string[] = [];
  ws.on('message', (data: Buffer) => {
    if (data[0] === 1 && data.length > 1) stdout.push(data.subarray(1).toString('utf8'));
  });
  for (const word of ['one\n', 'two\n', 'three\n']) {
    const before = stdout.length;
    ws.send(Buffer.concat([Buffer.of(0), Buffer.from(word)]));
    while (stdout.length === before) await once(ws, 'message');
    assert.equal(stdout.at(-1), word);
  }
  // Going away without the close signal: the server stops cat and the session ends.
  ws.terminate();
  assert.equal(await execSessionsWithin(10_000), 0);
});

test('sh -i over the stream: each command runs when its line arrives, shell state carries over, exit ends the session', async () => {
  const url = api.server.replace(/^https:/, 'wss:') + execPath(frontend, ['sh'], 'stdin=true&stdout=true&stderr=true');
  const ws = new WebSocket(url, ['v5.channel.k8s.io'], { ca: api.ca, headers: { Authorization: `Bearer ${api.token}` } });
  const channels = new Map<number, string>();
  let wake: (() => void) | undefined;
  ws.on('message', (data: Buffer) => {
    channels.set(data[0]!, (channels.get(data[0]!) ?? '') + data.subarray(1).toString('utf8'));
    wake?.();
  });
  const closed = once(ws, 'close');
  await once(ws, 'open');
  const stdoutAfter = async (line: string): Promise<string> => {
    const before = channels.get(1) ?? '';
    ws.send(Buffer.concat([Buffer.of(0), Buffer.from(line)]));
    while ((channels.get(1) ?? '') === before) await new Promise<void>((r) => (wake = r));
    return (channels.get(1) ?? '').slice(before.length);
  };
  assert.equal(await stdoutAfter('N=41\necho "n=$((N+1))"\n'), 'n=42\n');
  assert.equal(await stdoutAfter('curl -s -o /dev/null -w "%{http_code}\\n" http://backend:8080/\n'), '200\n');
  ws.send(Buffer.concat([Buffer.of(0), Buffer.from('exit 9\n')]));
  await closed;
  assert.equal((JSON.parse(channels.get(3)!) as { details: { causes: { message: string }[] } }).details.causes[0]!.message, '9');
});

// The timeout guards the close: a server still holding back unread stdin would not read the client's close frame for 30 s.
test('stdin beyond what the command has read is held back, not lost; a command that never reads it still ends with a normal close', { timeout: 20_000 }, async () => {
  const big = Array.from({ length: 64 }, (_, i) => Buffer.concat([Buffer.of(0), Buffer.alloc(64 * 1024, 0x41 + (i % 26))]));
  const late = await rawExec(execPath(frontend, ['sh', '-c', 'sleep 1; cat'], 'stdin=true&stdout=true&stderr=true'), { token: api.token, stdin: [...big, Buffer.of(255, 0)] });
  assert.equal(late.channels?.get(1)?.length, 64 * 64 * 1024);
  assert.deepEqual(late.channels?.get(1), Buffer.concat(big.map((b) => b.subarray(1))));
  assert.equal(late.closeCode, 1000);

  const unread = await rawExec(execPath(frontend, ['sh', '-c', 'sleep 1'], 'stdin=true&stdout=true&stderr=true'), { token: api.token, stdin: big });
  assert.deepEqual(JSON.parse(unread.channels!.get(3)!.toString()), { metadata: {}, status: 'Success' });
  assert.equal(unread.closeCode, 1000);
});

const SCRIPT = spawnSync('script', ['--version'], { encoding: 'utf8' });
const TTY_SKIP = REAL_KUBECTL_SKIP || (SCRIPT.status === 0 ? false : 'no script(1) to give kubectl a terminal');

test('exec -it sh from a terminal: the prompt, typed keys echoed, commands run at Enter, the exit code', { skip: TTY_SKIP }, async () => {
  const { path, env } = c.realCommand!;
  // script(1) gives kubectl a pseudo-terminal, so it sends raw keys as a user's terminal would.
  const child = spawn('script', ['-qfec', `${path} exec -it -n demo ${frontend} -- sh`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let wake: (() => void) | undefined;
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString('utf8');
    wake?.();
  });
  const exited = once(child, 'exit');
  // Bounded waits for kubectl to print, each up to 10 s of wall time.
  const shows = async (text: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!screen.endsWith(text) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    assert.ok(screen.endsWith(text), `expected the screen to end with ${JSON.stringify(text)}:\n${JSON.stringify(screen)}`);
  };
  try {
    await shows('/ # ');
    child.stdin.write('hostnamX\x7fe\r');
    await shows(`/ # hostnamX\b \be\r\n${frontend}\r\n/ # `);
    child.stdin.write('curl -s -o /dev/null -w "%{http_code}\\n" http://backend:8080/\r');
    await shows('\r\n200\r\n/ # ');
    child.stdin.write('exit 3\r');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 3);
    assert.match(screen, /\/ # exit 3\r\ncommand terminated with exit code 3\r?\n$/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
