// Kubernetes' JSONPath template dialect (k8s.io/client-go/util/jsonpath), as
// `kubectl -o jsonpath=...` and custom-columns use it: text outside braces is
// printed as is; inside, `.field`, `['key']`, `[i]`, `[a:b:c]`, `[*]`, `.*`,
// `..`, unions `[0,1]`, filters `[?(@.x=="y")]`, `{range ...}{end}`, and
// quoted literals (`{"\n"}`). Missing keys print nothing (kubectl allows them).

import { goJson, goSharpValue, goStringCompare, goValue } from './go-format.js';

type Node =
  | { type: 'list'; nodes: Node[] }
  | { type: 'text'; text: string }
  | { type: 'field'; name: string }
  | { type: 'array'; params: SliceParam[] }
  | { type: 'filter'; left: Node; right: Node; operator: string }
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'wildcard' }
  | { type: 'recursive' }
  | { type: 'union'; branches: Node[] }
  | { type: 'identifier'; name: string };

interface SliceParam {
  value: number;
  known: boolean;
  derived: boolean;
}

export class JsonPathParseError extends Error {}
export class JsonPathExecError extends Error {}

const EOF = '';

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t';
}

function isEndOfLine(c: string): boolean {
  return c === '\r' || c === '\n';
}

function isTerminator(c: string): boolean {
  return isSpace(c) || isEndOfLine(c) || c === EOF || '.,[]$@{}'.includes(c);
}

function isAlphaNumeric(c: string): boolean {
  return c === '_' || /[\p{L}\p{Nd}]/u.test(c);
}

function isDigit(c: string): boolean {
  return /\p{Nd}/u.test(c);
}

/** Go's %#U for an error about a character: U+0028 '('. */
function describeRune(c: string): string {
  const code = c.codePointAt(0)!;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

/** strconv.Unquote, extended to single-quoted strings as client-go's UnquoteExtend does. */
function unquote(s: string): string {
  if (s.length < 2) throw new JsonPathParseError('invalid syntax');
  const quote = s[0]!;
  if ((quote !== '"' && quote !== "'") || s[s.length - 1] !== quote) throw new JsonPathParseError('invalid syntax');
  const body = s.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    switch (n) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case "'": out += "'"; break;
      case 'x': {
        const hex = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new JsonPathParseError('invalid syntax');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const len = n === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new JsonPathParseError('invalid syntax');
        out += String.fromCodePoint(parseInt(hex, 16));
        i += len;
        break;
      }
      default:
        throw new JsonPathParseError('invalid syntax');
    }
  }
  return out;
}

class Parser {
  private pos = 0;
  private start = 0;
  readonly root: Node & { type: 'list' } = { type: 'list', nodes: [] };

  constructor(private readonly input: string) {}

  parse(): this {
    this.parseText(this.root);
    return this;
  }

  private next(): string {
    if (this.pos >= this.input.length) return EOF;
    const c = String.fromCodePoint(this.input.codePointAt(this.pos)!);
    this.pos += c.length;
    return c;
  }

  private peek(): string {
    if (this.pos >= this.input.length) return EOF;
    return String.fromCodePoint(this.input.codePointAt(this.pos)!);
  }

  /** Step back over `c`, the character next() just returned (nothing for EOF). */
  private backup(c: string): void {
    this.pos -= c.length;
  }

  private consumeText(): string {
    const text = this.input.slice(this.start, this.pos);
    this.start = this.pos;
    return text;
  }

  private rest(): string {
    return this.input.slice(this.pos);
  }

  private parseText(cur: Node & { type: 'list' }): void {
    for (;;) {
      if (this.rest().startsWith('{')) {
        if (this.pos > this.start) cur.nodes.push({ type: 'text', text: this.consumeText() });
        this.pos += 1;
        this.consumeText();
        const inner: Node & { type: 'list' } = { type: 'list', nodes: [] };
        cur.nodes.push(inner);
        this.parseInsideAction(inner);
        return;
      }
      if (this.next() === EOF) break;
    }
    if (this.pos > this.start) cur.nodes.push({ type: 'text', text: this.consumeText() });
  }

  private parseInsideAction(cur: Node & { type: 'list' }): void {
    for (;;) {
      const rest = this.rest();
      if (rest.startsWith('}')) {
        this.pos += 1;
        this.consumeText();
        this.parseText(this.root);
        return;
      }
      if (rest.startsWith('[?(')) {
        this.parseFilter(cur);
        continue;
      }
      if (rest.startsWith('..')) {
        this.pos += 2;
        this.consumeText();
        cur.nodes.push({ type: 'recursive' });
        if (isAlphaNumeric(this.peek())) this.parseField(cur);
        continue;
      }
      const c = this.next();
      if (c === EOF || isEndOfLine(c)) throw new JsonPathParseError('unclosed action');
      if (c === ' ' || c === '@' || c === '$') {
        this.consumeText();
        continue;
      }
      if (c === '[') {
        this.parseArray(cur);
        continue;
      }
      if (c === '"' || c === "'") {
        this.parseQuote(cur, c);
        continue;
      }
      if (c === '.') {
        this.parseField(cur);
        continue;
      }
      if (c === '+' || c === '-' || isDigit(c)) {
        this.backup(c);
        this.parseNumber(cur);
        continue;
      }
      if (isAlphaNumeric(c)) {
        this.backup(c);
        this.parseIdentifier(cur);
        continue;
      }
      throw new JsonPathParseError(`unrecognized character in action: ${describeRune(c)}`);
    }
  }

  private parseIdentifier(cur: Node & { type: 'list' }): void {
    for (;;) {
      const c = this.next();
      if (isTerminator(c)) {
        this.backup(c);
        break;
      }
    }
    const value = this.consumeText();
    if (value === 'true' || value === 'false') cur.nodes.push({ type: 'bool', value: value === 'true' });
    else cur.nodes.push({ type: 'identifier', name: value });
  }

  private parseNumber(cur: Node & { type: 'list' }): void {
    const c = this.peek();
    if (c === '+' || c === '-') this.next();
    for (;;) {
      const d = this.next();
      if (d !== '.' && !isDigit(d)) {
        this.backup(d);
        break;
      }
    }
    const value = this.consumeText();
    if (/^[-+]?\d+$/.test(value)) cur.nodes.push({ type: 'int', value: Number(value) });
    else if (/^[-+]?\d*\.?\d*$/.test(value) && /\d/.test(value)) cur.nodes.push({ type: 'float', value: Number(value) });
    else throw new JsonPathParseError(`cannot parse number ${value}`);
  }

  private parseArray(cur: Node & { type: 'list' }): void {
    for (;;) {
      const c = this.next();
      if (c === EOF || c === '\n') throw new JsonPathParseError('unterminated array');
      if (c === ']') break;
    }
    let text = this.consumeText().slice(1, -1);
    if (text === '*') text = ':';
    const parts = text.split(',');
    if (parts.length > 1) {
      const branches = parts.map((p) => subParse(`[${p.trim()}]`));
      cur.nodes.push({ type: 'union', branches });
      return;
    }
    const dictKey = /^'([^']*)'$/.exec(text);
    if (dictKey) {
      const sub = subParse(`.${dictKey[1]}`);
      cur.nodes.push(...(sub.type === 'list' ? sub.nodes : [sub]));
      return;
    }
    const slice = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/.exec(text);
    if (!slice) throw new JsonPathParseError(`invalid array index ${text}`);
    const raw = [slice[1] ?? '', slice[2] ?? '', slice[3] ?? ''];
    const params: SliceParam[] = [];
    for (let i = 0; i < 3; i++) {
      let v = raw[i]!;
      if (v !== '') {
        if (i > 0) v = v.slice(1);
        if (i > 0 && v === '') params.push({ value: 0, known: false, derived: false });
        else {
          const n = Number(v);
          if (!/^-?\d+$/.test(v)) throw new JsonPathParseError(`array index ${v} is not a number`);
          params.push({ value: n, known: true, derived: false });
        }
      } else if (i === 1) {
        params.push({ value: params[0]!.value + 1, known: true, derived: true });
      } else {
        params.push({ value: 0, known: false, derived: false });
      }
    }
    cur.nodes.push({ type: 'array', params });
  }

  private parseFilter(cur: Node & { type: 'list' }): void {
    this.pos += 3;
    this.consumeText();
    let begin = false;
    let end = false;
    let pair = '';
    for (;;) {
      const c = this.next();
      if (c === EOF || c === '\n') throw new JsonPathParseError('unterminated filter');
      if (c === '"' || c === "'") {
        if (!begin) {
          begin = true;
          pair = c;
          continue;
        }
        if (pair === c) end = true;
      } else if (c === ')') {
        if (begin === end) break;
      }
    }
    if (this.next() !== ']') throw new JsonPathParseError('unclosed array expect ]');
    const text = this.consumeText().slice(0, -2);
    const m = /^([^!<>=]+)([!<>=]+)(.+?)$/.exec(text);
    if (!m) cur.nodes.push({ type: 'filter', left: subParse(text), right: { type: 'list', nodes: [] }, operator: 'exists' });
    else cur.nodes.push({ type: 'filter', left: subParse(m[1]!), right: subParse(m[3]!), operator: m[2]! });
  }

  private parseQuote(cur: Node & { type: 'list' }, quote: string): void {
    for (;;) {
      const c = this.next();
      if (c === EOF || c === '\n') throw new JsonPathParseError('unterminated quoted string');
      if (c === '\\') {
        if (this.next() === EOF) throw new JsonPathParseError('unterminated quoted string');
        continue;
      }
      if (c === quote) break;
    }
    const value = this.consumeText();
    cur.nodes.push({ type: 'text', text: unquote(value) });
  }

  private parseField(cur: Node & { type: 'list' }): void {
    this.consumeText();
    for (;;) {
      const c = this.next();
      if (c === '\\') {
        this.next();
        continue;
      }
      if (isTerminator(c)) {
        this.backup(c);
        break;
      }
    }
    const value = this.consumeText();
    if (value === '*') cur.nodes.push({ type: 'wildcard' });
    else cur.nodes.push({ type: 'field', name: value.replace(/\\/g, '') });
  }
}

/** client-go's parseAction: the text as one `{...}` action. */
function subParse(text: string): Node {
  const p = new Parser(`{${text}}`).parse();
  return p.root.nodes[0] ?? { type: 'list', nodes: [] };
}

// ---- evaluation -------------------------------------------------------------------

type Value = unknown;

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function goTypeName(v: unknown): string {
  if (Array.isArray(v)) return '[]interface {}';
  if (isMap(v)) return 'map[string]interface {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return '<nil>';
}

function sortedEntries(m: Record<string, unknown>): unknown[] {
  return Object.keys(m)
    .sort(goStringCompare)
    .map((k) => m[k]);
}

function compare(left: unknown, right: unknown, operator: string): boolean {
  const bothNumbers = typeof left === 'number' && typeof right === 'number';
  const bothStrings = typeof left === 'string' && typeof right === 'string';
  const bothBools = typeof left === 'boolean' && typeof right === 'boolean';
  if (!bothNumbers && !bothStrings && !bothBools) {
    if (operator === '==' || operator === '!=') {
      if (left === null || right === null) throw new JsonPathExecError('invalid type for comparison');
      throw new JsonPathExecError('incompatible types for comparison');
    }
    throw new JsonPathExecError('incompatible types for comparison');
  }
  if (bothBools && operator !== '==' && operator !== '!=') throw new JsonPathExecError('invalid type for comparison');
  const l = left as number | string;
  const r = right as number | string;
  switch (operator) {
    case '==': return l === r;
    case '!=': return l !== r;
    case '<': return l < r;
    case '>': return l > r;
    case '<=': return l <= r;
    case '>=': return l >= r;
  }
  throw new JsonPathExecError(`unrecognized filter operator ${operator}`);
}

class Evaluator {
  private inRange = 0;
  private beginRange = 0;
  private endRange = 0;
  private lastEnd: Node | undefined;

  findResults(data: Value, nodes: Node[]): Value[][] {
    const full: Value[][] = [];
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const results = this.walk([data], node);
      if (this.endRange > 0 && this.endRange <= this.inRange) {
        this.endRange--;
        this.lastEnd = node;
        break;
      }
      if (this.beginRange > 0) {
        this.beginRange--;
        this.inRange++;
        const inner = nodes.slice(i + 1);
        if (results.length > 0) for (const value of results) full.push(...this.findResults(value, inner));
        else this.findResults(null, inner);
        this.inRange--;
        for (let k = i + 1; k < nodes.length; k++) {
          if (nodes[k] === this.lastEnd) {
            i = k;
            break;
          }
        }
        continue;
      }
      full.push(results);
    }
    return full;
  }

  private walk(input: Value[], node: Node): Value[] {
    switch (node.type) {
      case 'list': {
        let cur = input;
        for (const n of node.nodes) cur = this.walk(cur, n);
        return cur;
      }
      case 'text':
        return [node.text];
      case 'int':
      case 'float':
      case 'bool':
        return input.map(() => node.value);
      case 'field':
        return this.field(input, node.name);
      case 'array':
        return this.array(input, node.params);
      case 'filter':
        return this.filter(input, node);
      case 'wildcard':
        return input.flatMap((v) => (isMap(v) ? sortedEntries(v) : Array.isArray(v) ? v : []));
      case 'recursive':
        return this.recursive(input);
      case 'union':
        return node.branches.flatMap((b) => this.walk(input, b));
      case 'identifier':
        if (node.name === 'range') {
          this.beginRange++;
          return input;
        }
        if (node.name === 'end') {
          if (this.inRange > 0) {
            this.endRange++;
            return [];
          }
          throw new JsonPathExecError('not in range, nothing to end');
        }
        throw new JsonPathExecError(`unrecognized identifier ${node.name}`);
    }
  }

  private field(input: Value[], name: string): Value[] {
    if (name === '') return input;
    const results: Value[] = [];
    for (const v of input) if (isMap(v) && Object.prototype.hasOwnProperty.call(v, name)) results.push(v[name]);
    return results;
  }

  private array(input: Value[], template: SliceParam[]): Value[] {
    const result: Value[] = [];
    for (const value of input) {
      if (value === null || value === undefined) continue;
      if (!Array.isArray(value)) throw new JsonPathExecError(`${goTypeName(value)} is not array or slice`);
      const p = template.map((x) => ({ ...x }));
      const [from, to, step] = p as [SliceParam, SliceParam, SliceParam];
      if (!from.known) from.value = 0;
      if (from.value < 0) from.value += value.length;
      if (!to.known) to.value = value.length;
      if (to.value < 0 || (to.value === 0 && to.derived)) to.value += value.length;
      if (to.value === from.value) return result;
      if (from.value >= value.length || from.value < 0) throw new JsonPathExecError(`array index out of bounds: index ${from.value}, length ${value.length}`);
      if (to.value > value.length || to.value < 0) throw new JsonPathExecError(`array index out of bounds: index ${to.value - 1}, length ${value.length}`);
      if (from.value > to.value) throw new JsonPathExecError(`starting index ${from.value} is greater than ending index ${to.value}`);
      let by = 1;
      if (step.known) {
        if (step.value <= 0) throw new JsonPathExecError('step must be > 0');
        by = step.value;
      }
      const slice = value.slice(from.value, to.value);
      for (let i = 0; i < slice.length; i += by) result.push(slice[i]);
    }
    return result;
  }

  private filter(input: Value[], node: Node & { type: 'filter' }): Value[] {
    const results: Value[] = [];
    for (const value of input) {
      if (!Array.isArray(value)) throw new JsonPathExecError(`${goValue(value)} is not array or slice and cannot be filtered`);
      for (const item of value) {
        const lefts = this.walk([item], node.left);
        if (node.operator === 'exists') {
          if (lefts.length > 0) results.push(item);
          continue;
        }
        if (lefts.length === 0) continue;
        if (lefts.length > 1) throw new JsonPathExecError('can only compare one element at a time');
        const rights = this.walk([item], node.right);
        if (rights.length === 0) continue;
        if (rights.length > 1) throw new JsonPathExecError('can only compare one element at a time');
        if (compare(lefts[0], rights[0], node.operator)) results.push(item);
      }
    }
    return results;
  }

  private recursive(input: Value[]): Value[] {
    const result: Value[] = [];
    for (const value of input) {
      const children = isMap(value) ? sortedEntries(value) : Array.isArray(value) ? value : [];
      if (children.length) {
        result.push(value);
        result.push(...this.recursive(children));
      }
    }
    return result;
  }
}

/** A parsed template; `execute` returns the text kubectl prints. */
export class JsonPathTemplate {
  private readonly root: Node & { type: 'list' };

  constructor(readonly source: string) {
    this.root = new Parser(source).parse().root;
  }

  /** The values each top-level node found (custom-columns joins them with commas). */
  findResults(data: unknown): unknown[][] {
    return new Evaluator().findResults(data, this.root.nodes);
  }

  /** Text as kubectl prints it: strings raw, maps and lists as JSON, several values joined by a space. */
  execute(data: unknown, asJson = false): string {
    let out = '';
    for (const group of this.findResults(data)) {
      group.forEach((v, i) => {
        let text: string;
        if (asJson) text = goJson(v, '    ') + '\n';
        else if (typeof v === 'object' && v !== null) text = goJson(v);
        else text = goValue(v);
        out += text + (i !== group.length - 1 ? ' ' : '');
      });
    }
    return out;
  }
}

/** kubectl's message when a template fails at run time. */
export function jsonPathExecMessage(template: string, err: Error, data: unknown): string {
  return (
    `error executing jsonpath ${JSON.stringify(template)}: Error executing template: ${err.message}. Printing more information for debugging the template:\n` +
    `\ttemplate was:\n\t\t${template}\n` +
    `\tobject given to jsonpath engine was:\n\t\t${goSharpValue(data)}\n\n\n`
  );
}

/** kubectl's custom-columns path forms: `.a.b`, `a.b`, `{.a.b}`, `{a.b}` all mean `{.a.b}`. */
export function relaxedJsonPath(path: string): string {
  if (path === '') return path;
  const m = /^\{\.?([^{}]+)\}$|^\.?([^{}]+)$/.exec(path);
  if (!m) throw new JsonPathParseError("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'");
  return `{.${m[1] ?? m[2]}}`;
}
