// podpath's own `kubectl port-forward` (through the daemon's private
// endpoint) against the texts and exits of kubectl v1.32: a forward to a
// Service and to a pod port, a port nothing listens on (the kubelet's error,
// then "error: lost connection to pod", exit 1), an unknown pod or Service, a
// busy local port, bad port specs. Each case asserts podpath's output; where
// the real kubectl is on PATH, it runs the same case on the same cluster and
// the two must print the same lines and exit the same way (klog's
// timestamp/pid prefix and the pod's random sandbox and netns ids aside).

import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { PODPATH_BIN, REAL_KUBECTL_SKIP, startCluster, type TestCluster } from './harness.js';

let c: TestCluster;
let backend: string;

before(async () => {
  c = await startCluster('pfcmp');
  const r = await c.kubectl(['get', 'pods', '-n', 'demo', '-l', 'app=backend', '-o', 'jsonpath={.items[0].metadata.name}']);
  assert.equal(r.code, 0, r.err);
  backend = r.out;
});

after(async () => {
  await c?.stop();
});

interface Outcome {
  out: string;
  err: string;
  /** The exit code, or the signal that ended it. */
  exit: number | string;
  /** What the local connection got (when one was made). */
  got?: string;
}

/** A free local port (both 127.0.0.1 and ::1 could take it a moment ago). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A GET on its own connection; its status, or how it failed. */
function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(`HTTP ${res.statusCode}`));
      res.on('error', (e) => resolve(e.message));
    });
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}

/**
 * Run `kubectl port-forward ARGS` (podpath's or the real one). When it starts
 * listening: make one connection if `connect` says so, then wait for it to
 * exit by itself (`exits`) or stop it with Ctrl-C (SIGINT) once the connection is
 * over. Waits are bounded by the process's own output and exit.
 */
async function portForward(which: 'podpath' | 'real', args: string[], opts: { connect?: number; exits?: boolean } = {}): Promise<Outcome> {
  const [cmd, argv, env] =
    which === 'podpath' ? [process.execPath, [PODPATH_BIN, 'kubectl', 'port-forward', ...args], c.env] : [c.realCommand!.path, ['port-forward', ...args], c.realCommand!.env];
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  // 'close': exited, and its stdout and stderr read to the end.
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const listening = new Promise<boolean>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      // Both listeners are up once the IPv6 line is out (every case here
      // expects both lines): connecting after the first line let "Handling
      // connection" race ahead of the [::1] line on a loaded machine.
      if (/^Forwarding from \[::1\]/m.test(out)) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  let got: string | undefined;
  if ((await listening) && opts.connect !== undefined) {
    got = await get(opts.connect);
  }
  if (!opts.exits && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  const exit = await exited;
  return { out, err, exit, ...(got !== undefined ? { got } : {}) };
}

/** klog's `E1126 14:38:44.078423   23561 ` prefix and the pod's sandbox/netns ids vary from run to run. */
function normalize(text: string): string {
  return text
    .replace(/^([EWI])\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ /gm, '$1MMDD hh:mm:ss.uuuuuu PID ')
    .replace(/\b[0-9a-f]{64}\b/g, '<sandbox>')
    .replace(/cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'cni-<netns>');
}

/** Run the case with podpath's kubectl, check it, and (with a real kubectl) run it again with the real one: same lines, same exit. */
async function both(t: TestContext, args: () => string[], opts: { connect?: () => number; exits?: boolean }, check: (o: Outcome) => void): Promise<void> {
  const run = (which: 'podpath' | 'real'): Promise<Outcome> => portForward(which, args(), { ...(opts.connect ? { connect: opts.connect() } : {}), ...(opts.exits ? { exits: true } : {}) });
  const ours = await run('podpath');
  check(ours);
  await t.test('prints the same lines and exits the same way as the real kubectl v1.32', { skip: REAL_KUBECTL_SKIP }, async () => {
    const real = await run('real');
    assert.deepEqual(
      { out: ours.out, err: normalize(ours.err), exit: ours.exit, got: ours.got },
      { out: real.out, err: normalize(real.err), exit: real.exit, got: real.got },
    );
  });
}

test('svc/hubble-ui: the Service port 80 becomes the pod\'s 8081, both local addresses listen, the connection is handled', async (t) => {
  const port = await freePort();
  await both(t, () => ['-n', 'kube-system', 'svc/hubble-ui', `${port}:80`], { connect: () => port }, (o) => {
    assert.equal(o.out, `Forwarding from 127.0.0.1:${port} -> 8081\nForwarding from [::1]:${port} -> 8081\nHandling connection for ${port}\n`);
    assert.equal(o.err, '');
    assert.equal(o.got, 'HTTP 200');
    assert.equal(o.exit, 0);
  });
});

test('a pod port by name (backend\'s "http"): the pod\'s answer comes back', async (t) => {
  const port = await freePort();
  await both(t, () => ['-n', 'demo', `pod/${backend}`, `${port}:http`], { connect: () => port }, (o) => {
    assert.equal(o.out, `Forwarding from 127.0.0.1:${port} -> 8080\nForwarding from [::1]:${port} -> 8080\nHandling connection for ${port}\n`);
    assert.equal(o.err, '');
    assert.match(o.got ?? '', /^HTTP \d{3}$/);
    assert.equal(o.exit, 0);
  });
});

test('a pod port nothing listens on: the kubelet\'s error, then "error: lost connection to pod", exit 1', async (t) => {
  const port = await freePort();
  await both(t, () => ['-n', 'demo', `pod/${backend}`, `${port}:9999`], { connect: () => port, exits: true }, (o) => {
    assert.equal(o.out, `Forwarding from 127.0.0.1:${port} -> 9999\nForwarding from [::1]:${port} -> 9999\nHandling connection for ${port}\n`);
    assert.equal(
      normalize(o.err),
      `EMMDD hh:mm:ss.uuuuuu PID portforward.go:424] "Unhandled Error" err="an error occurred forwarding ${port} -> 9999: ` +
        'error forwarding port 9999 to pod <sandbox>, uid : failed to execute portforward in network namespace \\"/var/run/netns/cni-<netns>\\": ' +
        'failed to connect to localhost:9999 inside namespace \\"<sandbox>\\", IPv4: dial tcp4 127.0.0.1:9999: connect: connection refused ' +
        'IPv6 dial tcp6 [::1]:9999: connect: connection refused "\n' +
        'error: lost connection to pod\n',
    );
    assert.match(o.got ?? '', /socket hang up|ECONNRESET/);
    assert.equal(o.exit, 1);
  });
});

for (const [what, args, message] of [
  ['an unknown pod', ['-n', 'demo', 'pod/no-such-pod', '12000:80'], 'Error from server (NotFound): pods "no-such-pod" not found'],
  ['an unknown pod, named bare', ['-n', 'demo', 'no-such-pod', '12000:80'], 'Error from server (NotFound): pods "no-such-pod" not found'],
  ['an unknown Service', ['-n', 'demo', 'svc/no-such-svc', '12000:80'], 'Error from server (NotFound): services "no-such-svc" not found'],
  ['a port the Service does not have', ['-n', 'kube-system', 'svc/hubble-ui', '12000:81'], 'error: Service hubble-ui does not have a service port 81'],
  ['a port name the Service does not have', ['-n', 'kube-system', 'svc/hubble-ui', '12000:nope'], "error: Service 'hubble-ui' does not have a named port 'nope'"],
  ['no port at all', ['-n', 'demo', 'deploy/backend'], "error: TYPE/NAME and list of ports are required for port-forward\nSee 'kubectl port-forward -h' for help and examples"],
  ['a remote port too large', ['-n', 'demo', 'deploy/backend', '12000:70000'], 'error: error parsing remote port \'70000\': strconv.ParseUint: parsing "70000": value out of range'],
  ['a local port that is no number', ['-n', 'demo', 'deploy/backend', 'abc:8080'], 'error: error parsing local port \'abc\': strconv.ParseUint: parsing "abc": invalid syntax'],
  ['a negative remote port', ['-n', 'demo', 'deploy/backend', '12000:-5'], 'error: error parsing remote port \'-5\': strconv.ParseUint: parsing "-5": invalid syntax'],
  ['remote port 0', ['-n', 'demo', 'deploy/backend', '12000:0'], 'error: remote port must be > 0'],
  ['a port name the pod does not have', ['-n', 'demo', 'pod/<pod>', 'nope'], "error: Pod '<pod>' does not have a named port 'nope'"],
  ['an address that is no IP', ['-n', 'demo', 'deploy/backend', '--address', 'example', '12000:8080'], 'error: example is not a valid IP'],
] as const) {
  test(`${what}: kubectl's error, nothing listens, exit 1`, async (t) => {
    await both(t, () => args.map((a) => a.replace('<pod>', backend)), { exits: true }, (o) => {
      assert.equal(o.out, '');
      assert.equal(o.err, `${message.replace('<pod>', backend)}\n`);
      assert.equal(o.exit, 1);
    });
  });
}

/** Hold `port` on the given local addresses while `body` runs. */
async function holding<T>(port: number, hosts: string[], body: () => Promise<T>): Promise<T> {
  const servers: Server[] = [];
  for (const host of hosts) {
    const srv = createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port, host, ipv6Only: host.includes(':') }, resolve);
    });
    servers.push(srv);
  }
  try {
    return await body();
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

test('a local port busy on both addresses: both bind errors, "unable to listen on any of the requested ports", exit 1', async (t) => {
  const port = await freePort();
  await holding(port, ['127.0.0.1', '::1'], () =>
    both(t, () => ['-n', 'demo', 'deploy/backend', `${port}:8080`], { exits: true }, (o) => {
      assert.equal(o.out, '');
      assert.equal(
        o.err,
        `Unable to listen on port ${port}: Listeners failed to create with the following errors: ` +
          `[unable to create listener: Error listen tcp4 127.0.0.1:${port}: bind: address already in use ` +
          `unable to create listener: Error listen tcp6 [::1]:${port}: bind: address already in use]\n` +
          `error: unable to listen on any of the requested ports: [{${port} 8080}]\n`,
      );
      assert.equal(o.exit, 1);
    }),
  );
});

test('a local port busy on 127.0.0.1 only: kubectl forwards from [::1] alone, silently', async (t) => {
  const port = await freePort();
  await holding(port, ['127.0.0.1'], () =>
    both(t, () => ['-n', 'demo', 'deploy/backend', `${port}:8080`], {}, (o) => {
      assert.equal(o.out, `Forwarding from [::1]:${port} -> 8080\n`);
      assert.equal(o.err, '');
      assert.equal(o.exit, 0);
    }),
  );
});

test('one busy port of two: the other forwards, the busy one is reported and the command goes on', async (t) => {
  const [free, busy] = [await freePort(), await freePort()];
  await holding(busy, ['127.0.0.1', '::1'], () =>
    both(t, () => ['-n', 'demo', 'deploy/backend', `${free}:8080`, `${busy}:8080`], {}, (o) => {
      assert.equal(o.out, `Forwarding from 127.0.0.1:${free} -> 8080\nForwarding from [::1]:${free} -> 8080\n`);
      assert.match(o.err, new RegExp(`^Unable to listen on port ${busy}: Listeners failed to create with the following errors: \\[.*\\]\\n$`));
      assert.equal(o.exit, 0);
    }),
  );
});
