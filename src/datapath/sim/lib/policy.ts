// policy_can_access() (bpf/lib/policy.h): two LPM lookups in the endpoint's
// policy map, one with the remote identity and one with identity 0 (any),
// ranked by port/protocol specificity first, identity second.

import type { KeyValueMap } from '../../../bpf/types.js';
import { KEY_SCRATCH } from '../../../bpf/hash-table.js';
import { LpmTrieMap } from '../../../bpf/lpm.js';
import { POLICY_ENTRY, POLICY_KEY, POLICY_PREFIX, PolicyEntryFlags } from '../../maps.js';
import { DropReason } from '../../drop.js';
import { PolicyMatch } from '../../trace.js';

/** The decision and the entry behind it, for verdict events and attribution. */
export class PolicyResult {
  /** 0 allow, >0 proxy port (L7 redirect), <0 -drop reason. */
  verdict = 0;
  matchType: number = PolicyMatch.NONE;
  /** Cookie of the deciding entry (names its rules); 0 when nothing matched. */
  cookie = 0;
  /** Value offset of the deciding entry in the policy map, or -1. */
  entryOff = -1;
}

/** Policy keys are built in the maps' shared key scratch with whole-word stores (see KEY_SCRATCH). */
const key = KEY_SCRATCH.bytes;

/** `struct policy_key` for a full-length lookup: prefixlen, sec_label, then egress, protocol, dport (big-endian). */
function fillKey(identity: number, egress: boolean, proto: number, dport: number): void {
  const v = KEY_SCRATCH.view;
  v.setUint32(POLICY_KEY.PREFIXLEN, POLICY_PREFIX.FULL, true);
  v.setUint32(POLICY_KEY.SEC_LABEL, identity >>> 0, true);
  v.setUint32(POLICY_KEY.EGRESS, (((egress ? 1 : 0) << 24) | ((proto & 0xff) << 16) | (dport & 0xffff)) >>> 0);
}

/** The two lookups' value offsets: [0] with the remote identity, [1] with identity 0. */
const found = new Int32Array(2);

function matchTypeFor(prefixLen: number, identitySpecific: boolean): number {
  if (prefixLen > POLICY_PREFIX.PROTO) return identitySpecific ? PolicyMatch.L3_L4 : PolicyMatch.L4_ONLY;
  if (prefixLen === POLICY_PREFIX.PROTO) return identitySpecific ? PolicyMatch.L3_PROTO : PolicyMatch.PROTO_ONLY;
  return identitySpecific ? PolicyMatch.L3_ONLY : PolicyMatch.ALL;
}

/**
 * Decide (remote identity, direction, protocol, port) against a policy map.
 * Counts the packet on the deciding entry, as the datapath does.
 */
export function policyCanAccess(map: KeyValueMap, remoteId: number, egress: boolean, proto: number, dport: number, bytes: number, out: PolicyResult): number {
  const v = map.view;
  const d = map.values;
  fillKey(remoteId, egress, proto, dport);
  if (map instanceof LpmTrieMap) {
    // The two keys differ only in sec_label: one pass over the policy map (an
    // LPM trie) finds both longest matches, each exactly what its own lookup would.
    map.lookupPair(key, 0, POLICY_KEY.SEC_LABEL >>> 2, 0, found);
  } else {
    found[0] = map.lookup(key);
    KEY_SCRATCH.view.setUint32(POLICY_KEY.SEC_LABEL, 0, true);
    found[1] = map.lookup(key);
  }
  const l3l4 = remoteId !== 0 ? found[0] : -1;
  const any = found[1];

  let off = -1;
  let identitySpecific = false;
  if (l3l4 >= 0 && any >= 0) {
    // More specific port/protocol wins; on a tie the identity-specific entry does.
    if (d[l3l4 + POLICY_ENTRY.LPM_PREFIX_LEN] >= d[any + POLICY_ENTRY.LPM_PREFIX_LEN]) {
      off = l3l4;
      identitySpecific = true;
    } else off = any;
  } else if (l3l4 >= 0) {
    off = l3l4;
    identitySpecific = true;
  } else off = any;

  if (off < 0) {
    out.verdict = -DropReason.POLICY;
    out.matchType = PolicyMatch.NONE;
    out.cookie = 0;
    out.entryOff = -1;
    return out.verdict;
  }
  out.entryOff = off;
  out.cookie = v.getUint32(off + POLICY_ENTRY.COOKIE, true);
  out.matchType = matchTypeFor(d[off + POLICY_ENTRY.LPM_PREFIX_LEN], identitySpecific);
  // Per-entry packet and byte counters (u64 little-endian, low words suffice until 2^32).
  const pk = v.getUint32(off + POLICY_ENTRY.PACKETS, true) + 1;
  v.setUint32(off + POLICY_ENTRY.PACKETS, pk >>> 0, true);
  if (pk > 0xffffffff) v.setUint32(off + POLICY_ENTRY.PACKETS + 4, v.getUint32(off + POLICY_ENTRY.PACKETS + 4, true) + 1, true);
  const by = v.getUint32(off + POLICY_ENTRY.BYTES, true) + bytes;
  v.setUint32(off + POLICY_ENTRY.BYTES, by >>> 0, true);
  if (by > 0xffffffff) v.setUint32(off + POLICY_ENTRY.BYTES + 4, v.getUint32(off + POLICY_ENTRY.BYTES + 4, true) + 1, true);

  if (d[off + POLICY_ENTRY.FLAGS] & PolicyEntryFlags.DENY) return (out.verdict = -DropReason.POLICY_DENY);
  const proxyPort = v.getUint16(off + POLICY_ENTRY.PROXY_PORT, false);
  return (out.verdict = proxyPort);
}
