// kubectl exec through podpath's apiserver (WebSocket, v5.channel.k8s.io): a
// demo cluster daemon (as `podpath up` starts it), then
//  - the real kubectl's `exec POD -- hostname`, a whole kubectl run (process
//    start, pod GET, upgrade, the command, the Status) as a user waits for it;
//  - one exec session from an in-process WebSocket client (upgrade → Status →
//    close), the apiserver's and kubelet's share of it;
//  - stdin → `cat` → stdout through one session: 8 MiB in 32 KiB messages.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import WebSocket from 'ws';
import { down, up } from '../src/cli/cluster-commands.js';
import { kubeconfigPath } from '../src/cluster/kubeconfig.js';
import { clusterPaths } from '../src/cluster/paths.js';
import { findRealKubectl } from '../test/kubectl/harness.js';
import { firstPod } from './demo-cluster.js';

const json = process.argv.includes('--json');
const KUBECTL_ROUNDS = 30;
const SESSION_ROUNDS = 300;
const WARMUP = 5;
const STREAM_BYTES = 8 * 1024 * 1024;
const CHUNK = 32 * 1024;

function report(metric: string, value: number, unit: string, human: string): void {
  if (json) console.log(JSON.stringify({ bench: 'exec', metric, value: Number(value.toFixed(2)), unit }));
  else console.log(human);
}

function stats(times: number[]): { median: number; p99: number } {
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

const home = mkdtempSync(join(tmpdir(), 'podpath-exec-bench-'));
const scratch = mkdtempSync(join(tmpdir(), 'podpath-exec-bench-home-'));
process.env['PODPATH_HOME'] = home;
const name = 'execbench';
try {
  await up({ name, demo: true }, () => undefined);
  const paths = clusterPaths(name, home);
  const pod = await firstPod(name, 'demo', 'frontend');
  const config = parse(readFileSync(kubeconfigPath(paths), 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const api = { server: config.clusters[0]!.cluster.server, token: config.users[0]!.user.token, ca: Buffer.from(config.clusters[0]!.cluster['certificate-authority-data'], 'base64') };
  if (!json) console.log(`kubectl exec (${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}):`);

  const real = findRealKubectl();
  if ('path' in real) {
    const times: number[] = [];
    for (let i = 0; i < KUBECTL_ROUNDS + WARMUP; i++) {
      const t0 = performance.now();
      const r = spawnSync(real.path, ['exec', '-n', 'demo', pod, '--', 'hostname'], {
        encoding: 'utf8',
        env: { ...process.env, KUBECONFIG: kubeconfigPath(paths), HOME: scratch, KUBECACHEDIR: join(scratch, 'cache') },
      });
      if (r.status !== 0 || r.stdout !== `${pod}\n`) throw new Error(`kubectl exec failed: ${r.stderr}`);
      if (i >= WARMUP) times.push(performance.now() - t0);
    }
    const s = stats(times);
    report('kubectl_exec_median', s.median, 'ms', `  real kubectl exec -- hostname: median ${s.median.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms (${KUBECTL_ROUNDS} runs)`);
  } else if (!json) {
    console.log(`  real kubectl exec: skipped (${real.missing})`);
  }

  const path = `/api/v1/namespaces/demo/pods/${pod}/exec?command=hostname&stdout=true&stderr=true`;
  const times: number[] = [];
  for (let i = 0; i < SESSION_ROUNDS + WARMUP; i++) {
    const t0 = performance.now();
    const out = await session(api, path, []);
    if (out !== `${pod}\n`) throw new Error(`unexpected output ${JSON.stringify(out)}`);
    if (i >= WARMUP) times.push(performance.now() - t0);
  }
  const s = stats(times);
  report('session_median', s.median, 'ms', `  one exec session (WebSocket client in process): median ${s.median.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms (${SESSION_ROUNDS} sessions)`);

  const chunks: Buffer[] = [];
  for (let off = 0; off < STREAM_BYTES; off += CHUNK) chunks.push(Buffer.concat([Buffer.of(0), Buffer.alloc(CHUNK, 0x61 + ((off / CHUNK) % 26))]));
  chunks.push(Buffer.of(255, 0));
  const t0 = performance.now();
  const echoed = await session(api, `/api/v1/namespaces/demo/pods/${pod}/exec?command=cat&stdin=true&stdout=true&stderr=true`, chunks);
  const seconds = (performance.now() - t0) / 1000;
  if (echoed.length !== STREAM_BYTES) throw new Error(`cat echoed ${echoed.length} of ${STREAM_BYTES} bytes`);
  const mibs = STREAM_BYTES / (1024 * 1024) / seconds;
  report('stdin_cat_stdout_throughput', mibs, 'MiB/s', `  stdin → cat → stdout, 8 MiB in 32 KiB messages: ${mibs.toFixed(1)} MiB/s`);
} finally {
  await down({ name }, () => undefined).catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}

/** One exec session: sends `stdin` messages as given, resolves to stdout once the server has closed (after the Status). */
function session(api: { server: string; token: string; ca: Buffer }, path: string, stdin: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(api.server.replace(/^https:/, 'wss:') + path, ['v5.channel.k8s.io'], { ca: api.ca, headers: { Authorization: `Bearer ${api.token}` } });
    const out: Buffer[] = [];
    let status = '';
    ws.on('open', () => {
      for (const m of stdin) ws.send(m);
    });
    ws.on('message', (data: Buffer) => {
      if (data[0] === 1) out.push(data.subarray(1));
      else if (data[0] === 3) status += data.subarray(1).toString('utf8');
    });
    ws.on('close', () => {
      if (!status.includes('"Success"')) reject(new Error(`exec ended with ${status || 'no Status'}`));
      else resolve(Buffer.concat(out).toString('latin1'));
    });
    ws.on('error', reject);
  });
}

