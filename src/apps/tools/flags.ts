// Flag parsing in the style of Go's spf13/pflag (what cobra programs such as
// agnhost use): --name=value, --name value, -n value, bool flags that take
// an optional =true|false, and pflag's error wording.

import { parseGoDuration } from '../proc.js';

export type FlagKind = 'bool' | 'string' | 'int' | 'duration';

export interface FlagDef {
  name: string;
  short?: string;
  kind: FlagKind;
  /** bool → boolean, int → number, duration → ms, string → string. */
  default: boolean | number | string;
}

export type FlagValues = Record<string, boolean | number | string>;

export interface ParsedFlags {
  values: FlagValues;
  positional: string[];
}

function convert(def: FlagDef, raw: string): boolean | number | string | { error: string } {
  switch (def.kind) {
    case 'bool':
      if (/^(1|t|T|TRUE|true|True)$/.test(raw)) return true;
      if (/^(0|f|F|FALSE|false|False)$/.test(raw)) return false;
      return { error: `invalid argument "${raw}" for "--${def.name}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax` };
    case 'int':
      if (!/^[+-]?[0-9]+$/.test(raw)) return { error: `invalid argument "${raw}" for "--${def.name}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax` };
      return Number(raw);
    case 'duration': {
      const ms = parseGoDuration(raw);
      if (ms === null) return { error: `invalid argument "${raw}" for "--${def.name}" flag: time: invalid duration "${raw}"` };
      return ms;
    }
    case 'string':
      return raw;
  }
}

/** Parses args against defs; on failure returns the message cobra prints after "Error: ". */
export function parseFlags(args: string[], defs: FlagDef[]): ParsedFlags | { error: string } {
  const values: FlagValues = {};
  for (const d of defs) values[d.name] = d.default;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    let def: FlagDef | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (eq >= 0) inline = a.slice(eq + 1);
      def = defs.find((d) => d.name === name);
      if (!def) return { error: `unknown flag: --${name}` };
    } else if (a.startsWith('-') && a.length > 1) {
      const letter = a[1]!;
      def = defs.find((d) => d.short === letter);
      if (!def) return { error: `unknown shorthand flag: '${letter}' in ${a}` };
      if (a.length > 2) inline = a[2] === '=' ? a.slice(3) : a.slice(2);
    } else {
      positional.push(a);
      continue;
    }
    let raw: string;
    if (inline !== undefined) raw = inline;
    else if (def.kind === 'bool') raw = 'true';
    else if (i + 1 < args.length) raw = args[++i]!;
    else return { error: `flag needs an argument: --${def.name}` };
    const v = convert(def, raw);
    if (typeof v === 'object') return v;
    values[def.name] = v;
  }
  return { values, positional };
}
