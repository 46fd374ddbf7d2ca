// policy_can_access() (bpf/lib/policy.h): two LPM lookups in the endpoint's
// policy map, one with the remote identity and one with identity 0 (any),
// ranked by port/protocol specificity first, identity second.

import type { KeyValueMap } from '../../../bpf/types.js';
import { KEY_SCRATCH } from '../../../bpf/hash-table.js';
import { HOST_LITTLE_ENDIAN } from '../../../bpf/bytes.js';
import { LpmTrieMap as importedLpmTrieMap, WORD_QUERIES } from '../../../bpf/lpm.js';
import { POLICY_ENTRY, POLICY_KEY, POLICY_PREFIX, PolicyEntryFlags } from '../../maps.js';
import { DropReason } from '../../drop.js';
import { PolicyMatch } from '../../trace.js';

// Module-local bindings of imports used per packet (helpers called, classes
// tested with instanceof): TurboFan folds a module's own const, where an
// import's binding is loaded and checked on every use.
const LpmTrieMap = importedLpmTrieMap;

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
const keyWords = KEY_SCRATCH.words;
const keyView = KEY_SCRATCH.view;
/** A module-local copy: TurboFan folds it, where an imported binding is loaded, hole-checked and truth-tested per use. */
const LITTLE_ENDIAN: boolean = HOST_LITTLE_ENDIAN;

/** Word queries apply (a module-local copy, folded by TurboFan). */
const BY_WORDS: boolean = WORD_QUERIES;

/** `struct policy_key`'s last word (egress, protocol, dport big-endian) as a host-order (little-endian) word. */
function portWord(egress: boolean, proto: number, dport: number): number {
  return (egress ? 1 : 0) | ((proto & 0xff) << 8) | ((dport & 0xff00) << 8) | ((dport & 0xff) << 24);
}

/** `struct policy_key` for a full-length lookup: prefixlen, sec_label, then egress, protocol, dport (big-endian). */
function fillKey(identity: number, egress: boolean, proto: number, dport: number): void {
  if (LITTLE_ENDIAN) {
    // Whole host-order words: prefixlen and sec_label are u32 little-endian;
    // the last word's bytes are egress, protocol, dport high, dport low.
    const w = keyWords;
    w[POLICY_KEY.PREFIXLEN >>> 2] = POLICY_PREFIX.FULL;
    w[POLICY_KEY.SEC_LABEL >>> 2] = identity | 0;
    w[POLICY_KEY.EGRESS >>> 2] = portWord(egress, proto, dport);
    return;
  }
  const v = keyView;
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
  // instanceof walks the prototype chain: test once.
  if (BY_WORDS && map instanceof LpmTrieMap && (map.pool.valueStride & 3) === 0) return policyCanAccessWords(map, remoteId, egress, proto, dport, bytes, out);
  const v = map.view;
  const d = map.values;
  fillKey(remoteId, egress, proto, dport);
  if (map instanceof LpmTrieMap) {
    // The two keys differ only in sec_label: one pass finds both longest matches.
    map.lookupPair(key, 0, POLICY_KEY.SEC_LABEL >>> 2, 0, found);
  } else {
    found[0] = map.lookup(key);
    keyView.setUint32(POLICY_KEY.SEC_LABEL, 0, true);
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

  if (off < 0) return policyMiss(out);
  out.entryOff = off;
  out.matchType = matchTypeFor(d[off + POLICY_ENTRY.LPM_PREFIX_LEN], identitySpecific);
  out.cookie = v.getUint32(off + POLICY_ENTRY.COOKIE, true);
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

function policyMiss(out: PolicyResult): number {
  out.verdict = -DropReason.POLICY;
  out.matchType = PolicyMatch.NONE;
  out.cookie = 0;
  out.entryOff = -1;
  return out.verdict;
}

/** `struct policy_entry`'s first word (proxy_port big-endian, flags, auth_type) and the word holding lpm_prefix_length (its low byte), as host-order words. */
const HEAD_WORD = POLICY_ENTRY.PROXY_PORT >>> 2;
const PREFIX_WORD = POLICY_ENTRY.LPM_PREFIX_LEN >>> 2;
const PREFIX_SHIFT = 8 * (POLICY_ENTRY.LPM_PREFIX_LEN & 3);
const FLAGS_SHIFT = 8 * (POLICY_ENTRY.FLAGS & 3);

// A const function expression, not a declaration: a declaration's binding
// is read from the module context and checked at every call, a module's own
// const is folded (this runs per packet).
/**
 * policyCanAccess() on a little-endian host for an LPM policy map: the key
 * goes in as numbers (lookupPairWords2) and the entry is read and counted as
 * host-order words (values are word-aligned: 32-byte entries).
 */
const policyCanAccessWords = function policyCanAccessWords(map: importedLpmTrieMap, remoteId: number, egress: boolean, proto: number, dport: number, bytes: number, out: PolicyResult): number {
  // The two keys differ only in sec_label: one pass finds both longest matches.
  map.lookupPairWords2(POLICY_PREFIX.FULL, remoteId | 0, 0, portWord(egress, proto, dport), found);
  const vw = map.pool.valueWords;
  const l3l4 = remoteId !== 0 ? found[0] >> 2 : -1;
  const any = found[1] >> 2;
  let at: number;
  let identitySpecific = false;
  // More specific port/protocol wins; on a tie the identity-specific entry does.
  if (l3l4 >= 0 && (any < 0 || ((vw[l3l4 + PREFIX_WORD] >>> PREFIX_SHIFT) & 0xff) >= ((vw[any + PREFIX_WORD] >>> PREFIX_SHIFT) & 0xff))) {
    at = l3l4;
    identitySpecific = true;
  } else at = any;
  if (at < 0) return policyMiss(out);
  out.entryOff = at << 2;
  out.matchType = matchTypeFor((vw[at + PREFIX_WORD] >>> PREFIX_SHIFT) & 0xff, identitySpecific);
  out.cookie = vw[at + (POLICY_ENTRY.COOKIE >>> 2)] >>> 0;
  // Per-entry packet and byte counters (u64): the low word, carrying into the high one.
  const pk = at + (POLICY_ENTRY.PACKETS >>> 2);
  if ((vw[pk] = (vw[pk] + 1) | 0) === 0) vw[pk + 1] = (vw[pk + 1] + 1) | 0;
  const by = at + (POLICY_ENTRY.BYTES >>> 2);
  const sum = (vw[by] >>> 0) + bytes;
  vw[by] = sum | 0;
  if (sum > 0xffffffff) vw[by + 1] = (vw[by + 1] + 1) | 0;
  const head = vw[at + HEAD_WORD];
  if ((head >>> FLAGS_SHIFT) & PolicyEntryFlags.DENY) return (out.verdict = -DropReason.POLICY_DENY);
  // proxy_port: the word's first two bytes, big-endian.
  return (out.verdict = ((head & 0xff) << 8) | ((head >>> 8) & 0xff));
};
