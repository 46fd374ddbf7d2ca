// Reading `-f` sources the way kubectl's resource builder does: files,
// directories (their .json/.yaml/.yml files, -R for subfolders), `-` for
// stdin; multi-document YAML (read as YAML 1.1, as go-yaml does) or JSON;
// `kind: List` expanded. Every document is checked before anything is sent,
// with kubectl's messages (`error parsing`, `unable to decode`, `error
// validating data: kind not set`, `resource mapping not found`).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, type Document } from 'yaml';
import { parseApiVersion, resourceForKind, type ResourceInfo } from '../../k8s/resources.js';
import type { KubeObject } from '../../k8s/types.js';
import type { KubectlContext } from './context.js';
import { KubectlError, usageError } from './errors.js';
import { goJson } from './go-format.js';

export interface ManifestDoc {
  /** The file as kubectl names it in messages (`STDIN` for `-`). */
  source: string;
  object: KubeObject;
  group: string;
  kindLower: string;
  name: string;
}

export interface MappedDoc extends ManifestDoc {
  resource: ResourceInfo;
}

const MANIFEST_EXTENSIONS = ['.json', '.yaml', '.yml'];

/** go-yaml v2 reads YAML 1.1 but keeps timestamps and base-60 numbers as strings. */
const YAML_OPTIONS = {
  version: '1.1' as const,
  uniqueKeys: false,
  merge: true,
  customTags: (tags: { tag: string; format?: string }[]): { tag: string; format?: string }[] =>
    tags.filter((t) => !/timestamp|binary/.test(t.tag) && t.format !== 'TIME'),
};

function listDirectory(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...listDirectory(path, recursive));
    } else if (MANIFEST_EXTENSIONS.some((e) => entry.name.endsWith(e))) {
      out.push(path);
    }
  }
  return out;
}

/** go-yaml's texts for the problems the `yaml` package reports. */
function goYamlMessage(code: string, message: string, before: string): string {
  switch (code) {
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
    case 'IMPLICIT_KEY_FLOW_SEQUENCE':
      return 'mapping values are not allowed in this context';
    case 'BAD_INDENT':
      if (/\[\s*$/.test(before)) return 'did not find expected node content';
      if (/flow sequence/i.test(message)) return "did not find expected ',' or ']'";
      if (/flow mapping/i.test(message)) return "did not find expected ',' or '}'";
      return 'did not find expected key';
    case 'MISSING_CHAR':
      if (/quote/i.test(message)) return 'found unexpected end of stream';
      return 'did not find expected node content';
    case 'TAB_AS_INDENT':
      return 'found character that cannot start any token';
    case 'BAD_ALIAS':
      return `unknown anchor '${/"([^"]*)"/.exec(message)?.[1] ?? ''}' referenced`;
    case 'UNEXPECTED_TOKEN':
      if (/map-value-ind|scalar at node end/i.test(message)) return "did not find expected '-' indicator";
      return 'did not find expected node content';
    default:
      return message.split(' at line ')[0]!.replace(/:$/, '');
  }
}

/**
 * kubectl splits the stream at `---` lines and parses each document alone, so
 * go-yaml's line numbers count from the document's start.
 */
function documentLine(text: string, absoluteLine: number): number {
  const lines = text.split('\n');
  let start = 0;
  for (let i = 0; i < absoluteLine - 1 && i < lines.length; i++) if (/^---(\s|#|$)/.test(lines[i]!)) start = i + 1;
  return absoluteLine - start;
}

function yamlError(source: string, text: string, doc: Document.Parsed): KubectlError {
  // An implicit key running over two lines is reported by go-yaml where the second ':' is.
  const multiline = doc.errors.find((e) => e.code === 'MULTILINE_IMPLICIT_KEY');
  const e = multiline ?? doc.errors[0]!;
  const absolute = (multiline ? e.linePos?.[1]?.line : e.linePos?.[0]?.line) ?? 0;
  const line = absolute ? documentLine(text, absolute) : 0;
  const message = goYamlMessage(e.code, e.message, text.slice(0, e.pos[0]));
  // go-yaml counts parser errors' lines from 0 and leaves the line out for scanner errors on a document's first line.
  const parserError = message.startsWith('did not find');
  const shown = parserError ? line - 1 : line;
  const where = shown > 1 || (shown === 1 && (parserError || !message.startsWith('mapping values'))) ? `line ${shown}: ` : '';
  return usageError(`error parsing ${source}: error converting YAML to JSON: yaml: ${where}${message}`);
}

/** encoding/json's text for a syntax error at `offset` (1-based, bytes read). */
function goJsonSyntaxError(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  const at = m ? Number(m[1]) : text.length;
  const c = text[at];
  if (c === undefined) return 'unexpected end of JSON input';
  const before = text.slice(0, at).trimEnd();
  const last = before[before.length - 1];
  const shown = c === "'" ? "'\\''" : `'${c}'`;
  let context = 'looking for beginning of value';
  if (last === '{' || (last === ',' && /^[}]/.test(c))) context = 'looking for beginning of object key string';
  else if (last === ',' && before.lastIndexOf('{') > before.lastIndexOf('[')) context = 'looking for beginning of object key string';
  else if (/[\]}"\d el]/.test(last ?? '')) context = 'after object key:value pair';
  return `json: offset ${Buffer.byteLength(text.slice(0, at)) + 1}: invalid character ${shown} ${context}`;
}

/** The JSON-ish values of one source, or kubectl's parse error. */
function parseSource(source: string, text: string): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    // A JSON stream: one or more values.
    const values: unknown[] = [];
    let rest = trimmed;
    while (rest.trim()) {
      try {
        values.push(JSON.parse(rest));
        break;
      } catch (err) {
        const m = /position (\d+)/.exec((err as Error).message);
        const at = m ? Number(m[1]) : -1;
        if (at > 0 && /^\s*[{[]/.test(rest.slice(at)) && /Unexpected non-whitespace/.test((err as Error).message)) {
          values.push(JSON.parse(rest.slice(0, at)));
          rest = rest.slice(at);
          continue;
        }
        throw usageError(`error parsing ${source}: ${goJsonSyntaxError(rest, err as Error)}`);
      }
    }
    return values;
  }
  const docs = parseAllDocuments(text, YAML_OPTIONS as never) as unknown as Document.Parsed[] | { errors: unknown[] };
  if (!Array.isArray(docs)) return [];
  const values: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw yamlError(source, text, doc);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    } catch (err) {
      const alias = /alias[^:]*: (\S+)/i.exec((err as Error).message);
      if (alias) throw usageError(`error parsing ${source}: error converting YAML to JSON: yaml: unknown anchor '${alias[1]}' referenced`);
      throw usageError(`error parsing ${source}: error converting YAML to JSON: yaml: ${(err as Error).message}`);
    }
    if (value === null || value === undefined) continue;
    values.push(value);
  }
  return values;
}

function goTypeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

/** The checks kubectl's decoding makes before anything reaches the server. */
function checkDocument(source: string, value: unknown, errors: KubectlError[], out: ManifestDoc[]): void {
  const invalid = (why: string): KubectlError =>
    usageError(`error validating ${JSON.stringify(source)}: error validating data: ${why}; if you choose to ignore these errors, turn validation off with --validate=false`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push(invalid('invalid object to validate'));
    return;
  }
  const obj = value as Record<string, unknown>;
  const typeErrors = ['apiVersion', 'kind'].filter((f) => obj[f] !== undefined && obj[f] !== null && typeof obj[f] !== 'string').map((f) => `${f} isn't string type`);
  if (typeErrors.length) {
    errors.push(invalid(typeErrors.length === 1 ? typeErrors[0]! : `[${typeErrors.join(', ')}]`));
    return;
  }
  const meta = obj['metadata'];
  if (meta !== undefined && meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) {
    errors.push(usageError(`unable to decode ${JSON.stringify(source)}: json: cannot unmarshal ${goTypeOf(meta)} into Go struct field metadataOnlyObject.metadata of type v1.ObjectMeta`));
    return;
  }
  const missing: string[] = [];
  if (!obj['apiVersion']) missing.push('apiVersion not set');
  if (!obj['kind']) missing.push('kind not set');
  if (missing.length) {
    errors.push(invalid(missing.length === 1 ? missing[0]! : `[${missing.join(', ')}]`));
    return;
  }
  const m = (meta ?? {}) as Record<string, unknown>;
  for (const field of ['name', 'namespace', 'generateName', 'resourceVersion', 'uid']) {
    if (m[field] !== undefined && m[field] !== null && typeof m[field] !== 'string') {
      errors.push(usageError(`unable to decode ${JSON.stringify(source)}: json: cannot unmarshal ${goTypeOf(m[field])} into Go struct field ObjectMeta.metadata.${field} of type string`));
      return;
    }
  }
  for (const field of ['labels', 'annotations']) {
    const map = m[field];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || Array.isArray(map)) {
      errors.push(usageError(`unable to decode ${JSON.stringify(source)}: json: cannot unmarshal ${goTypeOf(map)} into Go struct field ObjectMeta.metadata.${field} of type map[string]string`));
      return;
    }
    for (const v of Object.values(map as Record<string, unknown>)) {
      if (typeof v !== 'string') {
        errors.push(usageError(`unable to decode ${JSON.stringify(source)}: json: cannot unmarshal ${goTypeOf(v)} into Go struct field ObjectMeta.metadata.${field} of type string`));
        return;
      }
    }
  }
  if (obj['kind'] === 'List' && obj['apiVersion'] === 'v1') {
    const items = Array.isArray(obj['items']) ? obj['items'] : [];
    for (const item of items) checkDocument(source, item, errors, out);
    return;
  }
  const { group } = parseApiVersion(String(obj['apiVersion']));
  out.push({
    source,
    object: obj as KubeObject,
    group,
    kindLower: String(obj['kind']).toLowerCase(),
    name: typeof m['name'] === 'string' ? m['name'] : '',
  });
}

/** Expand the -f arguments into files (or STDIN), with kubectl's error for a missing path. */
function expandPaths(paths: string[], recursive: boolean): string[] {
  const files: string[] = [];
  for (const arg of paths.flatMap((p) => p.split(','))) {
    if (arg === '-') {
      files.push('-');
      continue;
    }
    if (/^https?:\/\//.test(arg)) throw usageError(`podpath's kubectl cannot read manifests from URLs (${arg}): download the file first`);
    if (!existsSync(arg)) throw usageError(`the path ${JSON.stringify(arg)} does not exist`);
    if (statSync(arg).isDirectory()) files.push(...listDirectory(arg, recursive));
    else files.push(arg);
  }
  return files;
}

/** Every document of the -f sources, checked; throws the first failure (all of them for several). */
export async function readManifestSources(ctx: KubectlContext, paths: string[], recursive: boolean): Promise<ManifestDoc[]> {
  const docs: ManifestDoc[] = [];
  const errors: KubectlError[] = [];
  for (const file of expandPaths(paths, recursive)) {
    const source = file === '-' ? 'STDIN' : file;
    const text = file === '-' ? await ctx.io.readStdin() : readFileSync(file, 'utf8');
    for (const value of parseSource(source, text)) checkDocument(source, value, errors, docs);
  }
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new KubectlError(errors.map((e) => e.message.replace(/^error: /, '')).join('\n'));
  return docs;
}

/** Map each document to a served resource, or kubectl's "resource mapping not found". */
export function mapDocuments(docs: ManifestDoc[]): MappedDoc[] {
  const errors: string[] = [];
  const mapped: MappedDoc[] = [];
  for (const d of docs) {
    const resource = resourceForKind(String(d.object.apiVersion), String(d.object.kind));
    if (!resource) {
      const ns = typeof d.object.metadata?.namespace === 'string' ? d.object.metadata.namespace : '';
      errors.push(
        `resource mapping not found for name: ${JSON.stringify(d.name)} namespace: ${JSON.stringify(ns)} from ${JSON.stringify(d.source)}: no matches for kind ${JSON.stringify(d.object.kind)} in version ${JSON.stringify(d.object.apiVersion)}\nensure CRDs are installed first`,
      );
      continue;
    }
    mapped.push({ ...d, resource });
  }
  if (errors.length === 1) throw usageError(errors[0]!);
  if (errors.length > 1) throw new KubectlError(errors.join('\n'));
  return mapped;
}

/** Set the namespace of namespaced objects (kubectl's DefaultNamespace), refusing a mismatch with an explicit -n. */
export function settleNamespaces(ctx: KubectlContext, docs: MappedDoc[]): void {
  for (const d of docs) {
    if (!d.resource.namespaced) continue;
    const meta = (d.object.metadata ??= {} as KubeObject['metadata']);
    const given = typeof meta.namespace === 'string' ? meta.namespace : '';
    if (given && ctx.namespaceGiven && given !== ctx.namespace) {
      throw usageError(
        `the namespace from the provided object ${JSON.stringify(given)} does not match the namespace ${JSON.stringify(ctx.namespace)}. You must pass '--namespace=${given}' to perform this operation.`,
      );
    }
    if (!given) meta.namespace = ctx.namespace;
  }
}

/**
 * Two documents naming the same object: kubectl would apply both in turn (the
 * second overwriting the first); podpath refuses the file instead, so an
 * apply never half-happens.
 */
export function refuseDuplicates(docs: MappedDoc[]): void {
  const seen = new Map<string, MappedDoc>();
  for (const d of docs) {
    const key = `${d.resource.group}/${d.resource.plural}/${d.object.metadata?.namespace ?? ''}/${d.name}`;
    const first = seen.get(key);
    if (first && d.name) {
      const ns = d.object.metadata?.namespace ? ` in namespace ${JSON.stringify(d.object.metadata.namespace)}` : '';
      throw usageError(
        `error validating ${JSON.stringify(d.source)}: ${d.resource.kind.toLowerCase()}${d.resource.group ? '.' + d.resource.group : ''} ${JSON.stringify(d.name)}${ns} is defined more than once${first.source !== d.source ? ` (also in ${JSON.stringify(first.source)})` : ''}; nothing was applied`,
      );
    }
    seen.set(key, d);
  }
}

/** kubectl's message for a document without a name. */
export function emptyNameError(d: MappedDoc, verb: 'retrieving current configuration of' | 'creating' | 'deleting'): KubectlError {
  const r = d.resource;
  const gvr = `${r.group}/${r.version}, Resource=${r.plural}`;
  const gvk = `${r.group}/${r.version}, Kind=${r.kind}`;
  const ns = r.namespaced ? d.object.metadata?.namespace ?? '' : '';
  if (verb === 'retrieving current configuration of') {
    return usageError(
      `error when retrieving current configuration of:\nResource: ${JSON.stringify(gvr)}, GroupVersionKind: ${JSON.stringify(gvk)}\nName: "", Namespace: ${JSON.stringify(ns)}\nfrom server for: ${JSON.stringify(d.source)}: resource name may not be empty`,
    );
  }
  return usageError(`resource name may not be empty`);
}

/** Compact JSON of an object, as kubectl quotes one in messages. */
export function compactJson(v: unknown): string {
  return goJson(v);
}
