// Shared setup for cluster tests: a runtime on a virtual clock, and exec that
// drives the clock until the command finishes (no sleeps, no wall time).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterRuntime, type ClusterRuntimeOptions, type ExecTarget } from '../../src/cluster/runtime.js';
import type { ClusterConfigInput } from '../../src/cluster/config.js';
import { R } from '../../src/cluster/controllers/common.js';
import { lookupResource } from '../../src/k8s/resources.js';
import type { KubeObject } from '../../src/k8s/types.js';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/util/clock.js';
import { drive } from '../../src/util/drive.js';

export interface Cluster {
  rt: ClusterRuntime;
  clock: VirtualClock;
  exec(target: ExecTarget | string, argv: string[]): Promise<ExecResult>;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), 'podpath-cluster-')), 'cluster.db');
}

export async function startCluster(opts: Omit<ClusterRuntimeOptions, 'clock' | 'config'> & { config?: ClusterConfigInput; clock?: VirtualClock } = {}): Promise<Cluster> {
  const clock = opts.clock ?? new VirtualClock(5_000_000);
  const rt = await ClusterRuntime.create({ ...opts, clock });
  return { rt, clock, exec: (target, argv) => execIn(rt, clock, target, argv) };
}

/** `ns/name` for a pod, `node/NAME`, `host/NAME`, or a target object. */
export function parseTarget(t: ExecTarget | string): ExecTarget {
  if (typeof t !== 'string') return t;
  const [a, b] = t.split('/') as [string, string];
  if (a === 'node') return { kind: 'node', name: b };
  if (a === 'host') return { kind: 'host', name: b };
  return { kind: 'pod', namespace: a, name: b };
}

export async function execIn(rt: ClusterRuntime, clock: VirtualClock, target: ExecTarget | string, argv: string[]): Promise<ExecResult> {
  let stdout = '';
  let stderr = '';
  const text = (c: string | Uint8Array): string => (typeof c === 'string' ? c : new TextDecoder().decode(c));
  const ctl = new AbortController();
  const code = await drive(
    clock,
    rt.exec(parseTarget(target), argv, { stdout: (c) => (stdout += text(c)), stderr: (c) => (stderr += text(c)), signal: ctl.signal }),
    120_000,
  );
  return { code, stdout, stderr };
}

export function pods(rt: ClusterRuntime, namespace: string, app?: string): KubeObject[] {
  return rt.cache
    .list(R.pods, namespace)
    .filter((p) => !app || p.metadata.labels?.['app'] === app || p.metadata.labels?.['k8s-app'] === app)
    .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
}

export function spec(o: KubeObject): Record<string, unknown> {
  return (o['spec'] ?? {}) as Record<string, unknown>;
}

export function status(o: KubeObject): Record<string, unknown> {
  return (o['status'] ?? {}) as Record<string, unknown>;
}

export function nodeOf(o: KubeObject): string {
  return String(spec(o)['nodeName'] ?? '');
}

export function podIp(o: KubeObject): string {
  return String(status(o)['podIP'] ?? '');
}

const CNP = lookupResource('ciliumnetworkpolicies.cilium.io')!;

/** Create a CiliumNetworkPolicy; the test fails with the apiserver's message if it is refused. */
export function applyCnp(rt: ClusterRuntime, namespace: string, name: string, spec: unknown): void {
  const r = rt.api.create(CNP, namespace, { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec });
  assert.ok(r.ok, r.ok ? '' : r.status.message);
}
