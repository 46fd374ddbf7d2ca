// Kubernetes NetworkPolicy (reference §12 and §16), the upstream e2e suite's
// classics on its model: namespaces x, y, z with pods a, b, c serving 80 and
// 81 (named serve-80-tcp, serve-81-tcp), probed with `agnhost connect` from
// inside the pods. The truth tables read like the e2e's Reachability output:
// rows are clients, columns servers, "." connected, "X" timed out, "-" self.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyDir } from '../../src/datapath/events.js';
import { KNP, cnp, knp, policyCluster, reach, type PolicyCluster } from './harness.js';

const NAMESPACES = ['x', 'y', 'z'];
const PODS = ['a', 'b', 'c'];
const NODES = ['kind-worker', 'kind-worker2'];

async function model(): Promise<PolicyCluster> {
  const c = await policyCluster({
    config: {
      externalHosts: [
        { name: 'ext', ip: '172.18.0.100', ports: [{ port: 80 }], app: 'http' },
        { name: 'ext2', ip: '172.18.0.101', ports: [{ port: 80 }], app: 'http' },
      ],
    },
  });
  let i = 0;
  for (const ns of NAMESPACES) {
    c.namespace(ns, { ns });
    for (const p of PODS) {
      c.pod(p, {
        namespace: ns,
        labels: { pod: p },
        node: NODES[i++ % NODES.length]!,
        ports: [
          { port: 80, name: 'serve-80-tcp' },
          { port: 81, name: 'serve-81-tcp' },
        ],
      });
    }
  }
  return c;
}

/** The e2e Reachability table for `froms` × `tos` on a port. */
async function table(c: PolicyCluster, froms: string[], tos: string[], port = 80): Promise<string> {
  const lines = [`${''.padEnd(4)}${tos.map((t) => t.padEnd(4)).join('')}`.trimEnd()];
  for (const f of froms) {
    let row = f.padEnd(4);
    for (const t of tos) {
      // A pod to itself never leaves the pod: the e2e suite does not assert loopback either.
      if (t === f) {
        row += '-'.padEnd(4);
        continue;
      }
      const [ns, name] = t.split('/') as [string, string];
      const r = await c.connect(f, `${c.podIp(ns, name)}:${port}`);
      row += (r === '' ? '.' : r === 'TIMEOUT' ? 'X' : '?').padEnd(4);
    }
    lines.push(row.trimEnd());
  }
  return lines.join('\n');
}

const rows = (...lines: string[]): string => lines.join('\n');

test('e2e: default-deny-ingress in x; allow from the same namespace; ingress: [{}] allows everything', async () => {
  const c = await model();
  try {
    c.apply(knp('deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }, 'x'));
    assert.equal(
      await table(c, ['x/a', 'y/a', 'z/b'], ['x/a', 'x/b', 'y/c']),
      rows(
        '    x/a x/b y/c',
        'x/a -   X   .',
        'y/a X   X   .',
        'z/b X   X   .',
      ),
    );
    c.apply(knp('allow-same-ns', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }, 'x'));
    assert.equal(
      await table(c, ['x/b', 'x/c', 'y/a', 'z/a'], ['x/a']),
      rows(
        '    x/a',
        'x/b .',
        'x/c .',
        'y/a X',
        'z/a X',
      ),
    );
    // Kubernetes' empty rule allows everything (Cilium's `ingress: [{}]` allows nothing).
    c.apply(knp('allow-all', { podSelector: {}, ingress: [{}] }, 'x'));
    assert.equal(await table(c, ['y/a', 'z/c'], ['x/a']), rows('    x/a', 'y/a .', 'z/c .'));
    c.apply(cnp('cilium-empty', { endpointSelector: {}, ingress: [{}] }, 'y'));
    assert.equal(await table(c, ['x/a', 'y/b'], ['y/a']), rows('    y/a', 'x/a X', 'y/b X'));
  } finally {
    await c.close();
  }
});

test('e2e: namespaceSelector AND podSelector in one peer, OR as two peers; namespaceSelector with matchExpressions', async () => {
  const c = await model();
  try {
    c.apply(knp('and', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }] }, 'x'));
    const froms = ['x/b', 'x/c', 'y/a', 'y/b', 'z/b'];
    assert.equal(await table(c, froms, ['x/a']), rows('    x/a', 'x/b X', 'x/c X', 'y/a X', 'y/b .', 'z/b X'));
    c.remove('NetworkPolicy', 'and', 'x');
    c.apply(knp('or', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }] }] }, 'x'));
    assert.equal(await table(c, froms, ['x/a']), rows('    x/a', 'x/b .', 'x/c X', 'y/a .', 'y/b .', 'z/b X'));
    c.remove('NetworkPolicy', 'or', 'x');
    c.apply(knp('expr', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y'] }] } }] }] }, 'x'));
    assert.equal(await table(c, ['x/b', 'y/c', 'z/a'], ['x/a']), rows('    x/a', 'x/b X', 'y/c .', 'z/a X'));
    // namespaceSelector {} = every pod of every namespace (not the host: the node still gets in only via allow-localhost).
    c.apply(knp('expr', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] }, 'x'));
    assert.equal(await table(c, ['x/b', 'y/c', 'z/a'], ['x/a']), rows('    x/a', 'x/b .', 'y/c .', 'z/a .'));
  } finally {
    await c.close();
  }
});

test('e2e: ports — a port, a named port, endPort ranges; multiple policies add up', async () => {
  const c = await model();
  try {
    const only = (ports: Record<string, unknown>[]) => c.apply(knp('ports', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports }] }, 'x'));
    only([{ port: 81 }]);
    assert.deepEqual([await table(c, ['y/b'], ['x/a'], 80), await table(c, ['y/b'], ['x/a'], 81)], [rows('    x/a', 'y/b X'), rows('    x/a', 'y/b .')]);
    only([{ port: 'serve-80-tcp' }]);
    assert.deepEqual([await table(c, ['y/b'], ['x/a'], 80), await table(c, ['y/b'], ['x/a'], 81)], [rows('    x/a', 'y/b .'), rows('    x/a', 'y/b X')]);
    only([{ port: 80, endPort: 81 }]);
    assert.deepEqual([await table(c, ['y/b'], ['x/a'], 80), await table(c, ['y/b'], ['x/a'], 81)], [rows('    x/a', 'y/b .'), rows('    x/a', 'y/b .')]);
    // The apiserver defaulted the protocol.
    const stored = c.rt.cache.get(KNP, 'x', 'ports')!['spec'] as { ingress: { ports: { protocol: string }[] }[] };
    assert.equal(stored.ingress[0]!.ports[0]!.protocol, 'TCP');
    only([{ port: 80, protocol: 'UDP' }]);
    assert.equal(await table(c, ['y/b'], ['x/a'], 80), rows('    x/a', 'y/b X'), 'UDP 80 does not allow TCP 80');
    c.apply(knp('more', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 81 }] }] }, 'x'));
    assert.deepEqual([await table(c, ['y/b'], ['x/a'], 80), await table(c, ['y/b'], ['x/a'], 81)], [rows('    x/a', 'y/b X'), rows('    x/a', 'y/b .')]);
  } finally {
    await c.close();
  }
});

test('e2e: egress to a port in another namespace; policyTypes Egress alone isolates egress only; defaulted policyTypes', async () => {
  const c = await model();
  try {
    c.apply(knp('egress-80', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 80 }] }] }, 'x'));
    assert.deepEqual([await table(c, ['x/a'], ['y/b', 'z/b', 'x/b'], 80), await table(c, ['x/a'], ['y/b'], 81)], [rows('    y/b z/b x/b', 'x/a .   X   X'), rows('    y/b', 'x/a X')]);
    // Ingress to x/a is not isolated by an Egress-only policy.
    assert.equal(await table(c, ['z/c'], ['x/a']), rows('    x/a', 'z/c .'));

    c.apply(knp('egress-none', { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Egress'] }, 'x'));
    assert.equal(await table(c, ['x/b'], ['x/a', 'y/a']), rows('    x/a y/a', 'x/b X   X'));
    assert.equal(await table(c, ['y/a'], ['x/b']), rows('    x/b', 'y/a .'));

    // policyTypes omitted with egress rules: [Ingress, Egress] — ingress becomes isolated too.
    c.apply(knp('defaulted', { podSelector: { matchLabels: { pod: 'c' } }, egress: [{}] }, 'x'));
    assert.deepEqual((c.rt.cache.get(KNP, 'x', 'defaulted')!['spec'] as { policyTypes: string[] }).policyTypes, ['Ingress', 'Egress']);
    assert.equal(await table(c, ['y/a'], ['x/c']), rows('    x/c', 'y/a X'));
    assert.equal(await table(c, ['x/c'], ['y/a']), rows('    y/a', 'x/c .'));
  } finally {
    await c.close();
  }
});

test('e2e: ipBlock with except selects addresses outside the cluster; an ipBlock over pod IPs does not match Cilium pods', async () => {
  const c = await model();
  try {
    const verdict = async (from: string, url: string): Promise<string> => {
      c.verdicts();
      const r = await reach(c, from, url);
      const v = c.verdicts().filter((e) => e.direction === PolicyDir.EGRESS);
      return v.some((e) => e.verdict < 0) ? 'dropped' : r === 'ok' || v.length ? 'allowed' : r;
    };
    c.apply(knp('ipblock', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '172.18.0.0/16', except: ['172.18.0.100/32'] } }] }] }, 'x'));
    assert.deepEqual([await verdict('x/a', 'http://172.18.0.100/'), await verdict('x/a', 'http://172.18.0.101/')], ['dropped', 'allowed']);
    c.apply(knp('ipblock', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }] }, 'x'));
    assert.equal(await table(c, ['x/a'], ['y/a', 'z/b']), rows('    y/a z/b', 'x/a X   X'), 'pod IPs are never matched by ipBlock under Cilium');
  } finally {
    await c.close();
  }
});
