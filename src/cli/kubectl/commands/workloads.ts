// kubectl scale, kubectl rollout status and kubectl wait: the commands that
// change a workload's size or wait for the cluster to reach a state, with
// kubectl's status texts and timeouts.

import { objectPath } from '../../../k8s/resources.js';
import type { KubeList, KubeObject } from '../../../k8s/types.js';
import type { KubectlContext, ResolvedType } from '../context.js';
import { aggregate, KubectlError, klogError, usageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { JsonPathExecError, JsonPathParseError, JsonPathTemplate, relaxedJsonPath } from '../jsonpath.js';
import { listPath, parseResourceArgs } from '../resource-args.js';
import type { Status } from '../../../k8s/status.js';

// ---- scale ------------------------------------------------------------------------------

export const SCALE_FLAGS: FlagSpec[] = [
  { name: 'replicas', type: 'int', default: -1 },
  { name: 'current-replicas', type: 'int', default: -1 },
  { name: 'resource-version', type: 'string' },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'all', type: 'bool' },
  { name: 'filename', short: 'f', type: 'stringArray' },
  { name: 'timeout', type: 'duration', default: 0 },
  { name: 'output', short: 'o', type: 'string' },
  { name: 'dry-run', type: 'string', default: 'none' },
];

export async function runScale(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  if (!f.changed('replicas')) {
    ctx.io.err(klogError('required flag(s) "replicas" not set'));
    return 1;
  }
  const replicas = f.int('replicas');
  if (replicas < 0) throw usageError('The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0');
  if (f.args.length === 0) throw usageError('no objects passed to scale');
  const parsed = parseResourceArgs(ctx, f.args);
  const conn = await ctx.conn();
  const failures: Status[] = [];
  for (const req of parsed.requests) {
    const names: string[] = [];
    if (req.names) names.push(...req.names);
    else if (f.string('selector') || f.bool('all')) {
      const q = new URLSearchParams();
      if (f.string('selector')) q.set('labelSelector', f.string('selector'));
      const list = await ctx.must(conn.list(listPath(ctx, req.type, false, q)));
      names.push(...(list as KubeList).items.map((o) => o.metadata.name ?? ''));
    } else throw usageError('resource(s) were provided, but no name was specified');
    for (const name of names) {
      // kubectl's builder fetches each object first; a missing one is "no objects passed to scale".
      const found = await conn.get(objectPath(req.type.info, name, req.type.info.namespaced ? ctx.namespace : undefined));
      if (!found.ok) {
        if (found.status.code === 0) throw new KubectlError(found.status.message ?? '');
        throw usageError(`no objects passed to scale ${found.status.message ?? ''}`);
      }
      const path = objectPath(req.type.info, name, req.type.info.namespaced ? ctx.namespace : undefined, 'scale');
      if (f.int('current-replicas') >= 0) {
        const scale = await conn.get<{ spec?: { replicas?: number } }>(path);
        if (!scale.ok) {
          failures.push(scale.status);
          continue;
        }
        if ((scale.value.spec?.replicas ?? 0) !== f.int('current-replicas')) {
          throw usageError(`Expected replicas to be ${f.int('current-replicas')}, was ${scale.value.spec?.replicas ?? 0}`);
        }
      }
      const body: Record<string, unknown> = { spec: { replicas } };
      if (f.string('resource-version')) body['metadata'] = { resourceVersion: f.string('resource-version') };
      const a = await conn.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });
      if (!a.ok) {
        failures.push(a.status);
        continue;
      }
      ctx.io.out(f.string('output') === 'name' ? `${req.type.kindName}/${name}\n` : `${req.type.kindName}/${name} scaled\n`);
    }
  }
  const failed = aggregate(failures);
  if (failed) throw failed;
  return 0;
}

// ---- rollout status ------------------------------------------------------------------------

export const ROLLOUT_STATUS_FLAGS: FlagSpec[] = [
  { name: 'watch', short: 'w', type: 'bool', default: true },
  { name: 'timeout', type: 'duration', default: 0 },
  { name: 'revision', type: 'int', default: 0 },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'filename', short: 'f', type: 'stringArray' },
];

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** kubectl's status viewers: the message for the object's state, and whether the rollout is done. */
function rolloutState(type: ResolvedType, obj: KubeObject): { message: string; done: boolean } {
  const spec = (obj['spec'] ?? {}) as Record<string, unknown>;
  const status = (obj['status'] ?? {}) as Record<string, unknown>;
  const name = obj.metadata.name ?? '';
  const generation = obj.metadata.generation ?? 0;
  const observed = num(status['observedGeneration']);
  if (type.info.kind === 'Deployment') {
    if (generation > observed) return { message: 'Waiting for deployment spec update to be observed...\n', done: false };
    const conditions = (status['conditions'] as { type?: string; reason?: string }[] | undefined) ?? [];
    if (conditions.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded')) {
      throw usageError(`deployment ${JSON.stringify(name)} exceeded its progress deadline`);
    }
    const want = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
    const updated = num(status['updatedReplicas']);
    if (updated < want) return { message: `Waiting for deployment ${JSON.stringify(name)} rollout to finish: ${updated} out of ${want} new replicas have been updated...\n`, done: false };
    if (num(status['replicas']) > updated) {
      return { message: `Waiting for deployment ${JSON.stringify(name)} rollout to finish: ${num(status['replicas']) - updated} old replicas are pending termination...\n`, done: false };
    }
    if (num(status['availableReplicas']) < updated) {
      return { message: `Waiting for deployment ${JSON.stringify(name)} rollout to finish: ${num(status['availableReplicas'])} of ${updated} updated replicas are available...\n`, done: false };
    }
    return { message: `deployment ${JSON.stringify(name)} successfully rolled out\n`, done: true };
  }
  // DaemonSet
  const strategy = ((spec['updateStrategy'] ?? {}) as { type?: string }).type ?? 'RollingUpdate';
  if (strategy !== 'RollingUpdate') throw usageError('rollout status is only available for RollingUpdate strategy type');
  if (generation > observed) return { message: 'Waiting for daemon set spec update to be observed...\n', done: false };
  const desired = num(status['desiredNumberScheduled']);
  const updated = num(status['updatedNumberScheduled']);
  if (updated < desired) return { message: `Waiting for daemon set ${JSON.stringify(name)} rollout to finish: ${updated} out of ${desired} new pods have been updated...\n`, done: false };
  const available = num(status['numberAvailable']);
  if (available < desired) return { message: `Waiting for daemon set ${JSON.stringify(name)} rollout to finish: ${available} of ${desired} updated pods are available...\n`, done: false };
  return { message: `daemon set ${JSON.stringify(name)} successfully rolled out\n`, done: true };
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export async function runRolloutStatus(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  if (f.args.length === 0) throw usageError('required resource not specified');
  const parsed = parseResourceArgs(ctx, f.args);
  const conn = await ctx.conn();
  for (const req of parsed.requests) {
    if (!req.names) throw usageError('resource(s) were provided, but no name was specified');
    for (const name of req.names) {
      const path = objectPath(req.type.info, name, req.type.info.namespaced ? ctx.namespace : undefined);
      await ctx.must(conn.get<KubeObject>(path));
      if (req.type.info.kind !== 'Deployment' && req.type.info.kind !== 'DaemonSet') {
        throw usageError(`no status viewer has been implemented for ${req.type.info.kind}`);
      }
      const deadline = f.duration('timeout') > 0 ? Date.now() + f.duration('timeout') : Infinity;
      let last = '';
      for (;;) {
        const obj = await ctx.must(conn.get<KubeObject>(path));
        const state = rolloutState(req.type, obj);
        if (state.message !== last) ctx.io.out(state.message);
        last = state.message;
        if (state.done || !f.bool('watch')) break;
        if (Date.now() > deadline || ctx.io.signal?.aborted) throw usageError('timed out waiting for the condition');
        await sleep(100, ctx.io.signal);
      }
    }
  }
  return 0;
}

// ---- wait --------------------------------------------------------------------------------

export const WAIT_FLAGS: FlagSpec[] = [
  { name: 'for', type: 'string' },
  { name: 'timeout', type: 'duration', default: 30_000 },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'field-selector', type: 'string' },
  { name: 'all', type: 'bool' },
  { name: 'all-namespaces', short: 'A', type: 'bool' },
  { name: 'filename', short: 'f', type: 'stringArray' },
  { name: 'recursive', short: 'R', type: 'bool' },
  { name: 'output', short: 'o', type: 'string' },
  { name: 'local', type: 'bool' },
];

type Condition =
  | { kind: 'condition'; name: string; status: string }
  | { kind: 'delete' }
  | { kind: 'create' }
  | { kind: 'jsonpath'; template: JsonPathTemplate; value?: string; source: string };

function parseCondition(text: string): Condition {
  const lower = text.toLowerCase();
  if (lower === 'delete') return { kind: 'delete' };
  if (lower === 'create') return { kind: 'create' };
  if (lower.startsWith('condition=')) {
    const rest = text.slice('condition='.length);
    const eq = rest.indexOf('=');
    const name = eq < 0 ? rest : rest.slice(0, eq);
    const status = eq < 0 ? 'true' : rest.slice(eq + 1);
    return { kind: 'condition', name, status };
  }
  if (lower.startsWith('jsonpath=')) {
    const rest = text.slice('jsonpath='.length);
    const m = /^(\{.*\})(?:=(.*))?$/.exec(rest) ?? /^([^=]*)(?:=(.*))?$/.exec(rest);
    const path = m?.[1] ?? '';
    if (!path) throw usageError(`jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3 or --for=jsonpath='{.status.readyReplicas}'`);
    try {
      const template = new JsonPathTemplate(relaxedJsonPath(path));
      return m?.[2] !== undefined ? { kind: 'jsonpath', template, value: m[2], source: path } : { kind: 'jsonpath', template, source: path };
    } catch (err) {
      if (err instanceof JsonPathParseError) throw usageError(err.message);
      throw err;
    }
  }
  throw usageError(`unrecognized condition: ${JSON.stringify(text)}`);
}

function conditionMet(c: Condition, obj: KubeObject): boolean {
  if (c.kind === 'create') return true;
  if (c.kind === 'jsonpath') {
    let found: unknown[];
    try {
      found = c.template.findResults(obj).flat();
    } catch (err) {
      if (err instanceof JsonPathExecError) return false;
      throw err;
    }
    if (found.length === 0) return false;
    if (c.value === undefined) return true;
    const v = found[0];
    return (typeof v === 'string' ? v : JSON.stringify(v)) === c.value;
  }
  if (c.kind !== 'condition') return false;
  const status = (obj['status'] ?? {}) as { conditions?: { type?: string; status?: string; observedGeneration?: number }[]; observedGeneration?: number };
  for (const cond of status.conditions ?? []) {
    if ((cond.type ?? '').toLowerCase() !== c.name.toLowerCase()) continue;
    const observed = cond.observedGeneration ?? status.observedGeneration;
    if (obj.metadata.generation !== undefined && observed !== undefined && observed < obj.metadata.generation) return false;
    return (cond.status ?? '').toLowerCase() === c.status.toLowerCase();
  }
  return false;
}

export async function runWait(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  const condition = parseCondition(f.string('for'));
  if (f.args.length === 0 && !f.list('filename').length) {
    throw new KubectlError(
      "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'",
    );
  }
  const parsed = parseResourceArgs(ctx, f.args);
  const conn = await ctx.conn();
  const timeout = f.duration('timeout');
  const deadline = Date.now() + timeout;
  const targets: { type: ResolvedType; name: string; namespace: string | undefined }[] = [];
  for (const req of parsed.requests) {
    const ns = req.type.info.namespaced ? ctx.namespace : undefined;
    if (req.names) for (const name of req.names) targets.push({ type: req.type, name, namespace: ns });
    else {
      if (!f.string('selector') && !f.bool('all') && !f.string('field-selector')) throw usageError('resource(s) were provided, but no name was specified');
      const q = new URLSearchParams();
      if (f.string('selector')) q.set('labelSelector', f.string('selector'));
      if (f.string('field-selector')) q.set('fieldSelector', f.string('field-selector'));
      const list = await ctx.must(conn.list(listPath(ctx, req.type, f.bool('all-namespaces'), q)));
      for (const o of (list as KubeList).items) targets.push({ type: req.type, name: o.metadata.name ?? '', namespace: o.metadata.namespace });
    }
  }
  if (targets.length === 0) throw usageError('no matching resources found');
  for (const t of targets) {
    const path = objectPath(t.type.info, t.name, t.namespace);
    for (;;) {
      const a = await conn.get<KubeObject>(path);
      if (condition.kind === 'delete') {
        if (!a.ok && a.status.reason === 'NotFound') break;
      } else if (!a.ok) {
        if (!(condition.kind === 'create' && a.status.reason === 'NotFound')) throw new KubectlError(`Error from server (${a.status.reason ?? ''}): ${a.status.message ?? ''}`);
      } else if (conditionMet(condition, a.value)) break;
      if (Date.now() >= deadline || ctx.io.signal?.aborted) {
        throw usageError(`timed out waiting for the condition on ${t.type.info.plural}/${t.name}`);
      }
      await sleep(Math.min(100, Math.max(1, deadline - Date.now())), ctx.io.signal);
    }
    ctx.io.out(f.string('output') === 'name' ? `${t.type.kindName}/${t.name}\n` : `${t.type.kindName}/${t.name} condition met\n`);
  }
  return 0;
}
