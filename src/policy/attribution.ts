// Attribution: every policy map entry carries a cookie (policy_entry.cookie),
// every policy-verdict event carries the cookie of the entry that decided,
// and this table turns the cookie back into the rules behind the entry:
// kind, namespace, name, uid, which rule of the object (`specs[1]`), which
// section and element (`ingressDeny[0]`), and the rule's labels, so Hubble's
// `ingress_allowed_by` / `egress_denied_by` and the trace can name them.
//
// Cookies are interned: entries produced by the same rules with the same
// verdict share one cookie on every endpoint and node.

import type { Direction, PolicyKind, RuleLabel, Section } from './types.js';

/** One rule (element of a section) that produced an entry. */
export interface RuleRef {
  kind: PolicyKind;
  namespace?: string;
  name: string;
  uid: string;
  /** Which rule of the object: 0 for `spec`, then `specs[i]`. */
  ruleIndex: number;
  /** `spec`, `specs[1]` */
  rulePath: string;
  section: Section;
  /** Element of the section: `ingress[2]`. */
  index: number;
  direction: Direction;
  deny: boolean;
  labels: RuleLabel[];
}

/** Entries no rule wrote: Cilium's implicit ones. */
export type ImplicitReason =
  /** allow-localhost: the local node may reach its pods when ingress is enforced. */
  | 'allow-localhost'
  /** The direction is not enforced: Cilium's allow-all entry (identity 0, ANY, ANY). */
  | 'enforcement-disabled';

export interface Attribution {
  cookie: number;
  direction: Direction;
  verdict: 'allow' | 'deny' | 'redirect';
  /** The rules that decided (for a deny: the deny rules). */
  rules: RuleRef[];
  /** For a deny: allow rules on the same key that the deny overrode. */
  overridden: RuleRef[];
  /** The deny was placed here from a broader deny so it beats a more specific allow. */
  derived: boolean;
  implicit?: ImplicitReason;
}

export function ruleRefText(r: RuleRef): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} ${r.rulePath === 'spec' ? '' : `${r.rulePath}.`}${r.section}[${r.index}]`;
}

export function attributionText(a: Attribution): string {
  if (a.implicit === 'allow-localhost') return 'allowed: traffic from the local node (allow-localhost)';
  if (a.implicit === 'enforcement-disabled') return `allowed: ${a.direction} policy not enforced`;
  const rules = a.rules.map(ruleRefText).join(', ');
  if (a.verdict === 'deny') return `denied by ${rules}${a.overridden.length ? ` (overrides ${a.overridden.map(ruleRefText).join(', ')})` : ''}`;
  return `${a.verdict === 'redirect' ? 'redirected to the proxy' : 'allowed'} by ${rules}`;
}

export class PolicyAttribution {
  private readonly bySignature = new Map<string, number>();
  private readonly byCookie = new Map<number, Attribution>();
  private next = 1;

  /** The cookie for an attribution (the same inputs always give the same cookie). */
  intern(a: Omit<Attribution, 'cookie'>, signature: string): number {
    const known = this.bySignature.get(signature);
    if (known !== undefined) return known;
    const cookie = this.next++;
    this.bySignature.set(signature, cookie);
    this.byCookie.set(cookie, { ...a, cookie });
    return cookie;
  }

  /** Take over another table's cookies (an engine's fork: the same rules keep the same cookies). */
  copyFrom(other: PolicyAttribution): void {
    for (const [sig, cookie] of other.bySignature) this.bySignature.set(sig, cookie);
    for (const [cookie, a] of other.byCookie) this.byCookie.set(cookie, a);
    this.next = Math.max(this.next, other.next);
  }

  /** The rules behind a policy map entry's (or a verdict event's) cookie; undefined for 0 and unknown cookies. */
  lookup(cookie: number): Attribution | undefined {
    return this.byCookie.get(cookie);
  }

  get size(): number {
    return this.byCookie.size;
  }
}
