// The engine's maps against the datapath's own lookup: random allow/deny rule
// sets (peers by label, wildcard, entities; L3-only, ports, ANY, port 0,
// ranges) are compiled, written into a real cilium_policy LPM map, and every
// flow is decided by policy_can_access (src/datapath/sim/lib/policy.ts). The
// expected verdicts come from the reference's §9-§10 rule: a covering deny
// wins, else a covering allow, else default deny (when enforced).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMap } from '../../src/bpf/create.js';
import { policyMapSpec } from '../../src/datapath/maps.js';
import { putPolicyEntry } from '../../src/datapath/map-writer.js';
import { PolicyResult, policyCanAccess } from '../../src/datapath/sim/lib/policy.js';
import { DropReason } from '../../src/datapath/drop.js';
import { rangeBlocks } from '../../src/policy/mapstate.js';
import { PolicyEngine } from '../../src/policy/index.js';
import { Rng } from '../../src/util/rng.js';
import { cnp } from './harness.js';

const NS = 'k8s:io.kubernetes.pod.namespace=default';
const IDS: Record<number, string[]> = {
  1001: ['k8s:app=a', NS],
  1002: ['k8s:app=b', NS],
  1003: ['k8s:app=c', 'k8s:io.kubernetes.pod.namespace=other'],
};
const SUBJECT = { id: 7, namespace: 'default', podName: 'server', identity: 1000, labels: ['k8s:app=server', NS], namedPorts: [] };

type PeerKind = 'a' | 'b' | 'sameNs' | 'world' | 'host' | 'all' | 'none';
interface GenRule {
  deny: boolean;
  peer: PeerKind;
  port?: { port: string; endPort?: number; protocol: string };
}

const PEERS: PeerKind[] = ['a', 'b', 'sameNs', 'world', 'host', 'all', 'none'];
const PORTS: (GenRule['port'] | undefined)[] = [
  undefined,
  { port: '80', protocol: 'TCP' },
  { port: '80', protocol: 'ANY' },
  { port: '0', protocol: 'TCP' },
  { port: '53', protocol: 'UDP' },
  { port: '8080', endPort: 8191, protocol: 'TCP' },
  { port: '8100', endPort: 8103, protocol: 'ANY' },
];

function peerYaml(p: PeerKind): Record<string, unknown> {
  switch (p) {
    case 'a':
      return { fromEndpoints: [{ matchLabels: { app: 'a' } }] };
    case 'b':
      return { fromEndpoints: [{ matchLabels: { app: 'b' } }] };
    case 'sameNs':
      return { fromEndpoints: [{}] };
    case 'world':
      return { fromEntities: ['world'] };
    case 'host':
      return { fromEntities: ['host'] };
    case 'all':
      return { fromEntities: ['all'] };
    case 'none':
      return {};
  }
}

function peerMatches(p: PeerKind, id: number, hasPorts: boolean): boolean {
  switch (p) {
    case 'a':
      return id === 1001;
    case 'b':
      return id === 1002;
    case 'sameNs':
      return id === 1001 || id === 1002;
    case 'world':
      return id === 2;
    case 'host':
      return id === 1;
    case 'all':
      return true;
    case 'none':
      // No L3 field: with L4 every peer, without anything no peer.
      return hasPorts;
  }
}

function portMatches(r: GenRule, proto: number, port: number): boolean {
  if (!r.port) return true;
  const protos = r.port.protocol === 'ANY' ? [6, 17] : [r.port.protocol === 'TCP' ? 6 : 17];
  if (!protos.includes(proto)) return false;
  const lo = Number(r.port.port);
  if (lo === 0) return true;
  const hi = r.port.endPort ?? lo;
  return port >= lo && port <= hi;
}

const FLOW_IDS = [1001, 1002, 1003, 2, 1, 6];
const FLOWS: [number, number][] = [
  [6, 80],
  [17, 80],
  [6, 81],
  [6, 53],
  [17, 53],
  [6, 8080],
  [6, 8101],
  [17, 8102],
  [6, 8191],
  [6, 8192],
  [1, 0],
];

test('rangeBlocks covers a port range with aligned prefixes, exactly', () => {
  for (const [lo, hi] of [
    [8080, 8191],
    [1, 65535],
    [80, 80],
    [1000, 1999],
    [32768, 60999],
  ] as [number, number][]) {
    const blocks = rangeBlocks(lo, hi);
    let next = lo;
    for (const b of blocks) {
      assert.equal(b.port, next);
      assert.equal(b.port % (1 << b.bits), 0, 'aligned');
      next += 1 << b.bits;
    }
    assert.equal(next, hi + 1);
  }
  assert.deepEqual(rangeBlocks(8080, 8191), [
    { port: 8080, bits: 4 },
    { port: 8096, bits: 5 },
    { port: 8128, bits: 6 },
  ]);
});

test('400 random rule sets: the datapath lookup over the compiled map gives deny > allow > default deny for every flow', () => {
  const rng = new Rng(2024);
  const pick = <T>(xs: readonly T[]): T => xs[rng.below(xs.length)]!;
  const res = new PolicyResult();
  let checked = 0;
  for (let round = 0; round < 400; round++) {
    const engine = new PolicyEngine();
    for (const [id, labels] of Object.entries(IDS)) engine.upsertIdentity(Number(id), labels);
    const rules: GenRule[] = [];
    const n = 1 + rng.below(4);
    for (let i = 0; i < n; i++) rules.push({ deny: rng.below(3) === 0, peer: pick(PEERS), ...(rng.below(5) ? { port: pick(PORTS.filter(Boolean))! } : {}) });
    const ingress = rules.filter((r) => !r.deny).map((r) => ({ ...peerYaml(r.peer), ...(r.port ? { toPorts: [{ ports: [r.port] }] } : {}) }));
    const ingressDeny = rules.filter((r) => r.deny).map((r) => ({ ...peerYaml(r.peer), ...(r.port ? { toPorts: [{ ports: [r.port] }] } : {}) }));
    const errs = engine.upsertPolicy(cnp('p', { endpointSelector: { matchLabels: { app: 'server' } }, ...(ingress.length ? { ingress } : {}), ...(ingressDeny.length ? { ingressDeny } : {}) }));
    assert.deepEqual(errs, []);
    const policy = engine.compute(SUBJECT, 'default');
    assert.equal(policy.ingressEnforced, true);
    const map = createMap(policyMapSpec(7));
    for (const e of policy.entries) assert.equal(putPolicyEntry(map, e), 0);
    for (const id of FLOW_IDS) {
      for (const [proto, port] of FLOWS) {
        const covered = (r: GenRule): boolean => peerMatches(r.peer, id, !!r.port) && (proto === 1 ? !r.port : portMatches(r, proto, port));
        const deny = rules.some((r) => r.deny && covered(r));
        const allow = rules.some((r) => !r.deny && covered(r)) || id === 1;
        const want = deny ? -DropReason.POLICY_DENY : allow ? 0 : -DropReason.POLICY;
        const got = policyCanAccess(map, id, false, proto, port, 64, res);
        assert.equal(got, want, `round ${round} rules ${JSON.stringify(rules)} flow id=${id} proto=${proto} port=${port}`);
        // Every decision from an entry names its rules (or allow-localhost).
        if (got !== -DropReason.POLICY) assert.ok(engine.lookup(res.cookie), 'attributed');
        checked++;
      }
    }
  }
  assert.equal(checked, 400 * FLOW_IDS.length * FLOWS.length);
});

test('a deny-only rule set with enableDefaultDeny false: only the deny blocks, the rest stays allowed', () => {
  const engine = new PolicyEngine();
  for (const [id, labels] of Object.entries(IDS)) engine.upsertIdentity(Number(id), labels);
  engine.upsertPolicy(cnp('d', { endpointSelector: { matchLabels: { app: 'server' } }, enableDefaultDeny: { ingress: false }, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'a' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] }));
  const policy = engine.compute(SUBJECT, 'default');
  assert.equal(policy.ingressEnforced, false);
  const map = createMap(policyMapSpec(7));
  for (const e of policy.entries) putPolicyEntry(map, e);
  const res = new PolicyResult();
  assert.equal(policyCanAccess(map, 1001, false, 6, 80, 64, res), -DropReason.POLICY_DENY);
  assert.equal(engine.lookup(res.cookie)?.rules[0]?.name, 'd');
  assert.equal(policyCanAccess(map, 1001, false, 6, 81, 64, res), 0);
  assert.equal(engine.lookup(res.cookie)?.implicit, 'enforcement-disabled');
  assert.equal(policyCanAccess(map, 1002, false, 6, 80, 64, res), 0);
});
