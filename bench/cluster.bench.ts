// A large cluster comes up: 100 nodes (1 control plane + 99 workers) and
// 10,000 pods from one Deployment, every pod with its endpoint, identity,
// IP, CiliumEndpoint, and ipcache entries on every node. Prints the time to
// ready and the memory used. Usage: node dist/bench/cluster.bench.js [--json] [--nodes N] [--pods N] [--small-maps] [--db FILE]
// --db keeps the objects in a SQLite file, as the daemon does (default: in memory).
// --small-maps shrinks the per-node BPF maps (CT, NAT, LB, lxc, policy) to what the run needs, as Cilium's
// dynamic map sizing does on a small machine, so the figures show the control plane's cost.

import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { ClusterRuntime } from '../src/cluster/runtime.js';
import { createScaleDeployment } from './scale-deployment.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, nodes: { type: 'string', default: '100' }, pods: { type: 'string', default: '10000' }, 'small-maps': { type: 'boolean', default: false }, db: { type: 'string' } } });
const json = values.json;
const nodes = Number(values.nodes);
const pods = Number(values.pods);

function report(metric: string, value: number, unit: string, human: string): void {
  if (json) console.log(JSON.stringify({ bench: 'cluster', metric, value: Number(value.toFixed(2)), unit }));
  else console.log(human);
}

const mem0 = process.memoryUsage();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const small = values['small-maps'];
const rt = await ClusterRuntime.create({
  config: { workers: nodes - 1 },
  ...(values.db ? { dbPath: values.db } : {}),
  ...(small
    ? { mapSizes: { ctTcp: 4096, ctAny: 4096, lb: 4096, nat: 4096, lxc: 1024, ipcache: Math.max(16384, Math.ceil((pods + 3 * nodes) * 1.25)) }, policyMapMax: 1024 }
    : {}),
});
const tNodes = performance.now();
createScaleDeployment(rt, pods);
const tReady = performance.now();
const cpu = process.cpuUsage(cpu0);
const running = rt.podsWithLabel('default', 'app', 'scale').filter((p) => (p['status'] as { phase?: string } | undefined)?.phase === 'Running').length;
global.gc?.();
const mem = process.memoryUsage();
const ipcacheEntries = rt.nodes.reduce((n, x) => n + x.dp.ipcache.count, 0);

if (!json) console.log(`cluster bring-up (${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}${small ? ', small maps' : ''})`);
report('nodes_ready', (tNodes - t0) / 1000, 's', `  ${nodes} nodes ready:            ${((tNodes - t0) / 1000).toFixed(2)} s`);
report('pods_ready', (tReady - t0) / 1000, 's', `  ${running}/${pods} pods Running:    ${((tReady - t0) / 1000).toFixed(2)} s total (target < 10 s)`);
report('cpu', (cpu.user + cpu.system) / 1e6, 's', `  CPU time:                   ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (user+sys, GC threads included; wall time above counts what other jobs take from us)`);
report('rss', mem.rss / 2 ** 20, 'MiB', `  memory: rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB (+${((mem.heapUsed - mem0.heapUsed) / 2 ** 20).toFixed(0)}), external ${(mem.external / 2 ** 20).toFixed(0)} MiB (target < 1.5 GB)`);
report('heap_used', mem.heapUsed / 2 ** 20, 'MiB', '');
report('ipcache_entries', ipcacheEntries, 'entries', `  ipcache entries over all nodes: ${ipcacheEntries}`);
await rt.close();
