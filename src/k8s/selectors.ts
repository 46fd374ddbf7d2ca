// Label and field selectors. The label grammar is Kubernetes' (`a=b`, `a!=b`,
// `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma = AND), and the object form
// (matchLabels/matchExpressions) compiles to the same matcher, so a Service
// selector, a Deployment selector and `kubectl get -l` agree by construction.

import type { ResourceInfo } from './resources.js';
import { checkLabelValue, checkQualifiedName } from './validation/names.js';
import {
  childPath,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  indexPath,
  renderFieldError,
  type FieldError,
} from './validation/field.js';

export type LabelOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | '=' | '==' | '!=' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted, de-duplicated. */
  readonly values: readonly string[];
}

export type Labels = Readonly<Record<string, string>> | undefined;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function requirementMatches(r: LabelRequirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key]! : undefined;
  switch (r.operator) {
    case 'In':
    case '=':
    case '==':
      return v !== undefined && r.values.includes(v);
    case 'NotIn':
    case '!=':
      return v === undefined || !r.values.includes(v);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'gt':
    case 'lt': {
      if (v === undefined || !/^-?\d+$/.test(v)) return false;
      const have = Number(v);
      const limit = Number(r.values[0]);
      return r.operator === 'gt' ? have > limit : have < limit;
    }
  }
}

function requirementText(r: LabelRequirement): string {
  switch (r.operator) {
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    case 'In':
      return `${r.key} in (${r.values.join(',')})`;
    case 'NotIn':
      return `${r.key} notin (${r.values.join(',')})`;
    case 'gt':
      return `${r.key}>${r.values[0]}`;
    case 'lt':
      return `${r.key}<${r.values[0]}`;
    default:
      return `${r.key}${r.operator}${r.values[0]}`;
  }
}

/** A conjunction of label requirements. `matchesNothing` distinguishes a nil selector from an empty one. */
export class LabelSelector {
  static readonly everything = new LabelSelector([]);
  static readonly nothing = new LabelSelector([], true);

  constructor(
    readonly requirements: readonly LabelRequirement[],
    readonly matchesNothing = false,
  ) {}

  matches(labels: Labels): boolean {
    if (this.matchesNothing) return false;
    return this.requirements.every((r) => requirementMatches(r, labels));
  }

  get isEverything(): boolean {
    return !this.matchesNothing && this.requirements.length === 0;
  }

  /** Canonical text, requirements sorted by key (what kubectl and the apiserver print). */
  toString(): string {
    return [...this.requirements]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(requirementText)
      .join(',');
  }
}

// ---- label selector text ----------------------------------------------------

type TokenKind = 'ident' | '!' | '!=' | '=' | '==' | '>' | '<' | '(' | ')' | ',' | 'in' | 'notin' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
}

const SYMBOL_CHARS = '=!(),><';

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (SYMBOL_CHARS.includes(c)) {
      const two = s.slice(i, i + 2);
      if (two === '!=' || two === '==') {
        out.push({ kind: two, text: two });
        i += 2;
      } else {
        out.push({ kind: c as TokenKind, text: c });
        i++;
      }
      continue;
    }
    let j = i;
    while (j < s.length && !/\s/.test(s[j]!) && !SYMBOL_CHARS.includes(s[j]!)) j++;
    const text = s.slice(i, j);
    out.push({ kind: text === 'in' ? 'in' : text === 'notin' ? 'notin' : 'ident', text });
    i = j;
  }
  out.push({ kind: 'end', text: '' });
  return out;
}

class SelectorSyntaxError extends Error {}

/** Recursive-descent parser over the token list; `in`/`notin` read as plain words where a value is expected. */
class LabelParser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(asValue = false): Token {
    return this.normalize(this.tokens[this.pos]!, asValue);
  }

  private next(asValue = false): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'end') this.pos++;
    return this.normalize(t, asValue);
  }

  private normalize(t: Token, asValue: boolean): Token {
    return asValue && (t.kind === 'in' || t.kind === 'notin') ? { kind: 'ident', text: t.text } : t;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const t = this.peek(true);
      if (t.kind === 'end') return reqs;
      if (t.kind !== 'ident' && t.kind !== '!') {
        throw new SelectorSyntaxError(`found '${t.text}', expected: !, identifier, or 'end of string'`);
      }
      reqs.push(this.requirement());
      const after = this.next(true);
      if (after.kind === 'end') return reqs;
      if (after.kind !== ',') throw new SelectorSyntaxError(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.peek(true);
      if (following.kind !== 'ident' && following.kind !== '!') {
        throw new SelectorSyntaxError(`found '${following.text}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): LabelRequirement {
    let t = this.next(true);
    let negated = false;
    if (t.kind === '!') {
      negated = true;
      t = this.next(true);
    }
    if (t.kind !== 'ident') throw new RequirementError(`found '${t.text}', expected: identifier`);
    const key = t.text;
    const keyProblems = checkQualifiedName(key);
    if (keyProblems.length) throw new RequirementError(renderFieldError(fieldInvalid('key', key, keyProblems.join('; '))));
    if (negated) return makeRequirement(key, 'DoesNotExist', []);
    const look = this.peek(true);
    if (look.kind === 'end' || look.kind === ',') return makeRequirement(key, 'Exists', []);

    const op = this.next();
    switch (op.kind) {
      case 'in':
      case 'notin':
        return makeRequirement(key, op.kind === 'in' ? 'In' : 'NotIn', this.valueList());
      case '=':
      case '==':
      case '!=':
        return makeRequirement(key, op.kind, [this.exactValue()]);
      case '>':
      case '<':
        return makeRequirement(key, op.kind === '>' ? 'gt' : 'lt', [this.exactValue()]);
      default:
        throw new RequirementError(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  private exactValue(): string {
    const look = this.peek(true);
    if (look.kind === 'end' || look.kind === ',') return '';
    const t = this.next(true);
    if (t.kind !== 'ident') throw new RequirementError(`found '${t.text}', expected: identifier`);
    return t.text;
  }

  private valueList(): string[] {
    const open = this.next(true);
    if (open.kind !== '(') throw new RequirementError(`found '${open.text}', expected: '('`);
    const values: string[] = [];
    let expectValue = true;
    for (;;) {
      const t = this.next(true);
      if (t.kind === ')') {
        if (expectValue) values.push('');
        return values;
      }
      if (t.kind === ',') {
        if (expectValue) values.push('');
        expectValue = true;
        continue;
      }
      if (t.kind === 'ident' && expectValue) {
        values.push(t.text);
        expectValue = false;
        continue;
      }
      throw new RequirementError(
        expectValue ? `found '${t.text}', expected: ',', ')' or identifier` : `found '${t.text}', expected: ',' or ')'`,
      );
    }
  }
}

class RequirementError extends SelectorSyntaxError {}

function makeRequirement(key: string, operator: LabelOperator, rawValues: string[]): LabelRequirement {
  const values = [...new Set(rawValues)].sort();
  if ((operator === 'gt' || operator === 'lt') && !/^-?\d+$/.test(values[0] ?? '')) {
    throw new RequirementError(`for 'Gt', 'Lt' operators, the value must be an integer`);
  }
  values.forEach((v, i) => {
    const problems = checkLabelValue(v);
    if (problems.length) {
      throw new RequirementError(renderFieldError(fieldInvalid(`values[${i}][${key}]`, v, problems.join('; '))));
    }
  });
  return Object.freeze({ key, operator, values: Object.freeze(values) });
}

/** Parse `kubectl get -l` syntax. An empty string selects everything. */
export function parseLabelSelector(text: string): Parsed<LabelSelector> {
  try {
    return { ok: true, value: new LabelSelector(new LabelParser(tokenize(text)).parse()) };
  } catch (err) {
    if (err instanceof RequirementError) return { ok: false, error: `unable to parse requirement: ${err.message}` };
    if (err instanceof SelectorSyntaxError) return { ok: false, error: err.message };
    throw err;
  }
}

// ---- label selector objects (matchLabels / matchExpressions) -----------------

export interface LabelSelectorRequirementObject {
  key?: string | undefined;
  operator?: string | undefined;
  values?: string[] | undefined;
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?: LabelSelectorRequirementObject[] | undefined;
}

/** Field errors in a metav1.LabelSelector, reported under `path` (e.g. `spec.selector`). */
export function validateLabelSelectorObject(sel: LabelSelectorObject, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    const labelsPath = childPath(path, 'matchLabels');
    for (const p of checkQualifiedName(k)) errs.push(fieldInvalid(labelsPath, k, p));
    for (const p of checkLabelValue(v)) errs.push(fieldInvalid(labelsPath, v, p));
  }
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const ep = indexPath(childPath(path, 'matchExpressions'), i);
    const values = e.values ?? [];
    switch (e.operator ?? '') {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          errs.push(fieldRequired(childPath(ep, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          errs.push(fieldForbidden(childPath(ep, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        }
        break;
      case '':
        errs.push(fieldRequired(childPath(ep, 'operator')));
        break;
      default:
        errs.push(fieldNotSupported(childPath(ep, 'operator'), e.operator, ['DoesNotExist', 'Exists', 'In', 'NotIn']));
    }
    if (!e.key) errs.push(fieldRequired(childPath(ep, 'key')));
    else for (const p of checkQualifiedName(e.key)) errs.push(fieldInvalid(childPath(ep, 'key'), e.key, p));
    values.forEach((v, j) => {
      for (const p of checkLabelValue(v)) errs.push(fieldInvalid(indexPath(childPath(ep, 'values'), j), v, p));
    });
  });
  return errs;
}

/**
 * Compile a LabelSelector object. `undefined` selects nothing and `{}` selects
 * everything, as in Kubernetes. Callers validate first; an operator that is not
 * understood makes the selector match nothing rather than everything.
 */
export function selectorFromObject(sel: LabelSelectorObject | undefined): LabelSelector {
  if (sel === undefined) return LabelSelector.nothing;
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, operator: '=', values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const values = [...new Set(e.values ?? [])].sort();
    switch (e.operator) {
      case 'In':
      case 'NotIn':
      case 'Exists':
      case 'DoesNotExist':
        reqs.push({ key: e.key ?? '', operator: e.operator, values });
        break;
      default:
        return LabelSelector.nothing;
    }
  }
  return new LabelSelector(reqs);
}

/** A plain map selector (Service.spec.selector, nodeSelector): every pair must match. Empty selects everything. */
export function selectorFromMap(map: Readonly<Record<string, string>> | undefined): LabelSelector {
  return new LabelSelector(Object.entries(map ?? {}).map(([key, v]) => ({ key, operator: '=' as const, values: [v] })));
}

// ---- field selectors --------------------------------------------------------

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '==' | '!=';
  readonly value: string;
}

export class FieldSelector {
  static readonly everything = new FieldSelector([]);

  constructor(readonly requirements: readonly FieldRequirement[]) {}

  matches(fields: Readonly<Record<string, string>>): boolean {
    return this.requirements.every((r) => {
      const v = fields[r.field] ?? '';
      return r.operator === '!=' ? v !== r.value : v === r.value;
    });
  }

  /** Fields named by this selector (to check that the resource supports them). */
  get fields(): string[] {
    return this.requirements.map((r) => r.field);
  }

  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.operator}${r.value}`).join(',');
  }
}

/** Split on separators not escaped with a backslash. */
function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function unescapeFieldValue(v: string): Parsed<string> {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\\') {
      const n = v[i + 1];
      if (n === '\\' || n === ',' || n === '=') {
        out += n;
        i++;
        continue;
      }
      return { ok: false, error: `invalid field selector: invalid escape sequence: ${v}` };
    }
    if (c === ',' || c === '=') return { ok: false, error: `invalid field selector: unescaped '${c}' in value: ${v}` };
    out += c;
  }
  return { ok: true, value: out };
}

/** Parse `--field-selector` syntax: `a=b`, `a==b`, `a!=b`, comma = AND; values may be empty. */
export function parseFieldSelector(text: string): Parsed<FieldSelector> {
  if (text.trim() === '') return { ok: true, value: FieldSelector.everything };
  const reqs: FieldRequirement[] = [];
  for (const term of splitUnescaped(text, ',')) {
    if (term === '') continue;
    const m = /^([^=!]*?)(!=|==|=)(.*)$/.exec(term);
    if (!m || m[1] === '') return { ok: false, error: `invalid selector: '${text}'; can't understand '${term}'` };
    const value = unescapeFieldValue(m[3]!);
    if (!value.ok) return value;
    reqs.push({ field: m[1]!.trim(), operator: m[2] as FieldRequirement['operator'], value: value.value });
  }
  return { ok: true, value: new FieldSelector(reqs) };
}

function valueAt(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The field-selector view of an object: every selectable field of its resource as a string ('' when unset). */
export function selectableFieldsOf(resource: ResourceInfo, obj: unknown): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': String(valueAt(obj, 'metadata.name') ?? ''),
  };
  if (resource.namespaced) fields['metadata.namespace'] = String(valueAt(obj, 'metadata.namespace') ?? '');
  for (const f of resource.selectableFields) {
    // Events select on the reporting component through the short name `source`.
    const v = f === 'source' ? valueAt(obj, 'source.component') : valueAt(obj, f);
    fields[f] = v === undefined || v === null ? '' : String(v);
  }
  if (resource.kind === 'Pod' && fields['spec.hostNetwork'] === '') fields['spec.hostNetwork'] = 'false';
  if (resource.kind === 'Node' && fields['spec.unschedulable'] === '') fields['spec.unschedulable'] = 'false';
  return fields;
}

/** Names in the selector that the resource cannot select on, with the apiserver's message for the first. */
export function unsupportedFieldError(resource: ResourceInfo, sel: FieldSelector): string | undefined {
  const supported = new Set(['metadata.name', ...(resource.namespaced ? ['metadata.namespace'] : []), ...resource.selectableFields]);
  const bad = sel.fields.find((f) => !supported.has(f));
  return bad === undefined ? undefined : `field label not supported: ${bad}`;
}
