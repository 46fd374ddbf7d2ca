// kubectl apply -f (client-side apply with the last-applied annotation:
// created / configured / unchanged) and kubectl create -f. Every object is
// first sent as a server dry run; only when all of them pass is anything
// written, so a rejected file leaves the cluster as it was.

import { collectionPath, objectPath } from '../../../k8s/resources.js';
import type { Status } from '../../../k8s/status.js';
import type { KubeObject } from '../../../k8s/types.js';
import type { ApiConnection } from '../api.js';
import { kindNameOf, type KubectlContext } from '../context.js';
import { aggregate, KubectlError, statusLine, statusMessage, usageError, withSource } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { goJson } from '../go-format.js';
import { emptyNameError, mapDocuments, readManifestSources, refuseDuplicates, settleNamespaces, type MappedDoc } from '../manifests.js';
import { listOf, parseOutputFormat, printObjectFormat, type OutputFormat } from '../printers.js';
import { threeWayJsonMergePatch, threeWayStrategicPatch } from '../three-way.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export const APPLY_FLAGS: FlagSpec[] = [
  { name: 'filename', short: 'f', type: 'stringArray' },
  { name: 'kustomize', short: 'k', type: 'string' },
  { name: 'recursive', short: 'R', type: 'bool' },
  { name: 'output', short: 'o', type: 'string' },
  { name: 'dry-run', type: 'string', default: 'none', noValueDefault: 'unchanged' },
  { name: 'validate', type: 'string', default: 'strict', noValueDefault: 'strict' },
  { name: 'server-side', type: 'bool' },
  { name: 'force', type: 'bool' },
  { name: 'overwrite', type: 'bool', default: true },
  { name: 'prune', type: 'bool' },
  { name: 'field-manager', type: 'string', default: 'kubectl-client-side-apply' },
  { name: 'save-config', type: 'bool' },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'wait', type: 'bool' },
  { name: 'timeout', type: 'duration', default: 0 },
  { name: 'show-managed-fields', type: 'bool' },
  { name: 'edit', type: 'bool' },
  { name: 'windows-line-endings', type: 'bool' },
];

type DryRun = 'none' | 'client' | 'server';

function dryRunOf(ctx: KubectlContext): DryRun {
  const v = ctx.flags.string('dry-run');
  if (v === 'none' || v === 'client' || v === 'server') return v;
  if (v === 'unchanged') throw usageError('--dry-run flag without a value was specified. A value must be set, one of: "none", "server", or "client".');
  throw usageError(`Invalid dry-run value (${v}). Must be "none", "server", or "client".`);
}

function fieldValidationOf(ctx: KubectlContext): 'Strict' | 'Warn' | 'Ignore' {
  const v = ctx.flags.string('validate').toLowerCase();
  if (v === 'strict' || v === 'true') return 'Strict';
  if (v === 'warn') return 'Warn';
  if (v === 'ignore' || v === 'false') return 'Ignore';
  throw usageError(`invalid - validate option ${JSON.stringify(ctx.flags.string('validate'))}; must be one of: strict (or true), warn, ignore (or false)`);
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** The manifest as kubectl sends it: annotations present (possibly empty), the last-applied one holding the rest as JSON. */
export function withLastApplied(obj: KubeObject): KubeObject {
  const copy = clone(obj);
  const meta = (copy.metadata ??= {} as KubeObject['metadata']);
  const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
  delete annotations[LAST_APPLIED];
  meta.annotations = annotations;
  const value = goJson(copy) + '\n';
  meta.annotations = { ...annotations, [LAST_APPLIED]: value };
  return copy;
}

/** What one document will do: create it, patch it, or nothing. */
type Plan =
  | { doc: MappedDoc; action: 'create'; body: KubeObject }
  | { doc: MappedDoc; action: 'patch'; patch: Record<string, unknown>; contentType: string; current: KubeObject }
  | { doc: MappedDoc; action: 'unchanged'; current: KubeObject };

function namespaceOf(doc: MappedDoc): string | undefined {
  return doc.resource.namespaced ? doc.object.metadata?.namespace : undefined;
}

function resourceLabel(doc: MappedDoc): string {
  return `Resource: ${JSON.stringify(`${doc.resource.group}/${doc.resource.version}, Resource=${doc.resource.plural}`)}, GroupVersionKind: ${JSON.stringify(`${doc.resource.group}/${doc.resource.version}, Kind=${doc.resource.kind}`)}\nName: ${JSON.stringify(doc.name)}, Namespace: ${JSON.stringify(namespaceOf(doc) ?? '')}`;
}

async function planApply(ctx: KubectlContext, conn: ApiConnection, doc: MappedDoc): Promise<Plan | Status> {
  const current = await conn.get<KubeObject>(objectPath(doc.resource, doc.name, namespaceOf(doc)));
  const modified = withLastApplied(doc.object);
  if (!current.ok) {
    if (current.status.reason === 'NotFound' && current.status.details?.kind !== undefined) return { doc, action: 'create', body: modified };
    return withSource(current.status, `retrieving current configuration of:\n${resourceLabel(doc)}\nfrom server for:`, doc.source);
  }
  const live = current.value;
  const lastText = live.metadata.annotations?.[LAST_APPLIED];
  if (lastText === undefined) {
    ctx.io.err(
      `Warning: resource ${doc.resource.plural}/${doc.name} is missing the ${LAST_APPLIED} annotation which is required by kubectl apply. kubectl apply should only be used on resources created declaratively by either kubectl create --save-config or kubectl apply. The missing annotation will be patched automatically.\n`,
    );
  }
  let original: unknown = {};
  try {
    original = lastText ? JSON.parse(lastText) : {};
  } catch {
    original = {};
  }
  const custom = doc.resource.customResource;
  const patch = custom ? threeWayJsonMergePatch(original, modified, live) : threeWayStrategicPatch(original, modified, live, doc.resource.kind);
  if (Object.keys(patch).length === 0) return { doc, action: 'unchanged', current: live };
  return { doc, action: 'patch', patch, contentType: custom ? 'application/merge-patch+json' : 'application/strategic-merge-patch+json', current: live };
}

async function send(conn: ApiConnection, plan: Plan, query: URLSearchParams): Promise<{ ok: true; obj: KubeObject; warnings: string[] } | { ok: false; status: Status }> {
  const { doc } = plan;
  const q = `?${query.toString()}`;
  if (plan.action === 'unchanged') return { ok: true, obj: plan.current, warnings: [] };
  if (plan.action === 'create') {
    const a = await conn.request<KubeObject>('POST', collectionPath(doc.resource, namespaceOf(doc)) + q, { body: plan.body });
    return a.ok ? { ok: true, obj: a.value, warnings: a.warnings } : { ok: false, status: withSource(a.status, 'creating', doc.source) };
  }
  const a = await conn.request<KubeObject>('PATCH', objectPath(doc.resource, doc.name, namespaceOf(doc)) + q, { body: plan.patch, contentType: plan.contentType });
  if (a.ok) return { ok: true, obj: a.value, warnings: a.warnings };
  const inner = withSource(a.status, 'patching', doc.source);
  return { ok: false, status: withSource(inner, `applying patch:\n${goJson(plan.patch)}\nto:\n${resourceLabel(doc)}\nfor:`, doc.source) };
}

/** A namespace the batch itself creates: a dry run in it may fail only because it does not exist yet. */
function createdByBatch(status: Status, docs: MappedDoc[]): boolean {
  return status.reason === 'NotFound' && status.details?.kind === 'namespaces' && docs.some((d) => d.resource.kind === 'Namespace' && d.name === status.details?.name);
}

function failureFor(status: Status, many: boolean): string {
  return many ? statusLine(status) : statusMessage(status);
}

async function readDocs(ctx: KubectlContext, verb: string): Promise<MappedDoc[]> {
  const f = ctx.flags;
  if (f.string('kustomize')) throw usageError(`podpath's kubectl does not support -k (kustomize): use -f`);
  if (!f.list('filename').length) throw usageError('must specify one of -f and -k');
  const docs = await readManifestSources(ctx, f.list('filename'), f.bool('recursive'));
  if (!docs.length) throw usageError(`no objects passed to ${verb}`);
  const mapped = mapDocuments(docs);
  settleNamespaces(ctx, mapped);
  return mapped;
}

function suffixFor(dryRun: DryRun): string {
  return dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : '';
}

function printResults(ctx: KubectlContext, format: OutputFormat | undefined, done: { doc: MappedDoc; obj: KubeObject; verb: string }[], dryRun: DryRun): void {
  if (!format) {
    for (const d of done) ctx.io.out(`${kindNameOf(d.doc.resource)}/${d.doc.name} ${d.verb}${suffixFor(dryRun)}\n`);
    return;
  }
  if (format.kind === 'name') {
    for (const d of done) ctx.io.out(`${kindNameOf(d.doc.resource)}/${d.doc.name}\n`);
    return;
  }
  const objects = done.map((d) => d.obj);
  ctx.io.out(printObjectFormat(format, objects.length === 1 ? objects[0] : listOf(objects)));
}

/** Dry-run every plan on the server; the failures, in order, as kubectl would print them. */
async function rehearse(conn: ApiConnection, plans: Plan[], docs: MappedDoc[], query: URLSearchParams): Promise<Status[]> {
  const failures: Status[] = [];
  const q = new URLSearchParams(query);
  q.set('dryRun', 'All');
  for (const plan of plans) {
    const r = await send(conn, plan, q);
    if (!r.ok && !createdByBatch(r.status, docs)) failures.push(r.status);
  }
  return failures;
}

export async function runApply(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  if (f.bool('server-side')) throw usageError("podpath's kubectl does not support --server-side apply: use client-side apply (the default)");
  if (f.bool('prune')) throw usageError("podpath's kubectl does not support --prune");
  const dryRun = dryRunOf(ctx);
  const fieldValidation = fieldValidationOf(ctx);
  const format = f.string('output') ? parseOutputFormat(f.string('output'), false) : undefined;
  const docs = await readDocs(ctx, 'apply');
  for (const d of docs) if (!d.name) throw emptyNameError(d, 'retrieving current configuration of');
  refuseDuplicates(docs);
  const conn = await ctx.conn();

  const plans: Plan[] = [];
  const failures: Status[] = [];
  for (const d of docs) {
    const p = await planApply(ctx, conn, d);
    if ('action' in p) plans.push(p);
    else failures.push(p);
  }
  const query = new URLSearchParams({ fieldManager: f.string('field-manager'), fieldValidation });
  failures.push(...(await rehearse(conn, plans, docs, query)));
  if (failures.length) throw rejected(failures);
  if (dryRun === 'client') {
    printResults(ctx, format, plans.map((p) => ({ doc: p.doc, obj: p.action === 'create' ? p.body : p.current, verb: verbOf(p) })), dryRun);
    return 0;
  }
  if (dryRun === 'server') query.set('dryRun', 'All');
  const done: { doc: MappedDoc; obj: KubeObject; verb: string }[] = [];
  const late: Status[] = [];
  for (const p of plans) {
    const r = await send(conn, p, query);
    if (!r.ok) {
      late.push(r.status);
      continue;
    }
    ctx.warn(r.warnings);
    done.push({ doc: p.doc, obj: r.obj, verb: verbOf(p) });
  }
  printResults(ctx, format, done, dryRun);
  if (late.length) throw rejected(late);
  return 0;
}

function verbOf(p: Plan): string {
  return p.action === 'create' ? 'created' : p.action === 'patch' ? 'configured' : 'unchanged';
}

function rejected(failures: Status[]): KubectlError {
  if (failures.length === 1) return new KubectlError(failureFor(failures[0]!, false));
  return aggregate(failures)!;
}

export const CREATE_FLAGS: FlagSpec[] = [
  { name: 'filename', short: 'f', type: 'stringArray' },
  { name: 'kustomize', short: 'k', type: 'string' },
  { name: 'recursive', short: 'R', type: 'bool' },
  { name: 'output', short: 'o', type: 'string' },
  { name: 'dry-run', type: 'string', default: 'none', noValueDefault: 'unchanged' },
  { name: 'validate', type: 'string', default: 'strict', noValueDefault: 'strict' },
  { name: 'save-config', type: 'bool' },
  { name: 'field-manager', type: 'string', default: 'kubectl-create' },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'edit', type: 'bool' },
  { name: 'raw', type: 'string' },
  { name: 'windows-line-endings', type: 'bool' },
];

export async function runCreate(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  if (f.args.length) {
    throw usageError(`podpath's kubectl supports only \`kubectl create -f FILE\` (not \`kubectl create ${f.args[0]}\`); use \`kubectl apply -f\` or \`kubectl run\``);
  }
  const dryRun = dryRunOf(ctx);
  const fieldValidation = fieldValidationOf(ctx);
  const format = f.string('output') ? parseOutputFormat(f.string('output'), false) : undefined;
  const docs = await readDocs(ctx, 'create');
  refuseDuplicates(docs);
  const conn = await ctx.conn();
  const plans: Plan[] = docs.map((doc) => ({ doc, action: 'create', body: f.bool('save-config') ? withLastApplied(doc.object) : doc.object }));
  const query = new URLSearchParams({ fieldManager: f.string('field-manager'), fieldValidation });
  const failures = await rehearse(conn, plans, docs, query);
  if (failures.length) throw rejected(failures);
  if (dryRun === 'client') {
    printResults(ctx, format, plans.map((p) => ({ doc: p.doc, obj: (p as { body: KubeObject }).body, verb: 'created' })), dryRun);
    return 0;
  }
  if (dryRun === 'server') query.set('dryRun', 'All');
  const done: { doc: MappedDoc; obj: KubeObject; verb: string }[] = [];
  const late: Status[] = [];
  for (const p of plans) {
    const r = await send(conn, p, query);
    if (r.ok) {
      ctx.warn(r.warnings);
      done.push({ doc: p.doc, obj: r.obj, verb: 'created' });
    } else late.push(r.status);
  }
  printResults(ctx, format, done, dryRun);
  if (late.length) throw rejected(late);
  return 0;
}
