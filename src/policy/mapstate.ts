// MapState: what one endpoint's cilium_policy_<EPID> must hold, per direction,
// keyed like the BPF map: (remote identity | 0, protocol | 0, port prefix).
//
// The datapath (bpf/lib/policy.h, our src/datapath/sim/lib/policy.ts) looks
// the key up twice, with the identity and with identity 0, and keeps the
// entry with the longer protocol/port prefix, the identity-specific one on a
// tie. Policy semantics are different: any deny that covers a flow wins over
// every allow. So, as Cilium's MapState does, deny entries are pushed down to
// where a more specific allow would otherwise win:
//   - an allow covered by a deny of the same identity or of identity 0 turns
//     into that deny;
//   - an identity-0 allow covered by a broader deny for identity N gets an
//     (N, allow's port) deny next to it.
// With that, the lookup's winner is a deny whenever any deny covers the flow
// (proof sketch in the engine's notes: every allow that would beat a deny it
// overlaps has a deny at the intersection that beats it).

import { POLICY_PREFIX } from '../datapath/maps.js';

/** A protocol/port prefix packed in one number: proto << 24 | port << 8 | prefix length (40..64). */
export type PortKey = number;

export const PK_ALL: PortKey = POLICY_PREFIX.ID_DIR;

export function portKey(proto: number, port: number, prefixLen: number): PortKey {
  return proto * 0x1000000 + port * 0x100 + prefixLen;
}

export const pkProto = (pk: PortKey): number => Math.floor(pk / 0x1000000);
export const pkPort = (pk: PortKey): number => Math.floor(pk / 0x100) & 0xffff;
export const pkPrefix = (pk: PortKey): number => pk & 0xff;
/** Low port bits wildcarded (0 for an exact port). */
export const pkWildcardBits = (pk: PortKey): number => POLICY_PREFIX.FULL - pkPrefix(pk);

/** Whether `outer` covers every (protocol, port) `inner` covers. */
export function pkCovers(outer: PortKey, inner: PortKey): boolean {
  const op = pkPrefix(outer);
  const ip = pkPrefix(inner);
  if (op > ip) return false;
  if (op <= POLICY_PREFIX.ID_DIR) return true;
  if (pkProto(outer) !== pkProto(inner)) return false;
  if (op === POLICY_PREFIX.PROTO) return true;
  const shift = POLICY_PREFIX.FULL - op;
  return pkPort(outer) >>> shift === pkPort(inner) >>> shift;
}

/** An inclusive port range as aligned power-of-two blocks (how Cilium puts ranges in the LPM map). */
export function rangeBlocks(lo: number, hi: number): { port: number; bits: number }[] {
  const out: { port: number; bits: number }[] = [];
  let p = lo;
  while (p <= hi) {
    let bits = 0;
    // Grow the block while it stays aligned and inside the range.
    while (bits < 16 && (p & ((1 << (bits + 1)) - 1)) === 0 && p + (1 << (bits + 1)) - 1 <= hi) bits++;
    out.push({ port: p, bits });
    p += 1 << bits;
  }
  return out;
}

/** What one map key accumulates from the rules that produce it. */
export interface Acc<C> {
  pk: PortKey;
  deny: boolean;
  /** Some contributing allow carries L7 rules (redirect to the proxy when one exists). */
  l7: boolean;
  allows: C[];
  denies: C[];
  /** The deny was pushed down here from a broader deny (denies lists those rules). */
  derived: boolean;
}

export class DirState<C> {
  /** identity 0 */
  readonly wild = new Map<PortKey, Acc<C>>();
  readonly byId = new Map<number, Map<PortKey, Acc<C>>>();

  map(id: number): Map<PortKey, Acc<C>> {
    if (id === 0) return this.wild;
    let m = this.byId.get(id);
    if (!m) this.byId.set(id, (m = new Map()));
    return m;
  }

  add(id: number, pk: PortKey, c: C, deny: boolean, l7: boolean): void {
    const m = this.map(id);
    let a = m.get(pk);
    if (!a) m.set(pk, (a = { pk, deny: false, l7: false, allows: [], denies: [], derived: false }));
    if (deny) {
      a.deny = true;
      a.denies.push(c);
    } else {
      a.allows.push(c);
      if (l7) a.l7 = true;
    }
  }

  /** Push denies of identity 0 down onto the identity-0 allows they cover. */
  deriveWild(): void {
    const denies = [...this.wild.values()].filter((a) => a.deny);
    if (!denies.length) return;
    for (const a of this.wild.values()) {
      if (a.deny) continue;
      const d = denies.find((x) => x.pk !== a.pk && pkCovers(x.pk, a.pk));
      if (d) {
        a.deny = true;
        a.derived = true;
        a.denies = [...d.denies];
      }
    }
  }

  /** Push denies down for identity `id` (after its entries were (re)built and deriveWild ran). */
  deriveId(id: number): void {
    const m = this.byId.get(id);
    if (!m) return;
    const wildDenies: Acc<C>[] = [];
    for (const a of this.wild.values()) if (a.deny && !a.derived) wildDenies.push(a);
    const ownDenies: Acc<C>[] = [];
    for (const a of m.values()) if (a.deny) ownDenies.push(a);
    if (!wildDenies.length && !ownDenies.length) return;
    for (const a of m.values()) {
      if (a.deny) continue;
      const d = ownDenies.find((x) => pkCovers(x.pk, a.pk)) ?? wildDenies.find((x) => pkCovers(x.pk, a.pk));
      if (d) {
        a.deny = true;
        a.derived = true;
        a.denies = [...d.denies];
      }
    }
    if (!ownDenies.length) return;
    for (const w of this.wild.values()) {
      if (w.deny) continue;
      const d = ownDenies.find((x) => pkPrefix(x.pk) < pkPrefix(w.pk) && pkCovers(x.pk, w.pk));
      if (!d || m.has(w.pk)) continue;
      m.set(w.pk, { pk: w.pk, deny: true, l7: false, allows: [], denies: [...d.denies], derived: true });
    }
  }

  clearId(id: number): void {
    this.byId.delete(id);
  }

  get size(): number {
    let n = this.wild.size;
    for (const m of this.byId.values()) n += m.size;
    return n;
  }
}
