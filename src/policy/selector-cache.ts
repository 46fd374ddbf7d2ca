// The selector cache (pkg/policy/selectorcache.go, Cilium's idea, our code):
// every distinct peer selector of every loaded rule, each with the set of
// identities it selects right now. Identities come and go (a pod with new
// labels, a CIDR prefix named by a policy); the cache updates every affected
// selector incrementally and says which ones changed, so the engine touches
// only the policies that use them.
//
// Three kinds of selector:
//   label     matchLabels/matchExpressions with sources, on identity labels
//             (reserved identities carry reserved:<name>; CIDR identities
//             carry cidr:<prefix> and reserved:world)
//   cidr      a prefix minus excepts, on CIDR identities (and world for /0)
//   wildcard  every identity: the map's identity 0, no set kept

import { ReservedIdentity, RESERVED_LABELS } from '../datapath/identity.js';
import { covers, prefixText } from './cidr.js';
import { LabelSet, Selector } from './selector.js';
import type { Prefix } from './types.js';
import { fqdnSelectorMatches } from '../proxy/l7-policy.js';

export interface IdentityInfo {
  id: number;
  labels: LabelSet;
  /** CIDR identities: the prefix they stand for in the ipcache. */
  cidr?: Prefix;
  /** FQDN identities (learned /32s): the names the DNS proxy saw resolve to the address (lower case, trailing dot). */
  names?: readonly string[];
}

export type SelectorSpec =
  | { kind: 'label'; selector: Selector }
  | { kind: 'cidr'; cidr: Prefix; except: Prefix[] }
  | { kind: 'wildcard' }
  | { kind: 'fqdn'; matchName?: string; matchPattern?: string }
  | { kind: 'none'; reason: string };

/** A toFQDNs selector as Cilium prints it in labels (`fqdn:<matchName or matchPattern>`), lower case. */
export function fqdnSelectorText(s: { matchName?: string; matchPattern?: string }): string {
  return (s.matchName || s.matchPattern || '').toLowerCase();
}

export function specKey(s: SelectorSpec): string {
  switch (s.kind) {
    case 'label':
      return `label:${s.selector.text}`;
    case 'cidr':
      return `cidr:${prefixText(s.cidr)}${s.except.length ? ` except ${s.except.map(prefixText).sort().join(',')}` : ''}`;
    case 'wildcard':
      return 'wildcard';
    case 'fqdn':
      return s.matchName ? `fqdn:name=${s.matchName.toLowerCase().replace(/\.$/, '')}` : `fqdn:pattern=${(s.matchPattern ?? '').toLowerCase().replace(/\.$/, '')}`;
    case 'none':
      return `none:${s.reason}`;
  }
}

/** One selector in the cache: its identities and who uses it. */
export class CachedSelector<U = unknown> {
  readonly ids = new Set<number>();
  readonly users = new Set<U>();
  refs = 0;
  constructor(
    readonly key: string,
    readonly spec: SelectorSpec,
  ) {}

  get isWildcard(): boolean {
    return this.spec.kind === 'wildcard';
  }

  /** Whether identity `id` (with its info) is selected. */
  selects(info: IdentityInfo): boolean {
    const s = this.spec;
    switch (s.kind) {
      case 'wildcard':
        return true;
      case 'none':
        return false;
      case 'fqdn':
        return !!info.names && info.names.some((n) => fqdnSelectorMatches(s, n));
      case 'label':
        return s.selector.matches(info.labels);
      case 'cidr':
        if (info.id === ReservedIdentity.WORLD) return s.cidr.prefixLen === 0;
        if (!info.cidr || !covers(s.cidr, info.cidr)) return false;
        return !s.except.some((e) => covers(e, info.cidr!));
    }
  }
}

/** Reserved identities a single-stack cluster uses (world-ipv4/ipv6 only exist in dual-stack). */
export const RESERVED_UNIVERSE = [1, 2, 3, 4, 5, 6, 7, 8] as const;

export class SelectorCache<U = unknown> {
  private readonly identities = new Map<number, IdentityInfo>();
  /** `key=value` (any source) → identities carrying it. */
  private readonly labelIndex = new Map<string, Set<number>>();
  private readonly selectors = new Map<string, CachedSelector<U>>();
  /** Label selectors by the equality they require; the rest are tested against every identity. */
  private readonly anchored = new Map<string, Set<CachedSelector<U>>>();
  private readonly unanchored = new Set<CachedSelector<U>>();
  private readonly cidrSelectors = new Set<CachedSelector<U>>();
  private readonly fqdnSelectors = new Set<CachedSelector<U>>();

  constructor() {
    for (const id of RESERVED_UNIVERSE) this.insertIdentity({ id, labels: new LabelSet(RESERVED_LABELS[id] ?? []) });
  }

  get identityCount(): number {
    return this.identities.size;
  }

  get selectorCount(): number {
    return this.selectors.size;
  }

  identity(id: number): IdentityInfo | undefined {
    return this.identities.get(id);
  }

  allIdentities(): IterableIterator<IdentityInfo> {
    return this.identities.values();
  }

  /** Identities that carry label `key=value` (any source): a quick pre-filter for subject selection. */
  withLabel(anchor: string): ReadonlySet<number> | undefined {
    return this.labelIndex.get(anchor);
  }

  private insertIdentity(info: IdentityInfo): void {
    this.identities.set(info.id, info);
    for (const [k, vs] of info.labels.entries()) {
      for (const v of vs) {
        const a = `${k}=${v}`;
        let s = this.labelIndex.get(a);
        if (!s) this.labelIndex.set(a, (s = new Set()));
        s.add(info.id);
      }
    }
  }

  private deleteIdentity(info: IdentityInfo): void {
    this.identities.delete(info.id);
    for (const [k, vs] of info.labels.entries()) {
      for (const v of vs) {
        const s = this.labelIndex.get(`${k}=${v}`);
        if (!s) continue;
        s.delete(info.id);
        if (!s.size) this.labelIndex.delete(`${k}=${v}`);
      }
    }
  }

  /** Selectors that may select `info` (a superset; callers test each). */
  private candidates(info: IdentityInfo): Set<CachedSelector<U>> {
    const out = new Set<CachedSelector<U>>(this.unanchored);
    for (const [k, vs] of info.labels.entries()) {
      for (const v of vs) for (const s of this.anchored.get(`${k}=${v}`) ?? []) out.add(s);
    }
    if (info.cidr || info.id === ReservedIdentity.WORLD) for (const s of this.cidrSelectors) out.add(s);
    if (info.names?.length) for (const s of this.fqdnSelectors) out.add(s);
    return out;
  }

  /**
   * Add (or relabel) an identity. Returns the selectors whose sets changed,
   * each with whether the identity was added to or removed from it.
   */
  upsertIdentity(id: number, labels: readonly string[], cidr?: Prefix, names?: readonly string[]): { selector: CachedSelector<U>; added: boolean }[] {
    const changed: { selector: CachedSelector<U>; added: boolean }[] = [];
    const old = this.identities.get(id);
    if (old) {
      const same = old.labels.labels.length === labels.length && old.labels.labels.every((l, i) => l === labels[i]);
      const oldNames = old.names ?? [];
      const newNames = names ?? [];
      const sameNames = oldNames.length === newNames.length && oldNames.every((n, i) => n === newNames[i]);
      if (same && sameNames) return changed;
      for (const s of this.candidates(old)) {
        if (s.ids.delete(id)) changed.push({ selector: s, added: false });
      }
      this.deleteIdentity(old);
    }
    const info: IdentityInfo = { id, labels: new LabelSet(labels), ...(cidr ? { cidr } : {}), ...(names?.length ? { names: [...names] } : {}) };
    this.insertIdentity(info);
    for (const s of this.candidates(info)) {
      if (s.isWildcard || !s.selects(info)) continue;
      s.ids.add(id);
      const prev = changed.findIndex((c) => c.selector === s);
      // Removed then added again by a relabel: no net change.
      if (prev >= 0) changed.splice(prev, 1);
      else changed.push({ selector: s, added: true });
    }
    return changed;
  }

  removeIdentity(id: number): { selector: CachedSelector<U>; added: boolean }[] {
    const info = this.identities.get(id);
    if (!info) return [];
    const changed: { selector: CachedSelector<U>; added: boolean }[] = [];
    for (const s of this.candidates(info)) if (s.ids.delete(id)) changed.push({ selector: s, added: false });
    this.deleteIdentity(info);
    return changed;
  }

  /** The cached selector for a spec (created and resolved on first use); counts a reference. */
  acquire(spec: SelectorSpec): CachedSelector<U> {
    const key = specKey(spec);
    let s = this.selectors.get(key);
    if (!s) {
      s = new CachedSelector<U>(key, spec);
      this.selectors.set(key, s);
      this.resolve(s);
      if (spec.kind === 'label') {
        const a = spec.selector.anchor();
        if (a) {
          let set = this.anchored.get(a);
          if (!set) this.anchored.set(a, (set = new Set()));
          set.add(s);
        } else this.unanchored.add(s);
      } else if (spec.kind === 'cidr') this.cidrSelectors.add(s);
      else if (spec.kind === 'fqdn') this.fqdnSelectors.add(s);
    }
    s.refs++;
    return s;
  }

  release(s: CachedSelector<U>): void {
    if (--s.refs > 0) return;
    this.selectors.delete(s.key);
    this.unanchored.delete(s);
    this.cidrSelectors.delete(s);
    this.fqdnSelectors.delete(s);
    if (s.spec.kind === 'label') {
      const a = s.spec.selector.anchor();
      if (a) {
        const set = this.anchored.get(a);
        set?.delete(s);
        if (set && !set.size) this.anchored.delete(a);
      }
    }
  }

  private resolve(s: CachedSelector<U>): void {
    const spec = s.spec;
    if (spec.kind === 'wildcard' || spec.kind === 'none') return;
    if (spec.kind === 'label') {
      // Scan the smallest set of identities carrying one of the required equalities.
      let pool: ReadonlySet<number> | undefined;
      let anchored = false;
      for (const a of spec.selector.equalities()) {
        anchored = true;
        const ids = this.labelIndex.get(a);
        if (!ids) return;
        if (!pool || ids.size < pool.size) pool = ids;
      }
      if (anchored) {
        for (const id of pool!) if (s.selects(this.identities.get(id)!)) s.ids.add(id);
        return;
      }
      for (const info of this.identities.values()) if (s.selects(info)) s.ids.add(info.id);
      return;
    }
    if (spec.kind === 'fqdn') {
      for (const info of this.identities.values()) if (info.names?.length && s.selects(info)) s.ids.add(info.id);
      return;
    }
    for (const info of this.identities.values()) if ((info.cidr || info.id === ReservedIdentity.WORLD) && s.selects(info)) s.ids.add(info.id);
  }

  /** The toFQDNs selectors in use (for the `fqdn:` labels of learned identities). */
  fqdnSelectorSpecs(): { matchName?: string; matchPattern?: string }[] {
    return [...this.fqdnSelectors].map((s) => s.spec as { matchName?: string; matchPattern?: string });
  }
}
