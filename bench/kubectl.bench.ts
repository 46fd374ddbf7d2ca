// `kubectl get pods -A` on a 10,000-pod cluster (100 nodes, one Deployment, as
// cluster.bench.ts builds it), with the real kubectl (HTTPS, bearer token,
// the kubeconfig a daemon writes) and with podpath's own kubectl (a process,
// over the private socket). Each run is a fresh process, as a person typing
// the command gets; the figure is the median wall time of a few runs, output
// collected and its lines counted. Target: under 2 s.
// Usage: node dist/bench/kubectl.bench.js [--json] [--nodes N] [--pods N] [--runs N]

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClusterRuntime } from '../src/cluster/runtime.js';
import { ensureCredentials, writeKubeconfig } from '../src/cluster/kubeconfig.js';
import { clusterPaths } from '../src/cluster/paths.js';
import { lookupResource } from '../src/k8s/resources.js';
import { findRealKubectl } from '../test/kubectl/harness.js';
import { createScaleDeployment } from './scale-deployment.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, nodes: { type: 'string', default: '100' }, pods: { type: 'string', default: '10000' }, runs: { type: 'string', default: '5' } } });
const json = values.json;
const nodes = Number(values.nodes);
const pods = Number(values.pods);
const runs = Number(values.runs);

function report(metric: string, value: number, unit: string, human: string): void {
  if (json) console.log(JSON.stringify({ bench: 'kubectl', metric, value: Number(value.toFixed(3)), unit }));
  else if (human) console.log(human);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

/**
 * Run a command to completion without blocking this process's event loop (the
 * apiserver lives here). cpuMs: this process's CPU time meanwhile, i.e. the
 * apiserver's share (answering, TLS), which other jobs on the machine inflate less than wall time.
 */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; cpuMs: number; lines: number }> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 256 * 2 ** 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve({ ms: performance.now() - t0, cpuMs: cpuMs(process.cpuUsage(cpu0)), lines: stdout.split('\n').length - 1 });
    });
  });
}

const home = mkdtempSync(join(tmpdir(), 'podpath-bench-kubectl-'));
const paths = clusterPaths('bench', home);
mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
const rt = await ClusterRuntime.create({ config: { workers: nodes - 1 } });
try {
  createScaleDeployment(rt, pods);
  const total = rt.cache.list(lookupResource('pods')!).length;

  await rt.apiServer.listen(paths.socket);
  const creds = ensureCredentials(paths);
  const port = await rt.apiServer.listenTcp(0, creds.token, { tls: { key: creds.key, cert: creds.cert } });
  const kubeconfig = writeKubeconfig(paths, port, creds);

  if (!json) console.log(`kubectl get pods -A on ${total} pods, ${nodes} nodes (${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}), median of ${runs} runs`);
  const figures: [string, string, string[], NodeJS.ProcessEnv][] = [];
  const real = findRealKubectl();
  if ('path' in real) figures.push(['real_get_pods_all', real.path, ['get', 'pods', '-A'], { ...process.env, KUBECONFIG: kubeconfig, HOME: home, KUBECACHEDIR: join(home, 'cache') }]);
  else if (json) console.log(JSON.stringify({ bench: 'kubectl', skip: 'real_get_pods_all', reason: real.missing }));
  else console.log(`  real kubectl: skipped (${real.missing})`);
  figures.push(['podpath_get_pods_all', process.execPath, [join(process.cwd(), 'bin', 'podpath.js'), 'kubectl', 'get', 'pods', '-A'], { ...process.env, PODPATH_HOME: home, PODPATH_CLUSTER: 'bench' }]);

  for (const [metric, file, args, env] of figures) {
    await run(file, args, env); // warm-up: discovery cache, page cache
    const times: number[] = [];
    const cpu: number[] = [];
    let lines = 0;
    for (let i = 0; i < runs; i++) {
      const x = await run(file, args, env);
      times.push(x.ms);
      cpu.push(x.cpuMs);
      lines = x.lines;
    }
    if (lines !== total + 1) throw new Error(`${metric}: ${lines} lines for ${total} pods`);
    const label = metric.startsWith('real') ? 'real kubectl   ' : "podpath kubectl";
    report(metric, median(times) / 1000, 's', `  ${label}: ${(median(times) / 1000).toFixed(2)} s median (min ${(Math.min(...times) / 1000).toFixed(2)}, max ${(Math.max(...times) / 1000).toFixed(2)}; target < 2 s), apiserver CPU ${median(cpu).toFixed(0)} ms`);
    report(`${metric}_apiserver_cpu`, median(cpu), 'ms', '');
  }
} finally {
  await rt.apiServer.close();
  await rt.close();
  rmSync(home, { recursive: true, force: true });
}
