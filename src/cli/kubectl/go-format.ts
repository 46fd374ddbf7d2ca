// How Go prints the JSON-shaped values kubectl handles, so podpath's kubectl
// prints the same bytes: encoding/json (keys sorted, `<`, `>`, `&` escaped,
// 4-space indent for -o json), fmt's %v (custom-columns, jsonpath text) and
// %#v (jsonpath's debugging dump).

import { goJsonString } from '../../util/go-json.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's byte-wise string order, which sort.Strings uses. */
export function goStringCompare(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

function sortedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).sort(goStringCompare);
}

const HEX = '0123456789abcdef';

/** A number as encoding/json writes a float64: fixed notation, or %e outside [1e-6, 1e21). */
export function goJsonNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) return n.toExponential();
  return String(n);
}

/** encoding/json's Marshal (indent '' = compact) or MarshalIndent. */
export function goJson(value: unknown, indent = ''): string {
  const write = (v: unknown, depth: number): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return goJsonString(v);
    if (typeof v === 'number') return goJsonNumber(v);
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    const pad = indent ? '\n' + indent.repeat(depth + 1) : '';
    const end = indent ? '\n' + indent.repeat(depth) : '';
    const sep = indent ? ': ' : ':';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return '[' + v.map((x) => pad + write(x, depth + 1)).join(',') + end + ']';
    }
    if (isObject(v)) {
      const keys = sortedKeys(v).filter((k) => v[k] !== undefined);
      if (keys.length === 0) return '{}';
      return '{' + keys.map((k) => pad + goJsonString(k) + sep + write(v[k], depth + 1)).join(',') + end + '}';
    }
    return 'null';
  };
  return write(value, 0);
}

/** strconv.FormatFloat(f, 'g', -1, 64), which fmt's %v uses for float64. */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  // With the shortest precision Go switches to %e when the exponent is < -4 or >= 6.
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/**
 * fmt's %v of an unstructured value: integers (int64 in Go's unstructured
 * objects) as digits, other numbers as float64, maps as map[k:v ...] with
 * sorted keys, slices as [a b].
 */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
  if (Array.isArray(v)) return '[' + v.map(goValue).join(' ') + ']';
  if (isObject(v)) return 'map[' + sortedKeys(v).map((k) => `${k}:${goValue(v[k])}`).join(' ') + ']';
  return String(v);
}

/** Go's strconv.Quote, as %#v prints strings. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${HEX[c >> 4]}${HEX[c & 15]}`;
    else out += ch;
  }
  return out + '"';
}

/** fmt's %#v of an unstructured value (map[string]interface {}{"k":v, ...}). */
export function goSharpValue(v: unknown, nested = false): string {
  if (v === null || v === undefined) return nested ? 'interface {}(nil)' : '<nil>';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
  if (Array.isArray(v)) return '[]interface {}{' + v.map((x) => goSharpValue(x, true)).join(', ') + '}';
  if (isObject(v)) return 'map[string]interface {}{' + sortedKeys(v).map((k) => `${goQuote(k)}:${goSharpValue(v[k], true)}`).join(', ') + '}';
  return String(v);
}
