// kubectl get: tables from the server's Table (as real kubectl prints them),
// -o wide|name|json|yaml|jsonpath|custom-columns, -l, --field-selector, -A,
// --show-labels, -L, --no-headers, --sort-by, -w.

import type { Status } from '../../../k8s/status.js';
import type { Table, TableColumn } from '../../../k8s/tables.js';
import type { KubeList, KubeObject } from '../../../k8s/types.js';
import { apiVersionOf } from '../../../k8s/resources.js';
import type { Answer } from '../api.js';
import { TABLE_ACCEPT } from '../api.js';
import type { KubectlContext, ResolvedType } from '../context.js';
import { aggregate, KubectlError, statusLine, usageError } from '../errors.js';
import type { FlagSpec } from '../flags.js';
import { JsonPathExecError, JsonPathTemplate, relaxedJsonPath } from '../jsonpath.js';
import {
  customColumnsText,
  listOf,
  nameOf,
  newTableWriter,
  parseOutputFormat,
  printObjectFormat,
  tableLines,
  type OutputFormat,
  type TableOptions,
} from '../printers.js';
import { gvrString, itemPath, listPath, parseResourceArgs, type ParsedResourceArgs } from '../resource-args.js';
import { readManifestSources } from '../manifests.js';

export const GET_FLAGS: FlagSpec[] = [
  { name: 'output', short: 'o', type: 'string' },
  { name: 'selector', short: 'l', type: 'string' },
  { name: 'field-selector', type: 'string' },
  { name: 'all-namespaces', short: 'A', type: 'bool' },
  { name: 'show-labels', type: 'bool' },
  { name: 'label-columns', short: 'L', type: 'stringArray' },
  { name: 'watch', short: 'w', type: 'bool' },
  { name: 'watch-only', type: 'bool' },
  { name: 'output-watch-events', type: 'bool' },
  { name: 'no-headers', type: 'bool' },
  { name: 'show-kind', type: 'bool' },
  { name: 'ignore-not-found', type: 'bool' },
  { name: 'sort-by', type: 'string' },
  { name: 'filename', short: 'f', type: 'stringArray' },
  { name: 'recursive', short: 'R', type: 'bool' },
  { name: 'chunk-size', type: 'int', default: 500 },
  { name: 'server-print', type: 'bool', default: true },
  { name: 'allow-missing-template-keys', type: 'bool', default: true },
  { name: 'template', type: 'string' },
];

/** One type's answer: a Table for human output, objects otherwise. */
interface TypeResult {
  type: ResolvedType;
  table?: Table;
  objects: KubeObject[];
}

function withKind(type: ResolvedType, obj: KubeObject): KubeObject {
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(type.info), kind: obj.kind ?? type.info.kind };
}

/** Sort objects (and their table rows) by a JSONPath, as --sort-by does. */
function sortByPath(path: string, objects: KubeObject[]): number[] {
  let template: JsonPathTemplate;
  try {
    template = new JsonPathTemplate(relaxedJsonPath(path));
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const keys = objects.map((o) => {
    try {
      return template.findResults(o).flat()[0];
    } catch (err) {
      if (err instanceof JsonPathExecError) return undefined;
      throw err;
    }
  });
  const order = objects.map((_, i) => i);
  order.sort((a, b) => {
    const x = keys[a];
    const y = keys[b];
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return sortByCompare(String(x), String(y));
  });
  return order;
}

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** The value of a string that parses as a Kubernetes quantity (`6552`, `1e3`, `500m`, `2Gi`), else undefined. */
function quantityValue(s: string): number | undefined {
  const m = QUANTITY.exec(s);
  if (!m) return undefined;
  const suffix = m[2] ?? '';
  const scale = suffix === '' ? 1 : /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix]!;
  return Number(m[1]) * scale;
}

/**
 * How --sort-by orders two strings (as kubectl 1.32 does): by value when both
 * are quantities, so CiliumIdentity 6552 comes before 11939; otherwise byte by
 * byte (web-10 before web-9).
 */
export function sortByCompare(a: string, b: string): number {
  const x = quantityValue(a);
  const y = quantityValue(b);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function runGet(ctx: KubectlContext): Promise<number> {
  const f = ctx.flags;
  const format = parseOutputFormat(f.string('output'), true);
  const allNamespaces = f.bool('all-namespaces');
  const selector = f.string('selector');
  const fieldSelector = f.string('field-selector');
  const files = f.list('filename');
  let args = f.args;

  if (files.length) {
    if (args.length) throw usageError('when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well');
    const docs = await readManifestSources(ctx, files, f.bool('recursive'));
    args = docs.map((d) => {
      const type = ctx.resolveType(`${d.kindLower}.${d.group || 'core'}`);
      return `${type.info.plural}${type.info.group ? '.' + type.info.group : ''}/${d.name}`;
    });
    if (!args.length) throw usageError('no objects passed to get');
  }

  if (args.length === 0) {
    ctx.io.err('You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.\n\n');
    throw new KubectlError(
      'error: Required resource not specified.\nUse "kubectl explain <resource>" for a detailed description of that resource (e.g. kubectl explain pods).\nSee \'kubectl get -h\' for help and examples',
    );
  }

  const parsed = parseResourceArgs(ctx, args);
  if (selector && parsed.requests.some((r) => r.names)) throw usageError('name cannot be provided when a selector is specified');
  const conn = await ctx.conn();
  const human = format.kind === 'table';
  const includeObject = human ? (f.string('sort-by') ? 'Object' : 'Metadata') : undefined;

  const results: TypeResult[] = [];
  const errors: Status[] = [];
  for (const req of parsed.requests) {
    const result: TypeResult = { type: req.type, objects: [] };
    results.push(result);
    const tables: Table[] = [];
    if (req.names) {
      for (const name of req.names) {
        const q = new URLSearchParams();
        if (includeObject) q.set('includeObject', includeObject);
        const path = itemPath(ctx, req.type, name, q);
        if (human) {
          const a = await conn.table(path);
          if (a.ok) tables.push(a.value);
          else if (!(f.bool('ignore-not-found') && a.status.reason === 'NotFound')) errors.push(a.status);
        } else {
          const a = await conn.get(path);
          if (a.ok) result.objects.push(withKind(req.type, a.value));
          else if (!(f.bool('ignore-not-found') && a.status.reason === 'NotFound')) errors.push(a.status);
        }
      }
    } else {
      const q = new URLSearchParams();
      if (selector) q.set('labelSelector', selector);
      if (fieldSelector) q.set('fieldSelector', fieldSelector);
      if (includeObject) q.set('includeObject', includeObject);
      const path = listPath(ctx, req.type, allNamespaces, q);
      const a: Answer<Table | KubeList> = human ? await conn.table(path) : await conn.list(path);
      if (!a.ok) {
        const message = `Unable to find ${JSON.stringify(gvrString(req.type))} that match label selector ${JSON.stringify(selector)}, field selector ${JSON.stringify(fieldSelector)}: ${a.status.message ?? ''}`;
        errors.push(a.status.code === 0 ? a.status : { ...a.status, message });
        continue;
      }
      ctx.warn(a.warnings);
      if (human) tables.push(a.value as Table);
      else result.objects.push(...(a.value as KubeList).items.map((o) => withKind(req.type, o)));
    }
    if (human && tables.length) {
      const columns = tables.find((t) => t.columnDefinitions.length)?.columnDefinitions ?? [];
      result.table = { ...tables[0]!, columnDefinitions: columns, rows: tables.flatMap((t) => t.rows) };
      result.objects = result.table.rows.map((r) => r.object as KubeObject);
    }
  }

  if (human) printHumanTables(ctx, results, parsed, format.wide, allNamespaces, errors.length > 0);
  else printObjects(ctx, results, parsed, format);

  const failed = aggregate(errors);
  if (failed) {
    // Objects found are printed before the errors about the others, as kubectl does.
    throw failed;
  }
  if (f.bool('watch') || f.bool('watch-only')) return watch(ctx, parsed, format, allNamespaces, results);
  return 0;
}

function tableOptionsFor(ctx: KubectlContext, type: ResolvedType, parsed: ParsedResourceArgs, wide: boolean, allNamespaces: boolean, afterNamespaced = false): TableOptions {
  const f = ctx.flags;
  return {
    wide,
    noHeaders: f.bool('no-headers'),
    // With -A, a cluster-scoped kind named after a namespaced one keeps the (empty) NAMESPACE column, as kubectl prints it.
    withNamespace: allNamespaces && (type.info.namespaced || afterNamespaced),
    ...(parsed.multipleTypes || f.bool('show-kind') ? { kindPrefix: type.kindName } : {}),
    showLabels: f.bool('show-labels'),
    labelColumns: f.list('label-columns').flatMap((l) => l.split(',')).filter(Boolean),
  };
}

function printHumanTables(ctx: KubectlContext, results: TypeResult[], parsed: ParsedResourceArgs, wide: boolean, allNamespaces: boolean, failed: boolean): void {
  const f = ctx.flags;
  const writer = newTableWriter();
  let printedAny = false;
  let afterNamespaced = false;
  for (const r of results) {
    const table = r.table;
    const namespacedBefore = afterNamespaced;
    afterNamespaced ||= r.type.info.namespaced;
    if (!table || table.rows.length === 0) continue;
    if (f.string('sort-by')) {
      const order = sortByPath(f.string('sort-by'), table.rows.map((row) => row.object as KubeObject));
      table.rows = order.map((i) => table.rows[i]!);
    }
    writer.resetWidths();
    if (printedAny && !f.bool('no-headers')) ctx.io.out('\n');
    ctx.io.out(writer.format(tableLines(table, table.columnDefinitions, tableOptionsFor(ctx, r.type, parsed, wide, allNamespaces, namespacedBefore), true)));
    printedAny = true;
  }
  const anyRequestedByName = parsed.requests.some((r) => r.names);
  if (!printedAny && !anyRequestedByName && !failed) {
    const namespaced = results.some((r) => r.type.info.namespaced);
    ctx.io.err(allNamespaces || !namespaced ? 'No resources found\n' : `No resources found in ${ctx.namespace} namespace.\n`);
  }
}

function printObjects(ctx: KubectlContext, results: TypeResult[], parsed: ParsedResourceArgs, format: OutputFormat): void {
  const f = ctx.flags;
  const all = results.flatMap((r) => r.objects.map((o) => ({ type: r.type, obj: o })));
  if (f.string('sort-by')) {
    const order = sortByPath(f.string('sort-by'), all.map((x) => x.obj));
    all.splice(0, all.length, ...order.map((i) => all[i]!));
  }
  switch (format.kind) {
    case 'name':
      for (const { type, obj } of all) ctx.io.out(nameOf(type.kindName, obj) + '\n');
      return;
    case 'custom-columns':
      if (all.length === 0) {
        if (!parsed.requests.some((r) => r.names)) ctx.io.err(`No resources found in ${ctx.namespace} namespace.\n`);
        return;
      }
      ctx.io.out(newTableWriter().format(customColumnsText(format, all.map((x) => x.obj), f.bool('no-headers'))));
      return;
    default: {
      const value = parsed.singleItem && all.length === 1 ? all[0]!.obj : listOf(all.map((x) => x.obj));
      ctx.io.out(printObjectFormat(format, value));
    }
  }
}

/** -w: after the list, print every change until interrupted or the server ends the watch. */
async function watch(ctx: KubectlContext, parsed: ParsedResourceArgs, format: OutputFormat, allNamespaces: boolean, results: TypeResult[]): Promise<number> {
  const f = ctx.flags;
  if (parsed.requests.length > 1) throw usageError('you may only specify a single resource type');
  const req = parsed.requests[0]!;
  const conn = await ctx.conn();
  const q = new URLSearchParams({ watch: 'true' });
  if (f.string('selector')) q.set('labelSelector', f.string('selector'));
  const fieldSelectors = [f.string('field-selector')];
  if (req.names) {
    if (req.names.length > 1) throw usageError('watch is only supported on individual resources and resource collections, but 2 resources were found');
    fieldSelectors.push(`metadata.name=${req.names[0]}`);
  }
  const fs = fieldSelectors.filter(Boolean).join(',');
  if (fs) q.set('fieldSelector', fs);
  const human = format.kind === 'table';
  // Start after what was printed (the server sends current objects as ADDED when no version is given).
  const printed = results[0]?.table?.metadata.resourceVersion ?? '';
  if (!f.bool('watch-only') && printed) q.set('resourceVersion', printed);
  if (human) q.set('includeObject', 'Metadata');
  const stream = conn.watch(listPath(ctx, req.type, allNamespaces, q), human ? TABLE_ACCEPT : 'application/json');
  const stop = (): void => stream.stop();
  ctx.io.signal?.addEventListener('abort', stop);
  const writer = newTableWriter();
  let columns: TableColumn[] = results[0]?.table?.columnDefinitions ?? [];
  // Widths continue from the list kubectl printed first.
  if (results[0]?.table && results[0].table.rows.length) writer.format(tableLines(results[0].table, columns, tableOptionsFor(ctx, req.type, parsed, format.kind === 'table' && format.wide, allNamespaces), true));
  let headerPrinted = !!results[0]?.table?.rows.length && !f.bool('watch-only');
  try {
    for (;;) {
      const e = await stream.next();
      if (!e) return 0;
      if (e.type === 'BOOKMARK') continue;
      if (e.type === 'ERROR') throw new KubectlError(statusLine(e.object as Status));
      if (human) {
        const table = e.object as Table;
        if (table.columnDefinitions.length) columns = table.columnDefinitions;
        const opts = tableOptionsFor(ctx, req.type, parsed, format.kind === 'table' && format.wide, allNamespaces);
        let lines = tableLines({ ...table, columnDefinitions: columns }, columns, opts, !headerPrinted);
        if (f.bool('output-watch-events')) lines = lines.replace(/^/gm, `${e.type}\t`).replace(/\n[^\n]*$/, '\n');
        headerPrinted = true;
        ctx.io.out(writer.format(lines));
      } else if (format.kind === 'name') {
        ctx.io.out(nameOf(req.type.kindName, e.object as KubeObject) + '\n');
      } else if (format.kind === 'custom-columns') {
        ctx.io.out(writer.format(customColumnsText(format, [e.object], true)));
      } else {
        ctx.io.out(printObjectFormat(format, withKind(req.type, e.object as KubeObject)));
      }
    }
  } finally {
    ctx.io.signal?.removeEventListener('abort', stop);
    stream.stop();
  }
}

