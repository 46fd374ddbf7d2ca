// Hubble throughput:
//  (a) ring ingest: parsed flows pushed into the 4,095-entry flow ring;
//  (b) datapath → flow: real cilium_events records (trace, policy-verdict)
//      decoded, parsed and enriched into the ring, as the observer drains them;
//  (c) JSON output: flows serialised as `hubble observe -o json` lines
//      (500,000 lines: 25 passes over 20,000 parsed flows);
//  (d) history: 1,000,000 flows in SQLite (two hours, 1% dropped), then a
//      filtered `--since 1h` query (--verdict DROPPED --to-namespace demo)
//      answered through the observer (ring first, history for the rest);
//  (e) Observer API: GetFlows over gRPC on a unix socket, the whole 65,535-flow
//      ring of one node through the relay, decoded by a client.
// Usage: node dist/bench/hubble.bench.js [--json]

import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { World } from '../src/cluster/testbed.js';
import { buildTcpFrame } from '../src/packet/build.js';
import { TcpFlags } from '../src/packet/tcp.js';
import { IpProto } from '../src/packet/ipv4.js';
import { PolicyDir } from '../src/datapath/events.js';
import { putPolicyEntry } from '../src/datapath/map-writer.js';
import { EventRing } from '../src/bpf/ringbuf.js';
import { FlowRing, NodeObserver } from '../src/hubble/observer.js';
import { FlowParser, type Enricher } from '../src/hubble/parser.js';
import { FlowHistory } from '../src/hubble/history.js';
import { compileFilters, ObserveFilterBuilder } from '../src/hubble/filter.js';
import { flowResponseJson, timeFromMillis, type Flow } from '../src/hubble/flow.js';
import { Rng } from '../src/util/rng.js';
import * as grpc from '@grpc/grpc-js';
import { Relay, type ObserverSet } from '../src/hubble/relay.js';
import { HubbleGrpcServer, OBSERVER_DEFINITION } from '../src/hubble/grpc/server.js';
import { T } from '../src/hubble/grpc/schema.js';

const json = process.argv.includes('--json');

function report(metric: string, value: number, unit: string, human: string): void {
  if (json) console.log(JSON.stringify({ bench: 'hubble', metric, value: Number(value.toFixed(2)), unit }));
  else console.log(human);
}

const T0 = Date.UTC(2026, 0, 1);

/** An enricher answering from small maps, as the cluster's does after its indexes are built. */
function enricher(node: string): Enricher {
  const eps = new Map<number, { id: number; identity: number; namespace: string; podName: string; labels: string[] }>([
    [0x0a000132, { id: 1811, identity: 12345, namespace: 'demo', podName: 'frontend-7d9c8b6f4-x2k9p', labels: ['k8s:app=frontend', 'k8s:io.kubernetes.pod.namespace=demo'] }],
    [0x0a000264, { id: 2495, identity: 23456, namespace: 'demo', podName: 'backend-5f6c7d8b9-qwz7l', labels: ['k8s:app=backend', 'k8s:io.kubernetes.pod.namespace=demo'] }],
  ]);
  const labels = new Map<number, string[]>([...eps.values()].map((e) => [e.identity, e.labels]));
  const nodeLabels = ['kubernetes.io/hostname=' + node, 'kubernetes.io/os=linux'];
  const workloads = [{ name: 'frontend', kind: 'Deployment' }];
  return {
    nodeName: node,
    nodeLabels: () => nodeLabels,
    localEndpoint: (ip) => eps.get(ip),
    ipInfo: (ip) => {
      const e = eps.get(ip);
      return e ? { identity: e.identity, namespace: e.namespace, podName: e.podName } : { identity: 2 };
    },
    identityLabels: (id) => labels.get(id) ?? (id === 2 ? ['reserved:world'] : undefined),
    workloads: () => workloads,
    serviceByAddr: () => undefined,
    dnsNames: () => undefined,
    podByCgroup: () => undefined,
    ifName: () => 'lxc3d9a1f0c2b7e',
    version: () => 1,
  };
}

/** Real event records: new connections across two nodes with ingress policy (trace + policy-verdict events). */
function captureRecords(n: number): Uint8Array[] {
  const w = new World({ immediate: true, podReceive: () => {} });
  const client = w.addPod('frontend', 0, '10.0.1.50', 12345);
  const server = w.addPod('backend', 1, '10.0.2.100', 23456, { enforce: PolicyDir.INGRESS });
  putPolicyEntry(server.policyMap, { identity: 12345, egress: false, proto: IpProto.TCP, port: 8080, cookie: 1 });
  const out: Uint8Array[] = [];
  const k = w.nodes[0]!.kernel;
  for (let i = 0; out.length < n; i++) {
    const f = buildTcpFrame({ srcMac: client.ep.mac, dstMac: client.ep.hostMac, srcIp: client.ip, dstIp: server.ip, srcPort: 10000 + (i % 50000), dstPort: 8080, seq: i, flags: TcpFlags.SYN });
    k.runIngress(client.ep.ifindex, f);
    for (const node of w.nodes) node.dp.events.consume((d, o, l) => out.push(d.slice(o, o + l)));
    if (i % 50000 === 49999) for (const node of w.nodes) node.dp.ct4.clear();
  }
  return out.slice(0, n);
}

function observer(ring: EventRing, opts: { history?: FlowHistory } = {}): NodeObserver {
  return new NodeObserver({
    node: 'kind-worker',
    events: ring,
    parser: new FlowParser({ enricher: enricher('kind-worker'), rng: new Rng(7), wallOffsetMs: () => T0 }),
    ...(opts.history ? { history: opts.history } : {}),
    monoNow: () => 0,
    wallNow: () => T0 + 2 * 3600_000,
  });
}

function benchParse(records: Uint8Array[], rounds: number): { perSec: number; flows: Flow[] } {
  const ring = new EventRing(1 << 20);
  const obs = observer(ring);
  const flows: Flow[] = [];
  let n = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      ring.output(rec, 0, rec.length);
      if ((i & 1023) === 1023) {
        const got = obs.drain();
        n += got.length;
        if (r === 0 && flows.length < 20_000) flows.push(...got);
      }
    }
    n += obs.drain().length;
  }
  return { perSec: n / ((performance.now() - t0) / 1000), flows };
}

function benchRing(flows: Flow[], total: number): number {
  const ring = new FlowRing(4095);
  const t0 = performance.now();
  for (let i = 0; i < total; i++) ring.push(flows[i % flows.length]!);
  return total / ((performance.now() - t0) / 1000);
}

/** `passes` × the flows through the JSON printer (the ring holds 4,095 flows; 20,000 distinct ones are plenty). */
function benchJson(flows: Flow[], passes: number): { perSec: number; bytes: number } {
  let bytes = 0;
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) for (const f of flows) bytes += flowResponseJson(f).length + 1;
  return { perSec: (passes * flows.length) / ((performance.now() - t0) / 1000), bytes: bytes / passes };
}

function benchHistory(base: Flow[], rows: number): { insertPerSec: number; queryMs: number; matches: number; sqlRows: number } {
  const dir = mkdtempSync(join(tmpdir(), 'hubble-bench-'));
  const history = new FlowHistory({ path: join(dir, 'flows.db'), maxRows: rows * 2, maxAgeMs: 48 * 3600_000, now: () => T0 + 2 * 3600_000 });
  const span = 2 * 3600_000;
  const mk = (i: number): Flow => {
    const b = base[i % base.length]!;
    const dropped = i % 100 === 0;
    return { ...b, time: timeFromMillis(T0 + (i * span) / rows), verdict: dropped ? 2 : b.verdict, ...(dropped ? { drop_reason: 133, drop_reason_desc: 133 } : {}) };
  };
  const inRing = 4095;
  const t0 = performance.now();
  const batch: { seq: number; flow: Flow }[] = [];
  for (let i = 0; i < rows - inRing; i++) {
    batch.push({ seq: i, flow: mk(i) });
    if (batch.length === 20_000) {
      history.append('kind-worker', batch);
      batch.length = 0;
    }
  }
  if (batch.length) history.append('kind-worker', batch);
  // The observer (re)starts after what history holds; the newest 4,095 flows go through its ring (and history).
  const obs = observer(new EventRing(4096), { history });
  for (let i = rows - inRing; i < rows; i++) obs.ingest(mk(i));
  const insertMs = performance.now() - t0;
  // hubble observe --since 1h --verdict DROPPED --to-namespace demo
  const b = new ObserveFilterBuilder();
  b.set('verdict', 'DROPPED');
  b.set('to-namespace', 'demo');
  const { whitelist, blacklist } = b.finish();
  const q0 = performance.now();
  const r = obs.read({ since: timeFromMillis(T0 + 3600_000), whitelist, blacklist }, compileFilters(whitelist, blacklist));
  const queryMs = performance.now() - q0;
  const sqlRows = history.size;
  history.close();
  rmSync(dir, { recursive: true, force: true });
  return { insertPerSec: rows / (insertMs / 1000), queryMs, matches: r.flows.length, sqlRows };
}

/** GetFlows over gRPC (unix socket): a 65,535-flow ring through the relay, streamed to a client that decodes each response. */
async function benchGrpc(base: Flow[], passes: number): Promise<{ perSec: number; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'hubble-grpc-bench-'));
  const obs = new NodeObserver({ node: 'kind-worker', events: new EventRing(4096), parser: new FlowParser({ enricher: enricher('kind-worker'), rng: new Rng(7), wallOffsetMs: () => T0 }), capacity: 65535, monoNow: () => 0, wallNow: () => T0 + 3600_000 });
  for (let i = 0; i < 65535; i++) obs.ingest({ ...base[i % base.length]!, time: timeFromMillis(T0 + i) });
  const set: ObserverSet = { observers: [obs], drainAll: () => {}, subscribe: () => () => {} };
  const server = new HubbleGrpcServer({ backend: new Relay(set, { address: 'bench' }), clusterName: 'default', now: () => T0 + 3600_000 });
  const address = await server.listenUnix(join(dir, 'hubble.sock'));
  const Client = grpc.makeGenericClientConstructor(
    { GetFlows: { ...OBSERVER_DEFINITION.GetFlows, requestSerialize: (r: object) => Buffer.from(T.GetFlowsRequest.encode(r).finish()), responseDeserialize: (b: Buffer) => ({ size: b.length, msg: T.GetFlowsResponse.decode(b) }) } },
    'Observer',
  );
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as { GetFlows(r: object): grpc.ClientReadableStream<{ size: number; msg: { flow?: unknown } }>; close(): void };
  const once = (): Promise<{ flows: number; bytes: number }> =>
    new Promise((resolve, reject) => {
      let flows = 0;
      let bytes = 0;
      const s = client.GetFlows({ number: 65535 });
      s.on('data', (d) => {
        if (d.msg.flow) {
          flows++;
          bytes += d.size;
        }
      });
      s.on('error', reject);
      s.on('end', () => resolve({ flows, bytes }));
    });
  await once(); // warm-up
  let flows = 0;
  let bytes = 0;
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) {
    const r = await once();
    flows += r.flows;
    bytes += r.bytes;
  }
  const perSec = flows / ((performance.now() - t0) / 1000);
  client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  return { perSec, bytes: bytes / flows };
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`;
if (!json) console.log(`hubble benchmark (${machine})`);

const records = captureRecords(100_000);
benchParse(records.slice(0, 20_000), 1); // warm-up
const parsed = benchParse(records, 5);
const flows = parsed.flows;
benchRing(flows, 1_000_000);
const ringRate = benchRing(flows, 10_000_000);
benchJson(flows, 2);
const js = benchJson(flows, 25);
const hist = benchHistory(flows, 1_000_000);
const rpc = await benchGrpc(flows, 5);

report('ring_ingest', ringRate, 'flows/s', `ring ingest (parsed flows into the 4,095-entry ring): ${(ringRate / 1e6).toFixed(1)} M flows/s`);
report('events_to_flows', parsed.perSec, 'events/s', `datapath events → flows (decode, parse, enrich, ring): ${(parsed.perSec / 1e3).toFixed(0)} k events/s`);
report('json_output', js.perSec, 'flows/s', `JSON output (-o json lines, ${(js.bytes / flows.length).toFixed(0)} bytes each): ${(js.perSec / 1e3).toFixed(0)} k flows/s`);
report('history_insert', hist.insertPerSec, 'rows/s', `history insert (SQLite, batches of 20,000): ${(hist.insertPerSec / 1e3).toFixed(0)} k rows/s`);
report('history_since_query', hist.queryMs, 'ms', `--since 1h --verdict DROPPED --to-namespace demo over ${hist.sqlRows.toLocaleString('en-US')} history rows + the ring: ${hist.queryMs.toFixed(0)} ms, ${hist.matches} flows`);
report('grpc_getflows', rpc.perSec, 'flows/s', `GetFlows over gRPC (unix socket, relay, ${rpc.bytes.toFixed(0)}-byte messages, decoded by the client): ${(rpc.perSec / 1e3).toFixed(0)} k flows/s`);
