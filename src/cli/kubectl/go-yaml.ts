// YAML the way kubectl prints it (sigs.k8s.io/yaml over go-yaml v2, which is
// libyaml's emitter): keys in go-yaml's natural order, sequences not indented
// under their key, strings quoted only when a plain scalar would read back as
// something else (YAML 1.1: yes/no/on/off, numbers, timestamps) or would not
// parse, long plain and quoted scalars folded past column 80, multi-line
// strings as literal blocks.

import { goFloat } from './go-format.js';

const BEST_WIDTH = 80;
const BEST_INDENT = 2;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- key order ---------------------------------------------------------------

const isLetter = (c: string): boolean => /\p{L}/u.test(c);
const isDigit = (c: string): boolean => /\p{Nd}/u.test(c);

/** go-yaml's keyList.Less: letters by code point, digit runs by value, non-letters before letters. */
export function goYamlKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0;
    let bn = 0;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10 + Number(ar[ai]);
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
  }
  return ar.length < br.length;
}

function sortKeys(keys: string[]): string[] {
  return [...keys].sort((x, y) => (goYamlKeyLess(x, y) ? -1 : goYamlKeyLess(y, x) ? 1 : 0));
}

// ---- what a plain scalar would resolve to (go-yaml v2's resolve) ----------------

const YAML11_WORDS = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO',
  'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
  'on', 'On', 'ON', 'off', 'Off', 'OFF',
  '~', 'null', 'Null', 'NULL',
  '.nan', '.NaN', '.NAN',
  '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF',
]);

const TIMESTAMP = /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::?\d{2})?))?)?$/;
const GO_INT = /^[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$/;
const YAML_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** Would this string, written plain, read back as a string? */
function plainReadsAsString(s: string): boolean {
  if (s === '') return false;
  if (YAML11_WORDS.has(s)) return false;
  if ('+-.0123456789'.includes(s[0]!)) {
    if (TIMESTAMP.test(s)) return false;
    const plain = s.replace(/_/g, '');
    if (GO_INT.test(plain) || YAML_FLOAT.test(plain)) return false;
    if (/^-?0b[01]+$/.test(plain)) return false;
  }
  return !BASE60_FLOAT.test(s);
}

// ---- scalar analysis (libyaml's yaml_emitter_analyze_scalar) ---------------------

const isBreak = (c: string | undefined): boolean => c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isBlankOrEnd = (c: string | undefined): boolean => c === undefined || c === ' ' || c === '\t' || isBreak(c);

function isPrintable(c: string): boolean {
  const p = c.codePointAt(0)!;
  return p === 0x0a || (p >= 0x20 && p <= 0x7e) || (p >= 0xa0 && p <= 0xd7ff) || (p >= 0xe000 && p <= 0xfffd && p !== 0xfeff);
}

interface ScalarAnalysis {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

function analyze(s: string): ScalarAnalysis {
  const chars = [...s];
  if (chars.length === 0) return { multiline: false, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: false };
  let blockIndicators = s.startsWith('---') || s.startsWith('...');
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  let lineBreaks = false;
  let special = false;
  let precededByWhitespace = true;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const followedByWhitespace = isBlankOrEnd(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':') && followedByWhitespace) blockIndicators = true;
      if (c === '-' && followedByWhitespace) blockIndicators = true;
    } else {
      if (c === ':' && followedByWhitespace) blockIndicators = true;
      if (c === '#' && precededByWhitespace) blockIndicators = true;
    }
    if (!isPrintable(c)) special = true;
    if (isBreak(c)) lineBreaks = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankOrEnd(c);
  }
  let blockPlainAllowed = true;
  let singleQuotedAllowed = true;
  let blockAllowed = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) blockPlainAllowed = false;
  if (trailingSpace) blockAllowed = false;
  if (breakSpace) {
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
  }
  if (spaceBreak || special) {
    blockPlainAllowed = false;
    singleQuotedAllowed = false;
    blockAllowed = false;
  }
  if (lineBreaks) blockPlainAllowed = false;
  if (blockIndicators) blockPlainAllowed = false;
  return { multiline: lineBreaks, blockPlainAllowed, singleQuotedAllowed, blockAllowed };
}

type Style = 'plain' | 'single' | 'double' | 'literal';

function styleFor(s: string, simpleKey: boolean): Style {
  const a = analyze(s);
  let style: Style = s.includes('\n') ? 'literal' : plainReadsAsString(s) ? 'plain' : 'double';
  if (style === 'plain') {
    if (!a.blockPlainAllowed) style = 'single';
    if (s.length === 0 && simpleKey) style = 'single';
  }
  if (style === 'single' && !a.singleQuotedAllowed) style = 'double';
  if (style === 'literal' && (!a.blockAllowed || simpleKey)) style = 'double';
  return style;
}

// ---- the writer -------------------------------------------------------------------

class Emitter {
  private out = '';
  private column = 0;

  text(): string {
    return this.out;
  }

  write(s: string): void {
    this.out += s;
    this.column += [...s].length;
  }

  newline(): void {
    this.out += '\n';
    this.column = 0;
  }

  /** A scalar after a key or `- ` (or as a key); `indent` is where folded lines continue. */
  scalar(s: string, indent: number, simpleKey: boolean): void {
    const style = styleFor(s, simpleKey);
    switch (style) {
      case 'plain':
        return this.plain(s, indent, !simpleKey);
      case 'single':
        return this.singleQuoted(s, indent, !simpleKey);
      case 'double':
        return this.doubleQuoted(s, indent, !simpleKey);
      case 'literal':
        return this.literal(s, indent);
    }
  }

  private plain(s: string, indent: number, allowBreaks: boolean): void {
    const chars = [...s];
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && chars[i + 1] !== ' ') this.lineAt(indent);
        else this.write(c);
        spaces = true;
      } else {
        this.write(c);
        spaces = false;
      }
    }
  }

  private singleQuoted(s: string, indent: number, allowBreaks: boolean): void {
    const chars = [...s];
    this.write("'");
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1 && chars[i + 1] !== ' ') this.lineAt(indent);
        else this.write(c);
        spaces = true;
      } else {
        this.write(c === "'" ? "''" : c);
        spaces = false;
      }
    }
    this.write("'");
  }

  private doubleQuoted(s: string, indent: number, allowBreaks: boolean): void {
    const chars = [...s];
    this.write('"');
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      const p = c.codePointAt(0)!;
      if (!isPrintable(c) || p === 0xfeff || isBreak(c) || c === '"' || c === '\\') {
        this.write('\\' + escapeFor(c));
        spaces = false;
      } else if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1) {
          this.lineAt(indent);
          if (chars[i + 1] === ' ') this.write('\\');
        } else this.write(c);
        spaces = true;
      } else {
        this.write(c);
        spaces = false;
      }
    }
    this.write('"');
  }

  private literal(s: string, indent: number): void {
    const chars = [...s];
    let hints = '';
    if (chars[0] === ' ' || isBreak(chars[0])) hints += String(BEST_INDENT);
    const last = chars[chars.length - 1];
    if (!isBreak(last)) hints += '-';
    else if (chars.length === 1 || isBreak(chars[chars.length - 2])) hints += '+';
    this.write('|' + hints);
    this.newline();
    let breaks = true;
    for (const c of chars) {
      if (isBreak(c)) {
        this.newline();
        breaks = true;
      } else {
        if (breaks) this.write(' '.repeat(indent));
        this.write(c);
        breaks = false;
      }
    }
    // The document goes on on a new line (the last break, if any, was written above).
    if (!breaks) this.newline();
  }

  private lineAt(indent: number): void {
    this.newline();
    this.write(' '.repeat(indent));
  }

  endLine(): void {
    if (this.column > 0) this.newline();
  }
}

function escapeFor(c: string): string {
  const p = c.codePointAt(0)!;
  switch (p) {
    case 0x00: return '0';
    case 0x07: return 'a';
    case 0x08: return 'b';
    case 0x09: return 't';
    case 0x0a: return 'n';
    case 0x0b: return 'v';
    case 0x0c: return 'f';
    case 0x0d: return 'r';
    case 0x1b: return 'e';
    case 0x22: return '"';
    case 0x5c: return '\\';
    case 0x85: return 'N';
    case 0xa0: return '_';
    case 0x2028: return 'L';
    case 0x2029: return 'P';
  }
  const hex = p.toString(16).toUpperCase();
  if (p <= 0xff) return 'x' + hex.padStart(2, '0');
  if (p <= 0xffff) return 'u' + hex.padStart(4, '0');
  return 'U' + hex.padStart(8, '0');
}

function scalarText(v: unknown): string | undefined {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '.nan';
    if (!Number.isFinite(v)) return v > 0 ? '.inf' : '-.inf';
    return Number.isInteger(v) ? String(v) : goFloat(v);
  }
  return undefined;
}

function isEmptyCollection(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/** Write a node that follows `key:` or `- ` on the current line. `indent` is the enclosing block's indent. */
function writeValue(e: Emitter, v: unknown, indent: number, inSequence: boolean): void {
  const scalar = scalarText(v);
  if (scalar !== undefined) {
    e.write(' ' + scalar);
    e.newline();
    return;
  }
  if (typeof v === 'string') {
    e.write(' ');
    e.scalar(v, indent + BEST_INDENT, false);
    e.endLine();
    return;
  }
  if (isEmptyCollection(v)) {
    e.write(Array.isArray(v) ? ' []' : ' {}');
    e.newline();
    return;
  }
  if (Array.isArray(v)) {
    // After `key:` a sequence starts on the next line at the key's indent; after `- ` it continues inline.
    if (inSequence) {
      e.write(' ');
      writeSequence(e, v, indent + BEST_INDENT, true);
    } else {
      e.newline();
      writeSequence(e, v, indent, false);
    }
    return;
  }
  if (isObject(v)) {
    if (inSequence) {
      e.write(' ');
      writeMapping(e, v, indent + BEST_INDENT, true);
    } else {
      e.newline();
      writeMapping(e, v, indent + BEST_INDENT, false);
    }
  }
}

function writeMapping(e: Emitter, map: Record<string, unknown>, indent: number, firstInline: boolean): void {
  let first = true;
  for (const key of sortKeys(Object.keys(map).filter((k) => map[k] !== undefined))) {
    if (!(first && firstInline)) e.write(' '.repeat(indent));
    first = false;
    e.scalar(key, indent, true);
    e.write(':');
    writeValue(e, map[key], indent, false);
  }
}

function writeSequence(e: Emitter, list: unknown[], indent: number, firstInline: boolean): void {
  let first = true;
  for (const item of list) {
    if (!(first && firstInline)) e.write(' '.repeat(indent));
    first = false;
    e.write('-');
    writeValue(e, item, indent, true);
  }
}

/** The YAML document kubectl prints for a JSON-shaped value. */
export function goYaml(value: unknown): string {
  const e = new Emitter();
  if (isObject(value) && Object.keys(value).length > 0) writeMapping(e, value, 0, false);
  else if (Array.isArray(value) && value.length > 0) writeSequence(e, value, 0, false);
  else {
    const scalar = scalarText(value);
    if (scalar !== undefined) e.write(scalar);
    else if (typeof value === 'string') e.scalar(value, BEST_INDENT, false);
    else e.write(Array.isArray(value) ? '[]' : '{}');
    e.endLine();
  }
  return e.text();
}
