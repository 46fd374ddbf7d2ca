// How soon `hubble observe --follow` prints a flow after its packet: a demo
// cluster daemon (as `podpath up` starts it), a follow stream through the
// daemon's Hubble route, and curls from a frontend pod to the backend. The
// figure is the wall time from sending the exec request to the follow line of
// that connection's SYN at the backend (to-endpoint): an upper bound on the
// packet-to-line latency, since it also counts the exec's own start and curl's
// DNS lookup.

import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { down, up } from '../src/cli/cluster-commands.js';
import { execRemote } from '../src/cli/daemon-client.js';
import { DaemonHubbleBackend, runHubble } from '../src/cli/hubble.js';
import { clusterPaths } from '../src/cluster/paths.js';
import { firstPod } from './demo-cluster.js';

const json = process.argv.includes('--json');
const ROUNDS = 30;

function report(metric: string, value: number, unit: string, human: string): void {
  if (json) console.log(JSON.stringify({ bench: 'hubble-follow', metric, value: Number(value.toFixed(2)), unit }));
  else console.log(human);
}

const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

const home = mkdtempSync(join(tmpdir(), 'podpath-follow-bench-'));
process.env['PODPATH_HOME'] = home;
const name = 'follow';
try {
  await up({ name, demo: true }, () => undefined);
  const paths = clusterPaths(name, home);
  const backend = new DaemonHubbleBackend(paths.socket);
  const frontend = await firstPod(name, 'demo', 'frontend');

  // One waiter at a time: the next SYN line to the backend port resolves it with its arrival time.
  let waiter: ((at: number) => void) | null = null;
  const ctl = new AbortController();
  const follow = runHubble(['observe', '--follow', '--to-port', '8080', '--type', 'trace:to-endpoint', '--tcp-flags', 'SYN'], {
    backend: () => backend,
    io: {
      stdout: () => {
        const at = performance.now();
        const w = waiter;
        waiter = null;
        w?.(at);
      },
      stderr: () => {},
      signal: ctl.signal,
    },
  });

  const latencies: number[] = [];
  for (let i = 0; i < ROUNDS + 3; i++) {
    const seen = new Promise<number>((resolve) => (waiter = resolve));
    const t0 = performance.now();
    const rc = await execRemote(paths.socket, { target: `demo/${frontend}`, argv: ['curl', '-s', 'http://backend:8080/api/users'] }, sink(), sink());
    if (rc !== 0) throw new Error(`curl exited ${rc}`);
    const at = await seen;
    if (i >= 3) latencies.push(at - t0); // the first rounds warm the daemon's code paths
  }
  ctl.abort();
  await follow;

  latencies.sort((a, b) => a - b);
  const median = latencies[Math.floor(latencies.length / 2)]!;
  const max = latencies[latencies.length - 1]!;
  if (!json) console.log(`hubble --follow latency (${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}), ${ROUNDS} connections:`);
  report('follow_latency_median', median, 'ms', `  exec request → SYN line on the follow stream: median ${median.toFixed(1)} ms`);
  report('follow_latency_max', max, 'ms', `  max ${max.toFixed(1)} ms`);
} finally {
  await down({ name }, () => undefined).catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
}

