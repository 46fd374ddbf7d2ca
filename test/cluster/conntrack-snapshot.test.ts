import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World, ip } from '../../src/cluster/testbed.js';
import { decodeConntrack, encodeConntrack, loadConntrack, resumeClockMs, saveConntrack } from '../../src/cluster/conntrack-snapshot.js';
import { formatCtList } from '../../src/datapath/dump.js';

function established(): World {
  const w = new World();
  const client = w.addPod('frontend', 0, '10.0.1.50', 12345);
  const server = w.addPod('backend', 1, '10.0.2.100', 23456);
  server.stack.tcpListen(8080, () => {});
  client.stack.tcpConnect(ip('10.0.2.100'), 8080);
  w.clock.advance(100);
  return w;
}

test('a snapshot restores every node’s CT entries byte for byte', () => {
  const a = established();
  const nodesA = a.nodes.map((n) => ({ name: n.dp.cfg.nodeName, dp: n.dp }));
  const before = a.nodes.map((n) => formatCtList(n.dp.ct4, n.dp.ctAny4));
  assert.match(before[0]!, /TCP OUT 10\.0\.1\.50:\d+ -> 10\.0\.2\.100:8080/);
  const bytes = encodeConntrack(nodesA, a.clock.now(), 1_000_000);

  const b = new World();
  const nodesB = b.nodes.map((n) => ({ name: n.dp.cfg.nodeName, dp: n.dp }));
  const snap = decodeConntrack(bytes, nodesB);
  assert.equal(snap.clockMs, a.clock.now());
  assert.deepEqual(b.nodes.map((n) => formatCtList(n.dp.ct4, n.dp.ctAny4)), before);
  assert.equal(snap.restored['kind-worker/cilium_ct4_global'], 1);
  assert.equal(resumeClockMs(snap, 1_000_000 + 2500), a.clock.now() + 2500);
});

test('snapshot files: atomic write, and a corrupt file is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podpath-ct-'));
  try {
    const a = established();
    const nodes = a.nodes.map((n) => ({ name: n.dp.cfg.nodeName, dp: n.dp }));
    const path = join(dir, 'conntrack.bin');
    saveConntrack(path, nodes, a.clock.now());
    const b = new World();
    const loaded = loadConntrack(path, b.nodes.map((n) => ({ name: n.dp.cfg.nodeName, dp: n.dp })));
    assert.ok(loaded);
    assert.equal(b.nodes[1]!.dp.ct4.count, 1);
    writeFileSync(path, 'garbage that is long enough to have a header');
    assert.throws(() => loadConntrack(path, nodes), /not a podpath conntrack snapshot/);
    const truncated = encodeConntrack(nodes, 0, 0).subarray(0, 40);
    assert.throws(() => decodeConntrack(truncated, nodes), /truncated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
