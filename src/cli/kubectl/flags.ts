// Command-line flags the way kubectl (cobra + pflag) reads them: flags and
// arguments interleave, `--` ends the flags, `--name=value` or `--name value`,
// `-n demo`, `-ndemo`, `-n=demo`, grouped booleans (`-it`), and pflag's own
// error texts (`unknown flag: --bogus`, `unknown shorthand flag: 'z' in -z`,
// `flag needs an argument: 'n' in -n`).

export type FlagType = 'bool' | 'string' | 'int' | 'stringArray' | 'duration';

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  /** Value when the flag is absent. */
  default?: string | boolean | number | string[];
  /** For string flags that may be given bare (`--output` never is; kept for completeness). */
  noValueDefault?: string;
}

export type FlagValue = string | boolean | number | string[];

export interface ParsedArgs {
  /** Positional arguments, in order. */
  args: string[];
  /** How many positional arguments came before `--` (-1 when there was none). */
  argsBeforeDash: number;
  values: Map<string, FlagValue>;
  /** Flags given explicitly on the command line. */
  changed: Set<string>;
}

/** A usage error: cobra prints `error: <message>` plus a hint and exits 1. */
export class FlagError extends Error {}

/** Go's time.ParseDuration for the forms people type (30s, 1m, 1h30m, 500ms); milliseconds. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = /^((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text);
  if (!m) return undefined;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * units[part[2]!]!;
  return total;
}

function convert(spec: FlagSpec, raw: string, shown: string): FlagValue {
  switch (spec.type) {
    case 'bool': {
      const v = raw.toLowerCase();
      if (['1', 't', 'true'].includes(v)) return true;
      if (['0', 'f', 'false'].includes(v)) return false;
      throw new FlagError(`invalid argument ${JSON.stringify(raw)} for ${JSON.stringify(shown)} flag: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
    }
    case 'int': {
      if (!/^[-+]?\d+$/.test(raw)) {
        throw new FlagError(`invalid argument ${JSON.stringify(raw)} for ${JSON.stringify(shown)} flag: strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
      }
      return Number(raw);
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined) throw new FlagError(`invalid argument ${JSON.stringify(raw)} for ${JSON.stringify(shown)} flag: time: invalid duration ${JSON.stringify(raw)}`);
      return ms;
    }
    default:
      return raw;
  }
}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const values = new Map<string, FlagValue>();
  const changed = new Set<string>();
  for (const s of specs) if (s.default !== undefined) values.set(s.name, Array.isArray(s.default) ? [...s.default] : s.default);
  const args: string[] = [];
  let argsBeforeDash = -1;

  const set = (spec: FlagSpec, raw: string): void => {
    // pflag names a flag with its shorthand in errors whenever it has one.
    const shown = spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
    const v = convert(spec, raw, shown);
    if (spec.type === 'stringArray') {
      const list = changed.has(spec.name) ? (values.get(spec.name) as string[]) : [];
      values.set(spec.name, [...list, raw]);
    } else {
      values.set(spec.name, v);
    }
    changed.add(spec.name);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      argsBeforeDash = args.length;
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byName.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) set(spec, arg.slice(eq + 1));
      else if (spec.type === 'bool') set(spec, 'true');
      else if (spec.noValueDefault !== undefined) set(spec, spec.noValueDefault);
      else if (i + 1 < argv.length) set(spec, argv[++i]!);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      const shorts = arg.slice(1);
      for (let j = 0; j < shorts.length; j++) {
        const c = shorts[j]!;
        const spec = byShort.get(c);
        if (!spec) throw new FlagError(`unknown shorthand flag: '${c}' in -${shorts}`);
        if (shorts[j + 1] === '=') {
          set(spec, shorts.slice(j + 2));
          break;
        }
        if (spec.type === 'bool') {
          set(spec, 'true');
          continue;
        }
        if (j + 1 < shorts.length) set(spec, shorts.slice(j + 1));
        else if (i + 1 < argv.length) set(spec, argv[++i]!);
        else throw new FlagError(`flag needs an argument: '${c}' in -${shorts}`);
        break;
      }
      continue;
    }
    args.push(arg);
  }
  return { args, argsBeforeDash, values, changed };
}

/** Typed reads of parsed flags. */
export class Flags {
  constructor(readonly parsed: ParsedArgs) {}

  get args(): string[] {
    return this.parsed.args;
  }

  string(name: string): string {
    const v = this.parsed.values.get(name);
    return typeof v === 'string' ? v : '';
  }

  bool(name: string): boolean {
    return this.parsed.values.get(name) === true;
  }

  int(name: string): number {
    const v = this.parsed.values.get(name);
    return typeof v === 'number' ? v : 0;
  }

  /** Milliseconds of a duration flag. */
  duration(name: string): number {
    return this.int(name);
  }

  list(name: string): string[] {
    const v = this.parsed.values.get(name);
    return Array.isArray(v) ? v : [];
  }

  changed(name: string): boolean {
    return this.parsed.changed.has(name);
  }
}
