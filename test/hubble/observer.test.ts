// The observer's ring and GetFlows reading rules (--last, --first, --since,
// --until, --since with --last, follow), history past the ring and its
// retention notice, and the relay's per-node fan-out merged in time order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventRing } from '../../src/bpf/ringbuf.js';
import { FlowHistory } from '../../src/hubble/history.js';
import { FlowRing, NodeObserver, type GetFlowsRequest } from '../../src/hubble/observer.js';
import { FlowParser, type Enricher } from '../../src/hubble/parser.js';
import { Relay, type ObserverSet } from '../../src/hubble/relay.js';
import { compileFilters } from '../../src/hubble/filter.js';
import { timeFromMillis, type Flow } from '../../src/hubble/flow.js';
import { Rng } from '../../src/util/rng.js';

const T0 = Date.UTC(2026, 0, 1);

function stubEnricher(node: string): Enricher {
  return {
    nodeName: node,
    nodeLabels: () => [],
    localEndpoint: () => undefined,
    ipInfo: () => undefined,
    identityLabels: () => undefined,
    workloads: () => undefined,
    serviceByAddr: () => undefined,
    dnsNames: () => undefined,
    podByCgroup: () => undefined,
    ifName: () => undefined,
  };
}

function observer(node: string, opts: { capacity?: number; history?: FlowHistory } = {}): NodeObserver {
  return new NodeObserver({
    node,
    events: new EventRing(4096),
    parser: new FlowParser({ enricher: stubEnricher(node), rng: new Rng(1), wallOffsetMs: () => T0 }),
    ...(opts.capacity ? { capacity: opts.capacity } : {}),
    ...(opts.history ? { history: opts.history } : {}),
    monoNow: () => 0,
    wallNow: () => T0,
  });
}

/** Flow i at T0 + i seconds; even ones DROPPED. */
function mk(node: string, i: number, offsetMs = 0): Flow {
  return { time: timeFromMillis(T0 + i * 1000 + offsetMs), uuid: `${node}-${i}`, verdict: i % 2 ? 1 : 2, Type: 1, node_name: node, Summary: String(i) };
}

const all = (): boolean => true;
const names = (fs: readonly Flow[]): string[] => fs.map((f) => f.Summary ?? '');
const read = (o: NodeObserver, req: GetFlowsRequest): string[] => names(o.read(req, compileFilters(req.whitelist, req.blacklist)).flows);

test('the flow ring holds 2^n−1 flows, overwrites the oldest, and refuses other capacities', () => {
  assert.throws(() => new FlowRing(4096), /one less than a power of 2/);
  const r = new FlowRing(7);
  for (let i = 0; i < 10; i++) r.push(mk('n', i));
  assert.equal(r.size, 7);
  assert.equal(r.oldestSeq, 3);
  assert.equal(r.at(3)?.Summary, '3');
  assert.equal(r.at(2), undefined);
  assert.equal(new FlowRing().capacity, 4095);
});

test('reading the ring: --last counts matching flows, --first reads forward, --since rewinds to a time, --since with --last gives the first N after it', () => {
  const o = observer('n1');
  for (let i = 0; i < 10; i++) o.ingest(mk('n1', i));
  const dropped: GetFlowsRequest = { number: 3, whitelist: [{ verdict: ['DROPPED'] }] };
  assert.deepEqual(read(o, dropped), ['4', '6', '8'], 'last 3 matching, oldest first');
  assert.deepEqual(read(o, { number: 3, first: true }), ['0', '1', '2']);
  assert.deepEqual(read(o, { first: true, number: 2, whitelist: [{ verdict: ['FORWARDED'] }] }), ['1', '3']);
  assert.deepEqual(read(o, { since: timeFromMillis(T0 + 6500) }), ['7', '8', '9']);
  assert.deepEqual(read(o, { since: timeFromMillis(T0 + 2000), number: 2 }), ['2', '3'], '--since X --last N: the first N after X');
  assert.deepEqual(read(o, { since: timeFromMillis(T0 + 2000), until: timeFromMillis(T0 + 4000) }), ['2', '3', '4']);
  assert.deepEqual(read(o, { number: 3, until: timeFromMillis(T0 + 8000) }), ['7', '8'], 'rewind counts from the newest; reading stops after until');
  assert.deepEqual(read(o, { follow: true }), [], 'follow without number or since: only new flows');
  assert.deepEqual(read(o, { follow: true, number: 2 }), ['8', '9']);
  assert.deepEqual(read(o, { number: Infinity }).length, 10, '--all');
  assert.deepEqual(read(o, { number: 5, blacklist: [{ verdict: ['DROPPED'] }] }), ['1', '3', '5', '7', '9']);
});

test('history continues the ring: --last and --since reach flows the ring dropped; retention says what is no longer kept', () => {
  let now = T0 + 100_000;
  const history = new FlowHistory({ maxRows: 60, now: () => now });
  const o = observer('n1', { capacity: 7, history });
  for (let i = 0; i < 50; i++) o.ingest(mk('n1', i));
  assert.equal(o.ring.size, 7);
  assert.deepEqual(read(o, { number: 10 }), ['40', '41', '42', '43', '44', '45', '46', '47', '48', '49']);
  assert.deepEqual(read(o, { since: timeFromMillis(T0 + 5000), number: 3 }), ['5', '6', '7']);
  assert.deepEqual(read(o, { first: true, number: 2, whitelist: [{ verdict: ['FORWARDED'] }] }), ['1', '3']);
  assert.deepEqual(read(o, { number: 4, whitelist: [{ verdict: ['DROPPED'] }] }), ['42', '44', '46', '48']);
  assert.equal(read(o, { since: timeFromMillis(T0) }).length, 50);
  assert.equal(o.read({ since: timeFromMillis(T0) }, all).notices.length, 0, 'nothing removed yet: no notice');

  // Retention by count: 60 rows at most.
  for (let i = 50; i < 80; i++) o.ingest(mk('n1', i));
  history.prune();
  assert.equal(history.size, 60);
  const r = o.read({ since: timeFromMillis(T0) }, all);
  assert.deepEqual(names(r.flows).slice(0, 2), ['20', '21']);
  assert.equal(r.notices.length, 1);
  assert.match(r.notices[0]!, /^n1: flows before 2026-01-01T00:00:19Z are no longer kept \(history retention: 60 flows, 1440m\)/);

  // Retention by age (default 24 h).
  now = T0 + 25 * 3600_000;
  history.prune();
  assert.equal(history.size, 0);
  assert.equal(read(o, { first: true, number: 100 }).length, 7, 'the ring still holds its 7');
  history.close();
});

test('a restarted observer continues the sequence after what history holds', () => {
  const history = new FlowHistory({ now: () => T0 });
  const a = observer('n1', { capacity: 3, history });
  for (let i = 0; i < 5; i++) a.ingest(mk('n1', i));
  const b = observer('n1', { capacity: 3, history });
  assert.equal(b.ring.oldestSeq, 5);
  b.ingest(mk('n1', 5));
  assert.deepEqual(read(b, { number: 4 }), ['2', '3', '4', '5']);
  history.close();
});

test('the relay asks every node the same request (--last N per node) and merges by time; a node view sees one node', async () => {
  const n1 = observer('n1');
  const n2 = observer('n2');
  for (let i = 0; i < 5; i++) {
    n1.ingest(mk('n1', i));
    n2.ingest(mk('n2', i, 500));
  }
  const listeners = new Set<(f: readonly Flow[]) => void>();
  const set: ObserverSet = { observers: [n1, n2], drainAll: () => {}, subscribe: (_n, cb) => (listeners.add(cb), () => listeners.delete(cb)) };
  const relay = new Relay(set, { address: 'localhost:4245' });
  const got: string[] = [];
  await relay.getFlows({ number: 2 }, { flow: (f) => got.push(`${f.node_name}:${f.Summary}`) });
  assert.deepEqual(got, ['n1:3', 'n2:3', 'n1:4', 'n2:4']);
  const st = await relay.serverStatus();
  assert.equal(st.num_flows, 10);
  assert.equal(st.max_flows, 8190);
  assert.equal(st.num_connected_nodes, 2);
  const nodeView = new Relay(set, { address: 'unix:///var/run/cilium/hubble.sock', node: 'n2' });
  const one: string[] = [];
  await nodeView.getFlows({ number: 2 }, { flow: (f) => one.push(`${f.node_name}:${f.Summary}`) });
  assert.deepEqual(one, ['n2:3', 'n2:4']);
  assert.equal((await nodeView.serverStatus()).num_connected_nodes, undefined);
  await assert.rejects(nodeView.nodes(), /not implemented/i);
  await assert.rejects(relay.getFlows({ first: true, follow: true, number: 1 }, { flow: () => {} }), /first cannot be specified with follow/);
  assert.deepEqual((await relay.nodes()).map((x) => x.name), ['n1', 'n2']);
});
