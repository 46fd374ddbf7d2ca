// POSIX-style short option parsing as busybox's getopt32 does it: bundled
// flags (-qc3), glued or separate values, options anywhere before "--".

export interface ShortOptions {
  /** Letters that take no value. */
  flags: string;
  /** Letters that take a value. */
  withValue: string;
  /** Long option aliases (--name → letter), for the applets that have them. */
  long?: Record<string, string>;
}

export interface ParsedShort {
  /** Flag letter → times given. */
  flags: Map<string, number>;
  /** Value letter → last value. */
  values: Map<string, string>;
  operands: string[];
}

/** Returns the parse, or the busybox error line ("invalid option -- 'z'" / "option requires an argument -- 'c'"). */
export function getopt(args: string[], spec: ShortOptions): ParsedShort | { error: string } {
  const flags = new Map<string, number>();
  const values = new Map<string, string>();
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && spec.long) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const letter = spec.long[name];
      if (!letter) return { error: `unrecognized option '${a}'` };
      if (spec.withValue.includes(letter)) {
        if (eq >= 0) values.set(letter, a.slice(eq + 1));
        else if (i + 1 < args.length) values.set(letter, args[++i]!);
        else return { error: `option '${a}' requires an argument` };
      } else {
        flags.set(letter, (flags.get(letter) ?? 0) + 1);
      }
      continue;
    }
    if (!a.startsWith('-') || a === '-') {
      operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (spec.flags.includes(c)) {
        flags.set(c, (flags.get(c) ?? 0) + 1);
        continue;
      }
      if (spec.withValue.includes(c)) {
        const rest = a.slice(j + 1);
        if (rest.length > 0) values.set(c, rest);
        else if (i + 1 < args.length) values.set(c, args[++i]!);
        else return { error: `option requires an argument -- '${c}'` };
        break;
      }
      return { error: `invalid option -- '${c}'` };
    }
  }
  return { flags, values, operands };
}

export const BUSYBOX_BANNER = 'BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.';
