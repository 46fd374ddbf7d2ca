// kubectl's printers: the human table (from the server's Table, decorated
// with NAMESPACE, kind/ prefixes, label columns), -o name, json, yaml,
// jsonpath and custom-columns, with kubectl's messages for bad formats.

import type { Table, TableColumn, TableRow } from '../../k8s/tables.js';
import type { KubeObject } from '../../k8s/types.js';
import { goJson, goValue } from './go-format.js';
import { goYaml } from './go-yaml.js';
import { JsonPathExecError, JsonPathParseError, JsonPathTemplate, jsonPathExecMessage, relaxedJsonPath } from './jsonpath.js';
import { KubectlError, usageError } from './errors.js';
import { TabWriter } from './tabwriter.js';
import { readFileSync } from 'node:fs';

export type OutputFormat =
  | { kind: 'table'; wide: boolean }
  | { kind: 'name' }
  | { kind: 'json' }
  | { kind: 'yaml' }
  | { kind: 'jsonpath'; template: JsonPathTemplate; asJson: boolean }
  | { kind: 'custom-columns'; columns: { header: string; template: JsonPathTemplate }[] };

const GET_FORMATS = 'custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml';
const OBJECT_FORMATS = 'go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,yaml';

/** Read `-o`: `table` formats are allowed only where kubectl prints tables (get). */
export function parseOutputFormat(value: string, allowTables: boolean): OutputFormat {
  const eq = value.indexOf('=');
  const name = eq < 0 ? value : value.slice(0, eq);
  const arg = eq < 0 ? '' : value.slice(eq + 1);
  const allowed = allowTables ? GET_FORMATS : OBJECT_FORMATS;
  switch (name) {
    case '':
      if (allowTables) return { kind: 'table', wide: false };
      break;
    case 'wide':
      if (allowTables) return { kind: 'table', wide: true };
      break;
    case 'name':
      return { kind: 'name' };
    case 'json':
      return { kind: 'json' };
    case 'yaml':
      return { kind: 'yaml' };
    case 'jsonpath':
    case 'jsonpath-as-json':
    case 'jsonpath-file': {
      let text = arg;
      if (name === 'jsonpath-file') {
        if (!text) throw usageError('template format specified but no template file given');
        try {
          text = readFileSync(text, 'utf8');
        } catch (err) {
          throw usageError(`error reading --template ${text}, ${(err as Error).message}`);
        }
      }
      if (!text) throw usageError('template format specified but no template given');
      try {
        return { kind: 'jsonpath', template: new JsonPathTemplate(text), asJson: name === 'jsonpath-as-json' };
      } catch (err) {
        if (err instanceof JsonPathParseError) throw new KubectlError(`error: error parsing jsonpath ${text}, ${err.message}`);
        throw err;
      }
    }
    case 'custom-columns':
    case 'custom-columns-file': {
      if (!allowTables) break;
      let spec = arg;
      if (name === 'custom-columns-file') {
        try {
          const lines = readFileSync(arg, 'utf8').split('\n');
          const headers = (lines[0] ?? '').trim().split(/\s+/);
          const paths = (lines[1] ?? '').trim().split(/\s+/);
          spec = headers.map((h, i) => `${h}:${paths[i] ?? ''}`).join(',');
        } catch (err) {
          throw usageError(`error reading template ${arg}, ${(err as Error).message}`);
        }
      }
      if (!spec) throw usageError('custom-columns format specified but no custom columns given');
      return { kind: 'custom-columns', columns: parseCustomColumns(spec) };
    }
    case 'go-template':
    case 'go-template-file':
    case 'template':
    case 'templatefile':
      throw usageError(`podpath's kubectl does not support the ${name} output format: use jsonpath or custom-columns`);
  }
  throw usageError(`unable to match a printer suitable for the output format ${JSON.stringify(value)}, allowed formats are: ${allowed}`);
}

function parseCustomColumns(spec: string): { header: string; template: JsonPathTemplate }[] {
  return spec.split(',').map((part) => {
    const colon = part.indexOf(':');
    if (colon < 0) throw usageError(`unexpected custom-columns spec: ${part}, expected <header>:<json-path-expr>`);
    const header = part.slice(0, colon);
    try {
      return { header, template: new JsonPathTemplate(relaxedJsonPath(part.slice(colon + 1))) };
    } catch (err) {
      if (err instanceof JsonPathParseError) throw usageError(err.message);
      throw err;
    }
  });
}

// ---- human tables -------------------------------------------------------------------

export interface TableOptions {
  wide: boolean;
  noHeaders: boolean;
  withNamespace: boolean;
  /** `pod`, `deployment.apps`: prefix NAME cells with it (several types printed). */
  kindPrefix?: string;
  showLabels: boolean;
  labelColumns: string[];
}

function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (!keys.length) return '<none>';
  return keys.map((k) => `${k}=${labels![k]}`).join(',');
}

function metadataOf(row: TableRow): KubeObject['metadata'] | undefined {
  const o = row.object as { metadata?: KubeObject['metadata'] } | undefined;
  return o?.metadata;
}

function cellText(cell: unknown): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'string') {
    const cut = cell.search(/[\f\n\r]/);
    return cut >= 0 ? `${cell.slice(0, cut)}...` : cell;
  }
  return goValue(cell);
}

/** The tab-separated lines kubectl writes for a Table (decorateTable + printTable). */
export function tableLines(table: Table, columnsIn: TableColumn[], opts: TableOptions, printHeader: boolean): string {
  const columns: { name: string; priority: number }[] = [];
  if (opts.withNamespace) columns.push({ name: 'Namespace', priority: 0 });
  columns.push(...columnsIn.map((c) => ({ name: c.name, priority: c.priority })));
  for (const label of opts.labelColumns) columns.push({ name: label.split('/').pop()!, priority: 0 });
  if (opts.showLabels) columns.push({ name: 'Labels', priority: 0 });
  const nameColumn = opts.kindPrefix ? columnsIn.findIndex((c) => c.format === 'name' && c.type === 'string') : -1;
  const visible = (c: { priority: number }): boolean => opts.wide || c.priority === 0;

  let text = '';
  if (printHeader && !opts.noHeaders && table.rows.length > 0) {
    text += columns.filter(visible).map((c) => c.name.toUpperCase()).join('\t') + '\n';
  }
  for (const row of table.rows) {
    const meta = metadataOf(row);
    const cells: unknown[] = [...row.cells];
    if (nameColumn >= 0) cells[nameColumn] = `${opts.kindPrefix}/${String(cells[nameColumn])}`;
    if (opts.withNamespace) cells.unshift(meta?.namespace ?? '');
    for (const key of opts.labelColumns) cells.push(meta?.labels?.[key] ?? '');
    if (opts.showLabels) cells.push(formatLabels(meta?.labels));
    const shown: string[] = [];
    columns.forEach((c, i) => {
      if (visible(c)) shown.push(cellText(cells[i]));
    });
    text += shown.join('\t') + '\n';
  }
  return text;
}

/** kubectl's table writer: min width 6, padding 3, widths remembered while one resource type prints. */
export function newTableWriter(): TabWriter {
  return new TabWriter({ padding: 3, minWidth: 6, rememberWidths: true });
}

// ---- object formats -----------------------------------------------------------------------

/** `pod/x`, `deployment.apps/x`. */
export function nameOf(kindName: string, obj: KubeObject): string {
  return `${kindName}/${obj.metadata.name ?? ''}`;
}

/** The List kubectl wraps several objects in. */
export function listOf(items: KubeObject[]): Record<string, unknown> {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

/** Print one value (an object or a List) as -o json|yaml|jsonpath. */
export function printObjectFormat(format: OutputFormat, value: unknown): string {
  switch (format.kind) {
    case 'json':
      return goJson(value, '    ') + '\n';
    case 'yaml':
      return goYaml(value);
    case 'jsonpath':
      try {
        return format.template.execute(value, format.asJson);
      } catch (err) {
        if (err instanceof JsonPathExecError) throw new KubectlError(`error: ${jsonPathExecMessage(format.template.source, err, value)}`);
        throw err;
      }
    default:
      throw new Error(`not an object format: ${format.kind}`);
  }
}

/** -o custom-columns rows for these objects (header first unless noHeaders). */
export function customColumnsText(format: OutputFormat & { kind: 'custom-columns' }, objects: unknown[], noHeaders: boolean): string {
  let text = noHeaders ? '' : format.columns.map((c) => c.header).join('\t') + '\n';
  for (const obj of objects) {
    const cells = format.columns.map((c) => {
      let results: unknown[][];
      try {
        results = c.template.findResults(obj);
      } catch (err) {
        if (err instanceof JsonPathExecError) throw usageError(err.message);
        throw err;
      }
      const values = results.flat();
      if (results.length === 0 || (results[0] ?? []).length === 0) return '<none>';
      return values.map((v) => goValue(v)).join(',');
    });
    text += cells.join('\t') + '\n';
  }
  return text;
}
