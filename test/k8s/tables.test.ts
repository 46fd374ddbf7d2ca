import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, toTable } from '../../src/k8s/tables.js';
import { lookupResource } from '../../src/k8s/resources.js';
import type { KubeObject } from '../../src/k8s/types.js';

test('ages print as kubectl prints them', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [0, '0s'],
    [119 * s, '119s'],
    [120 * s, '2m'],
    [200 * s, '3m20s'],
    [15 * 60 * s, '15m'],
    [179 * 60 * s, '179m'],
    [5 * 3600 * s + 10 * 60 * s, '5h10m'],
    [30 * 3600 * s, '30h'],
    [76 * 3600 * s, '3d4h'],
    [30 * 86400 * s, '30d'],
    [(3 * 365 + 10) * 86400 * s, '3y10d'],
    [9 * 365 * 86400 * s, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});

test('service, node and deployment rows', () => {
  const now = Date.UTC(2026, 0, 1, 1);
  const created = '2026-01-01T00:00:00Z';
  const svc: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', creationTimestamp: created },
    spec: { type: 'NodePort', clusterIP: '10.96.0.10', selector: { app: 'web' }, ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] },
  };
  assert.deepEqual(toTable(lookupResource('svc')!, [svc], now).rows[0]!.cells, ['web', 'NodePort', '10.96.0.10', '<none>', '80:30080/TCP,53/UDP', '60m', 'app=web']);
  const node: KubeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } },
    spec: { unschedulable: true },
    status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' }, addresses: [{ type: 'InternalIP', address: '192.168.1.11' }] },
  };
  const nodeCells = toTable(lookupResource('no')!, [node], now).rows[0]!.cells;
  assert.deepEqual(nodeCells.slice(0, 6), ['node-1', 'Ready,SchedulingDisabled', 'control-plane', '60m', 'v1.32.0', '192.168.1.11']);
  const noHeaders = toTable(lookupResource('deploy')!, [], now, { withHeaders: false, include: 'None' });
  assert.deepEqual(noHeaders.columnDefinitions, []);
});
