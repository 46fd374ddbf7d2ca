// kubectl label and kubectl annotate: KEY=VALUE sets, KEY- removes,
// --overwrite, --list, -l / --all; "labeled", "not labeled", "unlabeled",
// "annotated", and kubectl's errors for values and overwrites.

import { objectPath } from '../../../k8s/resources.js';
import type { Status } from '../../../k8s/status.js';
import type { KubeList, KubeObject } from '../../../k8s/types.js';
import type { KubectlContext, ResolvedType } from '../context.js';
import { KubectlError, aggregate, usageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { goJson } from '../go-format.js';
import { mapDocuments, readManifestSources, settleNamespaces } from '../manifests.js';
import { listOf, parseOutputFormat, printObjectFormat } from '../printers.js';
import { listPath, parseResourceArgs } from '../resource-args.js';

export const LABEL_FLAGS: FlagSpec[] = [
  { name: 'overwrite', type: 'bool' },
  { name: 'list', type: 'bool' },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'field-selector', type: 'string' },
  { name: 'all', type: 'bool' },
  { name: 'all-namespaces', short: 'A', type: 'bool' },
  { name: 'resource-version', type: 'string' },
  { name: 'filename', short: 'f', type: 'stringArray' },
  { name: 'recursive', short: 'R', type: 'bool' },
  { name: 'output', short: 'o', type: 'string' },
  { name: 'dry-run', type: 'string', default: 'none', noValueDefault: 'unchanged' },
  { name: 'local', type: 'bool' },
  { name: 'field-manager', type: 'string' },
];

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

interface Changes {
  set: Map<string, string>;
  remove: string[];
}

function parsePairs(pairs: string[], kind: 'label' | 'annotation'): Changes {
  const set = new Map<string, string>();
  const remove: string[] = [];
  for (const p of pairs) {
    if (p.includes('=')) {
      const parts = p.split('=');
      if (kind === 'label' && parts.length !== 2) throw usageError(`invalid label spec: ${p}`);
      const eq = p.indexOf('=');
      const key = p.slice(0, eq);
      const value = p.slice(eq + 1);
      if (!key) throw usageError(`invalid ${kind} spec: ${p}`);
      if (kind === 'label' && (value.length > 63 || !LABEL_VALUE.test(value))) {
        const why =
          value.length > 63
            ? 'must be no more than 63 characters'
            : "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        throw usageError(`invalid label value: ${JSON.stringify(p)}: ${why}`);
      }
      set.set(key, value);
    } else {
      remove.push(p.slice(0, -1));
    }
  }
  for (const r of remove) if (set.has(r)) throw usageError(`can not both modify and remove ${kind === 'label' ? 'a label' : 'an annotation'} in the same command`);
  return { set, remove };
}

interface Item {
  type: ResolvedType;
  obj: KubeObject;
}

async function collectItems(ctx: KubectlContext, resourceArgs: string[]): Promise<Item[]> {
  const f = ctx.flags;
  const conn = await ctx.conn();
  const items: Item[] = [];
  const failures: Status[] = [];
  if (f.list('filename').length) {
    const docs = mapDocuments(await readManifestSources(ctx, f.list('filename'), f.bool('recursive')));
    settleNamespaces(ctx, docs);
    for (const d of docs) {
      const type = ctx.resolveType(`${d.resource.plural}.${d.resource.group || 'core'}`);
      const a = await conn.get<KubeObject>(objectPath(d.resource, d.name, d.resource.namespaced ? d.object.metadata?.namespace : undefined));
      if (a.ok) items.push({ type, obj: a.value });
      else failures.push(a.status);
    }
  } else {
    const parsed = parseResourceArgs(ctx, resourceArgs);
    const byName = parsed.requests.some((r) => r.names);
    if (byName && (f.string('selector') || f.bool('all'))) throw usageError('name cannot be provided when a selector is specified');
    if (!byName && !f.string('selector') && !f.bool('all') && !f.string('field-selector')) throw usageError('resource(s) were provided, but no name was specified');
    for (const req of parsed.requests) {
      if (req.names) {
        for (const name of req.names) {
          const a = await conn.get<KubeObject>(objectPath(req.type.info, name, req.type.info.namespaced ? ctx.namespace : undefined));
          if (a.ok) items.push({ type: req.type, obj: a.value });
          else failures.push(a.status);
        }
      } else {
        const q = new URLSearchParams();
        if (f.string('selector')) q.set('labelSelector', f.string('selector'));
        if (f.string('field-selector')) q.set('fieldSelector', f.string('field-selector'));
        const list = await ctx.must(conn.list(listPath(ctx, req.type, f.bool('all-namespaces'), q)));
        for (const obj of (list as KubeList).items) items.push({ type: req.type, obj });
      }
    }
  }
  const failed = aggregate(failures);
  if (failed) throw failed;
  return items;
}

export function runLabel(ctx: KubectlContext): Promise<number> {
  return run(ctx, 'label');
}

export function runAnnotate(ctx: KubectlContext): Promise<number> {
  return run(ctx, 'annotation');
}

async function run(ctx: KubectlContext, kind: 'label' | 'annotation'): Promise<number> {
  const f = ctx.flags;
  const field = kind === 'label' ? 'labels' : 'annotations';
  // cmdutil.GetResourcesAndPairs: resources first, then KEY=VALUE / KEY- changes.
  const resourceArgs: string[] = [];
  const pairs: string[] = [];
  for (const a of f.args) {
    const isPair = (a.includes('=') && a[0] !== '=') || (a.endsWith('-') && a !== '-');
    if (isPair) pairs.push(a);
    else if (pairs.length) throw usageError(`all resources must be specified before ${kind} changes: ${a}`);
    else resourceArgs.push(a);
  }
  if (f.bool('list')) {
    const items = await collectItems(ctx, resourceArgs);
    for (const it of items) for (const [k, v] of Object.entries((it.obj.metadata[field] as Record<string, string> | undefined) ?? {})) ctx.io.out(`${k}=${v}\n`);
    return 0;
  }
  if (pairs.length === 0) throw usageError(`at least one ${kind} update is required`);
  if (resourceArgs.length === 0 && !f.list('filename').length) throw usageError('one or more resources must be specified as <resource> <name> or <resource>/<name>');
  const changes = parsePairs(pairs, kind);
  const format = f.string('output') ? parseOutputFormat(f.string('output'), false) : undefined;
  const items = await collectItems(ctx, resourceArgs);
  const conn = await ctx.conn();
  const overwrite = f.bool('overwrite');
  const outputs: KubeObject[] = [];
  // An object whose key already has another value is skipped; the others still change (kubectl goes on).
  const refused: string[] = [];
  for (const { type, obj } of items) {
    const before = { ...((obj.metadata[field] as Record<string, string> | undefined) ?? {}) };
    if (!overwrite) {
      const clashes = [...changes.set].filter(([k, v]) => before[k] !== undefined && before[k] !== v);
      if (clashes.length) {
        if (kind === 'label') refused.push(`'${clashes[0]![0]}' already has a value (${before[clashes[0]![0]]}), and --overwrite is false`);
        else refused.push(`--overwrite is false but found the following declared annotation(s): ${clashes.map(([k]) => `'${k}' already has a value (${before[k]})`).join('; ')}`);
        continue;
      }
    }
    const after = { ...before };
    for (const [k, v] of changes.set) after[k] = v;
    for (const k of changes.remove) {
      if (after[k] === undefined) {
        if (kind === 'label') ctx.io.out(`label ${JSON.stringify(k)} not found.\n`);
        continue;
      }
      delete after[k];
    }
    const oldJson = goJson(obj);
    const unchanged = goJson(before) === goJson(after);
    const newJson = unchanged ? oldJson : goJson({ ...obj, metadata: { ...obj.metadata, [field]: after } });
    let message: string;
    if (kind === 'annotation') message = 'annotated';
    else if (oldJson === newJson) message = 'not labeled';
    else message = !overwrite && newJson.length < oldJson.length ? 'unlabeled' : 'labeled';
    let result = obj;
    if (oldJson !== newJson && f.string('dry-run') !== 'client') {
      const patchMap: Record<string, string | null> = {};
      for (const [k, v] of changes.set) if (before[k] !== v) patchMap[k] = v;
      for (const k of changes.remove) if (before[k] !== undefined) patchMap[k] = null;
      const metadata: Record<string, unknown> = { [field]: patchMap };
      if (f.string('resource-version')) metadata['resourceVersion'] = f.string('resource-version');
      const q = f.string('dry-run') === 'server' ? '?dryRun=All' : '';
      const path = objectPath(type.info, obj.metadata.name ?? '', type.info.namespaced ? obj.metadata.namespace : undefined) + q;
      result = await ctx.must(conn.request<KubeObject>('PATCH', path, { body: { metadata }, contentType: 'application/merge-patch+json' }));
    }
    outputs.push(result);
    if (!format) ctx.io.out(`${type.kindName}/${obj.metadata.name} ${message}\n`);
    else if (format.kind === 'name') ctx.io.out(`${type.kindName}/${obj.metadata.name}\n`);
  }
  if (format && format.kind !== 'name' && outputs.length) ctx.io.out(printObjectFormat(format, outputs.length === 1 ? outputs[0] : listOf(outputs)));
  // One refusal prints as `error: ...`; several, one per line without the prefix (cmdutil.MultipleErrors).
  if (refused.length === 1) throw usageError(refused[0]!);
  if (refused.length > 1) throw new KubectlError(refused.join('\n'));
  return 0;
}
