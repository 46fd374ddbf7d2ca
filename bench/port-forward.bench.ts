// The real kubectl's port-forward through podpath's apiserver: a demo cluster
// daemon (as `podpath up` starts it), `kubectl port-forward` to a backend pod
// over the WebSocket SPDY tunnel (kubectl's default) and over plain SPDY, and
// sequential GET /api/users, each on a new local connection (so each one is
// a new pair of SPDY streams and a new TCP connection inside the cluster).
// The figure is the wall time per request as an HTTP client sees it.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, up } from '../src/cli/cluster-commands.js';
import { kubeconfigPath } from '../src/cluster/kubeconfig.js';
import { clusterPaths } from '../src/cluster/paths.js';
import { findRealKubectl } from '../test/kubectl/harness.js';
import { firstPod } from './demo-cluster.js';

const json = process.argv.includes('--json');
const ROUNDS = 200;
const WARMUP = 10;

function report(metric: string, value: number, unit: string, human: string): void {
  if (json) console.log(JSON.stringify({ bench: 'port-forward', metric, value: Number(value.toFixed(2)), unit }));
  else console.log(human);
}

const real = findRealKubectl();
if (!('path' in real)) {
  console.log(`port-forward bench skipped: ${real.missing}`);
  process.exit(0);
}

const home = mkdtempSync(join(tmpdir(), 'podpath-pf-bench-'));
const scratch = mkdtempSync(join(tmpdir(), 'podpath-pf-bench-home-'));
process.env['PODPATH_HOME'] = home;
const name = 'pfbench';
try {
  await up({ name, demo: true }, () => undefined);
  const paths = clusterPaths(name, home);
  const backend = await firstPod(name, 'demo', 'backend');
  if (!json) console.log(`kubectl port-forward (${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}), ${ROUNDS} requests each on a new connection:`);
  for (const [transport, env] of [
    ['websocket', {}],
    ['spdy', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
  ] as const) {
    const child = spawn(real.path, ['port-forward', '-n', 'demo', `pod/${backend}`, ':8080'], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath(paths), HOME: scratch, KUBECACHEDIR: join(scratch, 'cache'), ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (s: string) => {
          out += s;
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`kubectl port-forward exited ${code}`)));
      });
      const times: number[] = [];
      for (let i = 0; i < ROUNDS + WARMUP; i++) {
        const t0 = performance.now();
        const status = await get(port, '/api/users');
        if (status !== 200) throw new Error(`GET answered ${status}`);
        if (i >= WARMUP) times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      const p99 = times[Math.floor(times.length * 0.99)]!;
      report(`${transport}_request_median`, median, 'ms', `  ${transport}: median ${median.toFixed(2)} ms per request`);
      report(`${transport}_request_p99`, p99, 'ms', `  ${transport}: p99 ${p99.toFixed(2)} ms`);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    }
  }
} finally {
  await down({ name }, () => undefined).catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

