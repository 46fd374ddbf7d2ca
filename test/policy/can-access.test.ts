// policy_can_access() decides with one lookupPair() pass over the endpoint's
// policy map (an LPM trie); any other KeyValueMap gets the kernel's two plain
// lookups. Both must give the same decision, deciding entry and counters, on
// small maps (scanned) and large ones (hash probes per prefix length).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LpmTrieMap } from '../../src/bpf/lpm.js';
import type { KeyValueMap } from '../../src/bpf/types.js';
import { policyMapSpec } from '../../src/datapath/maps.js';
import { deletePolicyEntry, putPolicyEntry, type PolicyEntrySpec } from '../../src/datapath/map-writer.js';
import { PolicyResult, policyCanAccess } from '../../src/datapath/sim/lib/policy.js';
import { Rng } from '../../src/util/rng.js';

/** The same map behind the plain KeyValueMap interface only (not an LpmTrieMap instance). */
function plainView(m: LpmTrieMap): KeyValueMap {
  return {
    spec: m.spec,
    get values() {
      return m.values;
    },
    get view() {
      return m.view;
    },
    get count() {
      return m.count;
    },
    lookup: (key, keyOff) => m.lookup(key, keyOff),
    update: (key, value, flags, keyOff, valueOff) => m.update(key, value, flags, keyOff, valueOff),
    reserve: (key, flags, keyOff) => m.reserve(key, flags, keyOff),
    delete: (key, keyOff) => m.delete(key, keyOff),
    clear: () => m.clear(),
    forEach: (cb) => m.forEach(cb),
    clone: () => plainView(m.clone()),
  };
}

const IDENTITIES = [0, 1, 2, 1001, 1002, 16777217];
const PORTS = [0, 53, 80, 443, 8080];

function randomEntry(rng: Rng): PolicyEntrySpec {
  const proto = [0, 6, 17][rng.below(3)]!;
  const port = proto === 0 ? 0 : PORTS[rng.below(PORTS.length)]!;
  return {
    identity: IDENTITIES[rng.below(IDENTITIES.length)]!,
    egress: rng.below(2) === 1,
    proto,
    port,
    portWildcardBits: port !== 0 && rng.below(4) === 0 ? rng.below(9) : 0,
    deny: rng.below(5) === 0,
    proxyPort: rng.below(6) === 0 ? 15001 : 0,
    cookie: rng.below(1000),
  };
}

function run(seed: number, maxEntries: number, ops: number): LpmTrieMap {
  const rng = new Rng(seed);
  const fast = new LpmTrieMap(policyMapSpec(7, maxEntries));
  const plain = new LpmTrieMap(policyMapSpec(7, maxEntries));
  const viaPlain = plainView(plain);
  const a = new PolicyResult();
  const b = new PolicyResult();
  let decided = 0;
  for (let op = 0; op < ops; op++) {
    const kind = rng.below(6);
    if (kind === 0) {
      const e = randomEntry(rng);
      assert.equal(putPolicyEntry(fast, e), putPolicyEntry(plain, e));
    } else if (kind === 1) {
      const e = randomEntry(rng);
      assert.equal(deletePolicyEntry(fast, e), deletePolicyEntry(plain, e));
    } else {
      const id = IDENTITIES[rng.below(IDENTITIES.length)]!;
      const egress = rng.below(2) === 1;
      const proto = [6, 17, 1][rng.below(3)]!;
      const port = proto === 1 ? 0 : PORTS[rng.below(PORTS.length)]! + rng.below(3);
      const bytes = 40 + rng.below(1500);
      const got = policyCanAccess(fast, id, egress, proto, port, bytes, a);
      assert.equal(got, policyCanAccess(viaPlain, id, egress, proto, port, bytes, b), `op ${op}`);
      assert.deepEqual({ ...a }, { ...b }, `op ${op}`);
      if (a.entryOff >= 0) decided++;
    }
  }
  // Same entries, same per-entry packet and byte counters.
  assert.deepEqual(fast.values.subarray(0, fast.pool.highWater * 32), plain.values.subarray(0, plain.pool.highWater * 32));
  assert.ok(decided > ops / 10, `queries an entry decided: ${decided}`);
  return fast;
}

test('policy_can_access: one lookupPair pass decides as two lookups do (few entries: the map scans)', () => {
  const m = run(0xca11, 10, 5000);
  assert.ok(m.pool.highWater <= 16);
});

test('policy_can_access: one lookupPair pass decides as two lookups do (many entries: hash probes, growth, deletes)', () => {
  const m = run(0xca12, 400, 8000);
  assert.ok(m.pool.highWater > 16);
});

test('policy_can_access: u64 packet and byte counters carry into their high words, and a cookie ≥ 2^31 reads unsigned, on both paths', () => {
  const fast = new LpmTrieMap(policyMapSpec(7, 4));
  const plain = new LpmTrieMap(policyMapSpec(7, 4));
  const entry: PolicyEntrySpec = { identity: 1001, egress: false, proto: 6, port: 80, cookie: 1 };
  putPolicyEntry(fast, entry);
  putPolicyEntry(plain, entry);
  for (const m of [fast, plain]) {
    const v = m.view;
    v.setUint32(8, 0x9000_0001, true); // cookie
    v.setUint32(16, 0xffff_ffff, true); // packets: low word about to wrap
    v.setUint32(20, 7, true);
    v.setUint32(24, 0xffff_ff00, true); // bytes: low word about to wrap
    v.setUint32(28, 0xffff_ffff, true); // and the high word too
  }
  const a = new PolicyResult();
  const b = new PolicyResult();
  for (let i = 0; i < 3; i++) {
    assert.equal(policyCanAccess(fast, 1001, false, 6, 80, 0x1ff, a), policyCanAccess(plainView(plain), 1001, false, 6, 80, 0x1ff, b));
    assert.deepEqual({ ...a }, { ...b });
  }
  assert.equal(a.cookie, 0x9000_0001);
  const v = fast.view;
  assert.deepEqual([v.getUint32(16, true), v.getUint32(20, true)], [2, 8]);
  assert.deepEqual([v.getUint32(24, true), v.getUint32(28, true)], [0xffff_ff00 + 3 * 0x1ff - 2 ** 32, 0]);
  assert.deepEqual(fast.values.subarray(0, 32), plain.values.subarray(0, 32));
});
