// Cilium's EndpointSelector: a Kubernetes label selector whose keys carry a
// label source (`k8s:app`, `reserved:host`, `cidr:10.0.0.0/8`; no prefix
// means `any:`), evaluated against an identity's security labels
// (`k8s:app=frontend`, `reserved:world`). Selectors are immutable and have a
// canonical text, so equal selectors from different rules share one entry in
// the selector cache.

export const SOURCE_ANY = 'any';
export const SOURCE_K8S = 'k8s';
export const SOURCE_RESERVED = 'reserved';
export const SOURCE_CIDR = 'cidr';

/** Sources a selector key may name (pkg/labels). */
export const LABEL_SOURCES = ['any', 'k8s', 'reserved', 'cidr', 'container', 'unspec', 'fqdn', 'cilium-generated', 'reserved-generated'] as const;

export const POD_NAMESPACE_KEY = 'io.kubernetes.pod.namespace';
export const NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';
export const CLUSTER_KEY = 'io.cilium.k8s.policy.cluster';

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  source: string;
  key: string;
  op: Operator;
  values: readonly string[];
}

/** `k8s:app=frontend` → source, key, value (a label without `=` has the empty value). */
export function splitLabel(label: string): { source: string; key: string; value: string } {
  const colon = label.indexOf(':');
  const source = colon < 0 ? SOURCE_ANY : label.slice(0, colon);
  const rest = colon < 0 ? label : label.slice(colon + 1);
  const eq = rest.indexOf('=');
  return eq < 0 ? { source, key: rest, value: '' } : { source, key: rest.slice(0, eq), value: rest.slice(eq + 1) };
}

/** A selector key as written: `k8s:app` → {k8s, app}; `app` → {any, app}. Unknown prefixes are part of the key. */
export function splitKey(written: string): { source: string; key: string } {
  const colon = written.indexOf(':');
  if (colon > 0) {
    const src = written.slice(0, colon);
    if ((LABEL_SOURCES as readonly string[]).includes(src)) return { source: src, key: written.slice(colon + 1) };
  }
  return { source: SOURCE_ANY, key: written };
}

/** An identity's labels, indexed for selector evaluation. */
export class LabelSet {
  /** `source:key` → value */
  private readonly bySourceKey = new Map<string, string>();
  /** key → values from any source */
  private readonly byKey = new Map<string, string[]>();

  constructor(readonly labels: readonly string[]) {
    for (const l of labels) {
      const { source, key, value } = splitLabel(l);
      this.bySourceKey.set(`${source}:${key}`, value);
      const vs = this.byKey.get(key);
      if (vs) vs.push(value);
      else this.byKey.set(key, [value]);
    }
  }

  /** Values of a key from the given source (`any` = every source). */
  values(source: string, key: string): readonly string[] | undefined {
    if (source === SOURCE_ANY) return this.byKey.get(key);
    const v = this.bySourceKey.get(`${source}:${key}`);
    return v === undefined ? undefined : [v];
  }

  /** Whether the key (from that source) has one of `values`; `values` empty asks for presence. */
  hasValue(source: string, key: string, values: readonly string[]): boolean {
    if (source === SOURCE_ANY) {
      const vs = this.byKey.get(key);
      if (!vs) return false;
      if (!values.length) return true;
      for (const v of vs) if (values.includes(v)) return true;
      return false;
    }
    const v = this.bySourceKey.get(`${source}:${key}`);
    if (v === undefined) return false;
    return !values.length || values.includes(v);
  }

  has(source: string, key: string): boolean {
    return source === SOURCE_ANY ? this.byKey.has(key) : this.bySourceKey.has(`${source}:${key}`);
  }

  /** Keys regardless of source, with their values (for the selector cache's index). */
  entries(): IterableIterator<[string, string[]]> {
    return this.byKey.entries();
  }
}

function reqText(r: Requirement): string {
  return `${r.source}:${r.key} ${r.op}${r.values.length ? ` (${r.values.join(',')})` : ''}`;
}

export class Selector {
  /** Canonical text: equal selectors have equal text. */
  readonly text: string;
  readonly requirements: readonly Requirement[];

  constructor(reqs: readonly Requirement[]) {
    const norm = reqs.map((r) => ({ ...r, values: [...new Set(r.values)].sort() }));
    norm.sort((a, b) => (reqText(a) < reqText(b) ? -1 : reqText(a) > reqText(b) ? 1 : 0));
    // Drop exact duplicates.
    const out: Requirement[] = [];
    for (const r of norm) if (!out.length || reqText(out[out.length - 1]!) !== reqText(r)) out.push(r);
    this.requirements = out;
    this.text = out.length ? out.map(reqText).join(' & ') : '<all>';
  }

  static readonly all = new Selector([]);

  /** An endpoint selector object (matchLabels / matchExpressions); keys without a source get `defaultSource`. */
  static fromObject(obj: SelectorObject | undefined, defaultSource = SOURCE_ANY): Selector {
    const reqs: Requirement[] = [];
    for (const [k, v] of Object.entries(obj?.matchLabels ?? {})) {
      const { source, key } = splitKeyWithDefault(k, defaultSource);
      reqs.push({ source, key, op: 'In', values: [String(v ?? '')] });
    }
    for (const e of obj?.matchExpressions ?? []) {
      const { source, key } = splitKeyWithDefault(e.key ?? '', defaultSource);
      reqs.push({ source, key, op: (e.operator ?? 'In') as Operator, values: (e.values ?? []).map(String) });
    }
    return new Selector(reqs);
  }

  static label(source: string, key: string, value = ''): Selector {
    return new Selector([{ source, key, op: 'In', values: [value] }]);
  }

  with(...reqs: Requirement[]): Selector {
    return new Selector([...this.requirements, ...reqs]);
  }

  and(other: Selector): Selector {
    return new Selector([...this.requirements, ...other.requirements]);
  }

  /** Whether any requirement is about `key` (under any source). */
  mentionsKey(key: string): boolean {
    return this.requirements.some((r) => r.key === key);
  }

  mentionsSource(source: string): boolean {
    return this.requirements.some((r) => r.source === source);
  }

  isWildcard(): boolean {
    return this.requirements.length === 0;
  }

  matches(labels: LabelSet): boolean {
    for (const r of this.requirements) {
      switch (r.op) {
        case 'In':
          if (!labels.hasValue(r.source, r.key, r.values)) return false;
          break;
        case 'NotIn':
          if (labels.hasValue(r.source, r.key, r.values)) return false;
          break;
        case 'Exists':
          if (!labels.has(r.source, r.key)) return false;
          break;
        case 'DoesNotExist':
          if (labels.has(r.source, r.key)) return false;
          break;
        default:
          return false;
      }
    }
    return true;
  }

  /** Every single-valued In requirement as `key=value` (candidate anchors). */
  equalities(): string[] {
    const out: string[] = [];
    for (const r of this.requirements) if (r.op === 'In' && r.values.length === 1) out.push(`${r.key}=${r.values[0]}`);
    return out;
  }

  /**
   * An equality the selector requires (`key=value`, source-agnostic), to index
   * by. Prefers keys other than the namespace (more selective). Undefined when
   * the selector has no single-valued In requirement.
   */
  anchor(): string | undefined {
    let ns: string | undefined;
    for (const r of this.requirements) {
      if (r.op !== 'In' || r.values.length !== 1) continue;
      const a = `${r.key}=${r.values[0]}`;
      if (r.key === POD_NAMESPACE_KEY) ns ??= a;
      else return a;
    }
    return ns;
  }

  /** The selector as `cilium policy get` prints it: matchLabels with `source:key`, then matchExpressions. */
  toJSON(): SelectorObject {
    const matchLabels: Record<string, string> = {};
    const matchExpressions: { key: string; operator: string; values?: string[] }[] = [];
    for (const r of this.requirements) {
      const k = `${r.source}:${r.key}`;
      if (r.op === 'In' && r.values.length === 1 && !(k in matchLabels)) matchLabels[k] = r.values[0]!;
      else matchExpressions.push({ key: k, operator: r.op, ...(r.values.length ? { values: [...r.values] } : {}) });
    }
    const out: SelectorObject = {};
    if (Object.keys(matchLabels).length) out.matchLabels = Object.fromEntries(Object.entries(matchLabels).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (matchExpressions.length) out.matchExpressions = matchExpressions;
    return out;
  }
}

function splitKeyWithDefault(written: string, defaultSource: string): { source: string; key: string } {
  const s = splitKey(written);
  return s.source === SOURCE_ANY && !written.startsWith(`${SOURCE_ANY}:`) ? { source: defaultSource, key: s.key } : s;
}

export interface SelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key?: string; operator?: string; values?: string[] }[];
}
