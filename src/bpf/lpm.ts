// BPF_MAP_TYPE_LPM_TRIE. Key = `struct bpf_lpm_trie_key`: a u32 prefixlen in
// host (little-endian) order, then keySize-4 data bytes; prefixlen counts bits
// from the start of the data.
//
// Instead of a trie: one hash index per prefix length present, over a shared
// slot pool holding the canonical keys (prefixlen, data masked to prefixlen).
// A lookup loads the query's words once, masks them down to each present
// length, longest first, and probes that length's index (hashing and
// comparing only the words the length covers). Cilium's ipcache is almost all host entries plus
// a handful of CIDRs, so a hit usually costs one probe, and the fallbacks to
// CIDRs probe small indexes that stay in cache. The kernel's update/delete
// semantics are kept: exact (prefixlen, masked data) match, -EINVAL for a
// prefixlen beyond the data, -ENOSPC when full.
import { BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, BpfMapType, Errno, checkSpec, withType } from './types.js';
import type { KeyValueMap, MapSpec, MapSpecInput } from './types.js';
import { DEFAULT_HASH_SEED, KEY_SCRATCH, KeyWords, SlotIndex, SlotPool, hashWords, hashWords3, loadKeyWords } from './hash-table.js';
import { badUpdateFlags, copyInto } from './map-util.js';
import { HOST_LITTLE_ENDIAN, readU32LE } from './bytes.js';
import type { HashMapOptions } from './hash.js';

/** The kernel's LPM_DATA_SIZE_MAX. */
const LPM_DATA_SIZE_MAX = 256;

/** Host-order word holding `bytes`. */
function hostWord(bytes: number[]): number {
  return new Int32Array(new Uint8Array(bytes).buffer)[0];
}

/**
 * Scratch words shared by every LPM map (operations never interleave, and
 * shared arrays stay in cache): the query as loaded, and the query masked to
 * the length being probed (canonical key form).
 */
const QUERY = new KeyWords(4 + LPM_DATA_SIZE_MAX);
/**
 * Module-local copies of imported bindings: TurboFan folds a module's own
 * consts into the code, but loads and hole-checks an import's cell (and
 * re-tests a boolean's truthiness) on every use.
 */
const LITTLE_ENDIAN: boolean = HOST_LITTLE_ENDIAN;
const SCRATCH_BYTES = KEY_SCRATCH.bytes;
const SCRATCH_WORDS = KEY_SCRATCH.words;
const PROBE = new KeyWords(4 + LPM_DATA_SIZE_MAX);
/** The pair scan's and probeWords2()'s answer when lookupWords2() needs only one. */
const PAIR = new Int32Array(2);

/**
 * Whether lookupWords2() and lookupPairWords2() apply: their words are the
 * key bytes loaded little-endian, the records' form on little-endian hosts only.
 */
export const WORD_QUERIES: boolean = LITTLE_ENDIAN;

/**
 * Maps whose slots in use stay within this many are searched by a scan of
 * their records instead of one hash probe per prefix length: a handful of
 * entries (an allow-all policy, a small cluster's ipcache) sit in two or
 * three cache lines, and comparing a few words each beats hashing the key
 * once per length present. The answer is the same longest match. (Only on
 * little-endian hosts, where a record's word 0 is its prefixlen.)
 */
const SCAN_MAX_SLOTS = LITTLE_ENDIAN ? 16 : 0;

/**
 * SCAN_MAX_SLOTS for word queries (lookupWords2): with the key given as
 * numbers a probe needs no key bytes loaded, and a hash of three words and
 * one index probe beat comparing more than a few records (measured on the
 * bench's 7-entry ipcache: 413 instructions a scan, 285 a probe).
 */
const WORD_SCAN_MAX_SLOTS = LITTLE_ENDIAN ? 4 : 0;

/**
 * Word 0 of a deleted slot's record (the slot stays free until an insert
 * rewrites the whole key): a prefixlen longer than any query's, so the scans
 * pass over it on the prefixlen test alone.
 */
const DEAD_RECORD = 0x7fff_ffff;

/** MASK_WORD[b]: a data word (4 key bytes as a host-order word) keeping its first b bits, network order. */
const MASK_WORD = Int32Array.from({ length: 33 }, (_, bits) =>
  hostWord([0, 1, 2, 3].map((k) => (0xff00 >>> Math.min(8, Math.max(0, bits - 8 * k))) & 0xff)),
);

interface LpmState {
  pool: SlotPool;
  byLength: (SlotIndex | undefined)[];
  lengths: Int32Array;
  nLengths: number;
  seed: number;
}

export class LpmTrieMap implements KeyValueMap {
  readonly spec: MapSpec;
  readonly pool: SlotPool;
  /** Bits of data after the prefixlen word: the longest prefix allowed. */
  readonly maxPrefixLen: number;
  readonly seed: number;
  private readonly keySize: number;
  private readonly valueSize: number;
  /** One index per prefix length that has been used. */
  private readonly byLength: (SlotIndex | undefined)[];
  /** Prefix lengths that have entries, longest first. */
  private readonly lengths: Int32Array;
  private nLengths = 0;
  // The last answers of lookupWords2() and lookupPairWords2(): the query and
  // the value offsets it found. The programs ask the same few questions
  // packet after packet (a destination's ipcache entry, an endpoint's policy
  // for one peer and port), and a lookup changes nothing, so until an entry
  // is inserted or deleted the same query has the same answer (values
  // written in place keep their offsets). A limit of -1 = nothing
  // remembered; clones start without.
  private lastLimit = -1;
  private lastW1 = 0;
  private lastW2 = 0;
  private lastOff = -1;
  private pairLimit = -1;
  private pairW1 = 0;
  private pairAlt = 0;
  private pairW2 = 0;
  private pairA = -1;
  private pairB = -1;
  /** PREFIX_WORD[len]: the prefixlen word of a canonical key (u32 little-endian, as a host-order word). */
  private readonly prefixWord: Int32Array;
  /** The longest prefix a word query (lookupWords2) can ask for: two data words, or the data's bits if fewer. */
  private readonly wordLimit: number;

  constructor(spec: MapSpecInput, options: HashMapOptions = {}, state?: LpmState) {
    this.spec = withType(spec, BpfMapType.LPM_TRIE);
    checkSpec(this.spec, BpfMapType.LPM_TRIE, 'lpm trie map');
    const dataSize = this.spec.keySize - 4;
    if (dataSize < 1 || dataSize > LPM_DATA_SIZE_MAX) throw new Error(`lpm trie map ${this.spec.name}: keySize must be 5..${LPM_DATA_SIZE_MAX + 4}`);
    // Same refusal as the kernel's trie_alloc(): LPM tries must be created with BPF_F_NO_PREALLOC.
    if (!((this.spec.flags ?? 0) & BPF_F_NO_PREALLOC)) throw new Error(`lpm trie map ${this.spec.name}: needs flags BPF_F_NO_PREALLOC`);
    this.keySize = this.spec.keySize;
    this.valueSize = this.spec.valueSize;
    this.maxPrefixLen = dataSize * 8;
    this.wordLimit = Math.min(64, this.maxPrefixLen);
    this.prefixWord = Int32Array.from({ length: this.maxPrefixLen + 1 }, (_, len) => hostWord([len & 0xff, len >>> 8, 0, 0]));
    if (state) {
      this.pool = state.pool;
      this.byLength = state.byLength;
      this.lengths = state.lengths;
      this.nLengths = state.nLengths;
      this.seed = state.seed;
    } else {
      this.pool = new SlotPool(this.keySize, this.valueSize, this.spec.maxEntries);
      this.byLength = new Array<SlotIndex | undefined>(this.maxPrefixLen + 1).fill(undefined);
      this.lengths = new Int32Array(this.maxPrefixLen + 1);
      this.seed = (options.seed ?? DEFAULT_HASH_SEED) | 0;
    }
  }

  /** The value bytes; a new buffer after an insert grows the storage, so read it after map writes. */
  get values(): Uint8Array {
    return this.pool.values;
  }

  get view(): DataView {
    return this.pool.view;
  }

  get count(): number {
    return this.pool.count;
  }

  /** Prefix lengths currently present, longest first (for dumps and tests). */
  prefixLengths(): number[] {
    return Array.from(this.lengths.subarray(0, this.nLengths));
  }

  /**
   * Longest-prefix match for the data in `key`, considering prefixes up to the
   * key's own prefixlen (use the full length for an address lookup). Value offset or -1.
   */
  lookup(key: Uint8Array, keyOff = 0): number {
    return this.pool.highWater <= SCAN_MAX_SLOTS ? this.scan(key, keyOff) : this.probe(key, keyOff);
  }

  /** lookup() by hash probes, one per prefix length present (longest first). */
  private probe(key: Uint8Array, keyOff: number): number {
    const limit = this.queryLimit(key, keyOff);
    const lengths = this.lengths;
    const n = this.nLengths;
    let i = 0;
    while (i < n && lengths[i] > limit) i++;
    if (i === n) return -1;
    // Load the words the longest candidate needs once, then mask further down
    // for each shorter length. Words past a length's last data word are never
    // read: each index holds one length, so hashing and comparing `used` words
    // is exact.
    const qw = this.queryWords(key, keyOff, Math.min(this.keySize, 4 + 4 * ((lengths[i] + 31) >>> 5)));
    const pw = PROBE.words;
    const byLength = this.byLength;
    const seed = this.seed;
    for (; i < n; i++) {
      const len = lengths[i];
      const used = this.probeWords(qw, len);
      const slot = (byLength[len] as SlotIndex).find(pw, used, hashWords(pw, used, seed));
      if (slot >= 0) return slot * this.valueSize;
    }
    return -1;
  }

  /**
   * The query's prefixlen, capped at the data's bits. A key built in
   * KEY_SCRATCH has it as word 0 already (u32 little-endian = the host word on
   * little-endian hosts): no byte assembly.
   */
  private queryLimit(key: Uint8Array, keyOff: number): number {
    const limit = LITTLE_ENDIAN && key === SCRATCH_BYTES && keyOff === 0 ? SCRATCH_WORDS[0] >>> 0 : readU32LE(key, keyOff);
    return limit > this.maxPrefixLen ? this.maxPrefixLen : limit;
  }

  /**
   * The query's words: the key itself when it was built in KEY_SCRATCH, else
   * its first `bytes` bytes loaded into QUERY. Bytes past the key in a partial
   * last word need no clearing: no prefix covers that word whole, so it is
   * always compared masked.
   */
  private queryWords(key: Uint8Array, keyOff: number, bytes: number): Int32Array {
    if (key === SCRATCH_BYTES && keyOff === 0) return SCRATCH_WORDS;
    loadKeyWords(QUERY.words, QUERY.bytes, key, keyOff, bytes);
    return QUERY.words;
  }

  /** The query words masked to `len` (canonical key form) in PROBE; returns how many words that is. */
  private probeWords(qw: Int32Array, len: number): number {
    const pw = PROBE.words;
    const full = len >>> 5;
    pw[0] = this.prefixWord[len];
    for (let w = 1; w <= full; w++) pw[w] = qw[w];
    if ((len & 31) === 0) return full + 1;
    pw[full + 1] = qw[full + 1] & MASK_WORD[len & 31];
    return full + 2;
  }

  /**
   * lookup() for a map with few slots: compare every entry's prefix with the
   * query, keep the longest. Records are walked by word offset (no multiply
   * per slot), and a record's word 0 is its prefixlen: stored keys are
   * canonical, prefixlen (u32 little-endian, scanned on little-endian hosts
   * only) then data zeroed past it; deleted slots hold DEAD_RECORD there.
   */
  private scan(key: Uint8Array, keyOff: number): number {
    const limit = this.queryLimit(key, keyOff);
    const qw = this.queryWords(key, keyOff, this.keySize);
    const pool = this.pool;
    const meta = pool.meta;
    const rw = pool.recordWords;
    const end = pool.highWater * rw;
    let best = -1;
    let bestLen = -1;
    for (let base = 0; base < end; base += rw) {
      const len = meta[base];
      if (len > limit || len <= bestLen) continue;
      // Last word first: the leading words (family, cluster, identity) are
      // often shared, the trailing ones tell entries apart.
      const full = len >>> 5;
      if ((len & 31) !== 0 && meta[base + full + 1] !== (qw[full + 1] & MASK_WORD[len & 31])) continue;
      let w = full;
      while (w > 0 && meta[base + w] === qw[w]) w--;
      if (w > 0) continue;
      best = base;
      bestLen = len;
      // Nothing longer than the query's own prefixlen can match.
      if (len === limit) break;
    }
    return best < 0 ? -1 : (best / rw) * this.valueSize;
  }

  /**
   * Two lookup()s in one pass, of `key` and of the same key with its word
   * `word` (key bytes 4*word.., word ≥ 1) replaced by `alt`, a host-order word
   * as loaded from those bytes. found[0] and found[1] get the value offsets
   * (or -1), exactly what the two lookups would return. A scan compares each
   * record once against both; probing builds each length's masked key once
   * and probes it twice only when the length reaches `word`.
   */
  lookupPair(key: Uint8Array, keyOff: number, word: number, alt: number, found: Int32Array): void {
    if (this.pool.highWater <= SCAN_MAX_SLOTS) this.scanPair(key, keyOff, word, alt, found);
    else this.probePair(key, keyOff, word, alt, found);
  }

  /** lookupPair() by scan: scan()'s walk, with `word` compared against both queries. */
  private scanPair(key: Uint8Array, keyOff: number, word: number, alt: number, found: Int32Array): void {
    const limit = this.queryLimit(key, keyOff);
    const qw = this.queryWords(key, keyOff, this.keySize);
    const pool = this.pool;
    const meta = pool.meta;
    const rw = pool.recordWords;
    const end = pool.highWater * rw;
    let a = -1;
    let aLen = -1;
    let b = -1;
    let bLen = -1;
    for (let base = 0; base < end; base += rw) {
      const len = meta[base];
      if (len > limit || (len <= aLen && len <= bLen)) continue;
      // Every word the prefix covers but `word` must match the (shared) query; last first, as in scan().
      const full = len >>> 5;
      const rest = len & 31;
      if (rest !== 0 && full + 1 !== word && meta[base + full + 1] !== (qw[full + 1] & MASK_WORD[rest])) continue;
      let w = full;
      while (w > 0 && (w === word || meta[base + w] === qw[w])) w--;
      if (w > 0) continue;
      // Then `word`, if covered, decides which of the two it matches.
      let inA = true;
      let inB = true;
      if (word <= full) {
        const r = meta[base + word];
        inA = r === qw[word];
        inB = r === alt;
      } else if (word === full + 1 && rest !== 0) {
        const r = meta[base + word];
        const m = MASK_WORD[rest];
        inA = r === (qw[word] & m);
        inB = r === (alt & m);
      }
      if (inA && len > aLen) {
        a = base;
        aLen = len;
      }
      if (inB && len > bLen) {
        b = base;
        bLen = len;
      }
      // Nothing longer than the query's own prefixlen can match.
      if (aLen === limit && bLen === limit) break;
    }
    found[0] = a < 0 ? -1 : (a / rw) * this.valueSize;
    found[1] = b < 0 ? -1 : (b / rw) * this.valueSize;
  }

  /** lookupPair() by hash probes: per length, longest first, until both have matched. */
  private probePair(key: Uint8Array, keyOff: number, word: number, alt: number, found: Int32Array): void {
    const limit = this.queryLimit(key, keyOff);
    const lengths = this.lengths;
    const n = this.nLengths;
    let i = 0;
    while (i < n && lengths[i] > limit) i++;
    let a = -1;
    let b = -1;
    if (i < n) {
      const qw = this.queryWords(key, keyOff, Math.min(this.keySize, 4 + 4 * ((lengths[i] + 31) >>> 5)));
      const pw = PROBE.words;
      const byLength = this.byLength;
      const seed = this.seed;
      for (; i < n && (a < 0 || b < 0); i++) {
        const len = lengths[i];
        const used = this.probeWords(qw, len);
        const slots = byLength[len] as SlotIndex;
        if (used <= word) {
          // The length stops short of `word`: both queries mask to this one key.
          const slot = slots.find(pw, used, hashWords(pw, used, seed));
          if (a < 0) a = slot;
          if (b < 0) b = slot;
          continue;
        }
        if (a < 0) a = slots.find(pw, used, hashWords(pw, used, seed));
        if (b < 0) {
          pw[word] = word === used - 1 && (len & 31) !== 0 ? alt & MASK_WORD[len & 31] : alt;
          b = slots.find(pw, used, hashWords(pw, used, seed));
        }
      }
    }
    found[0] = a < 0 ? -1 : a * this.valueSize;
    found[1] = b < 0 ? -1 : b * this.valueSize;
  }

  /**
   * lookup() of a query given as numbers: prefixlen `limit` (at most 64, the
   * bits of two data words) and the key's data words 1 and 2 as host-order
   * words (key bytes 4..7 and 8..11 as loaded little-endian). An IPv4
   * ipcache host key or a policy key is all in those words, so no key bytes
   * are written or loaded. Needs keySize ≥ 12 and a little-endian host
   * (WORD_QUERIES); the answer is lookup()'s for the same key.
   */
  lookupWords2(limit: number, w1: number, w2: number): number {
    if (limit === this.lastLimit && w1 === this.lastW1 && w2 === this.lastW2) return this.lastOff;
    let off: number;
    if (this.pool.highWater > WORD_SCAN_MAX_SLOTS) off = this.probeWords2(limit, w1, 0, w2, false, PAIR);
    else {
      // The pair scan with both queries the same: found[0] is the one answer.
      this.scanPairWords2(limit, w1, w1, w2, PAIR);
      off = PAIR[0];
    }
    this.lastLimit = limit;
    this.lastW1 = w1;
    this.lastW2 = w2;
    this.lastOff = off;
    return off;
  }

  /**
   * lookupPair() for word queries: the longest matches of (limit, w1, w2) in
   * found[0] and of (limit, alt1, w2) in found[1], as two lookupWords2()
   * calls would return them (policy_can_access()'s remote identity and its
   * "any identity" wildcard, which differ only in sec_label, word 1).
   */
  lookupPairWords2(limit: number, w1: number, alt1: number, w2: number, found: Int32Array): void {
    if (limit === this.pairLimit && w1 === this.pairW1 && alt1 === this.pairAlt && w2 === this.pairW2) {
      found[0] = this.pairA;
      found[1] = this.pairB;
      return;
    }
    if (this.pool.highWater <= WORD_SCAN_MAX_SLOTS) this.scanPairWords2(limit, w1, alt1, w2, found);
    else this.probeWords2(limit, w1, alt1, w2, true, found);
    this.pairLimit = limit;
    this.pairW1 = w1;
    this.pairAlt = alt1;
    this.pairW2 = w2;
    this.pairA = found[0];
    this.pairB = found[1];
  }

  /** Forget the word queries' last answers: the entries changed (an insert, a delete, a clear). */
  private forgetAnswers(): void {
    this.lastLimit = -1;
    this.pairLimit = -1;
  }

  /** lookupPairWords2() (and lookupWords2(), with alt1 = w1) by scan: both queries share word 2, word 1 decides between them. */
  private scanPairWords2(limit: number, w1: number, alt1: number, w2: number, found: Int32Array): void {
    const pool = this.pool;
    const meta = pool.meta;
    const rw = pool.recordWords;
    const end = pool.highWater * rw;
    if (limit > this.wordLimit) limit = this.wordLimit;
    let a = -1;
    let aLen = -1;
    let b = -1;
    let bLen = -1;
    for (let base = 0; base < end; base += rw) {
      const len = meta[base];
      if (len > limit || (len <= aLen && len <= bLen)) continue;
      const r1 = meta[base + 1];
      let q1 = w1;
      let q1b = alt1;
      if (len > 32) {
        if (meta[base + 2] !== (w2 & MASK_WORD[len - 32])) continue;
      } else {
        const m = MASK_WORD[len];
        q1 &= m;
        q1b &= m;
      }
      if (r1 === q1 && len > aLen) {
        a = base;
        aLen = len;
      }
      if (r1 === q1b && len > bLen) {
        b = base;
        bLen = len;
      }
      if (aLen === limit && bLen === limit) break;
    }
    found[0] = a < 0 ? -1 : (a / rw) * this.valueSize;
    found[1] = b < 0 ? -1 : (b / rw) * this.valueSize;
  }

  /**
   * lookupWords2() (into found[0]) or, with `pair`, lookupPairWords2() by hash
   * probes: per length present, longest first, the query masked in PROBE.
   */
  private probeWords2(limit: number, w1: number, alt1: number, w2: number, pair: boolean, found: Int32Array): number {
    if (limit > this.wordLimit) limit = this.wordLimit;
    const lengths = this.lengths;
    const n = this.nLengths;
    const byLength = this.byLength;
    const seed = this.seed;
    const prefixWord = this.prefixWord;
    let a = -1;
    let b = pair ? -1 : 0;
    for (let i = 0; i < n && (a < 0 || b < 0); i++) {
      const len = lengths[i];
      if (len > limit) continue;
      const slots = byLength[len] as SlotIndex;
      // The canonical key: prefixlen word, then the data words the length touches, masked.
      const k0 = prefixWord[len];
      let used: number;
      let k2 = 0;
      let mask1 = -1;
      if (len > 32) {
        k2 = w2 & MASK_WORD[len - 32];
        used = 3;
      } else {
        mask1 = MASK_WORD[len];
        used = len === 0 ? 1 : 2;
      }
      if (a < 0) {
        const k1 = w1 & mask1;
        a = slots.findWords3(hashWords3(used, k0, k1, k2, seed), used, k0, k1, k2);
      }
      if (b < 0) {
        const k1 = alt1 & mask1;
        b = slots.findWords3(hashWords3(used, k0, k1, k2, seed), used, k0, k1, k2);
      }
    }
    found[0] = a < 0 ? -1 : a * this.valueSize;
    if (pair) found[1] = b < 0 ? -1 : b * this.valueSize;
    return found[0];
  }

  /** Value offset of the entry with exactly this (prefixlen, masked data), or -1. */
  lookupExact(key: Uint8Array, keyOff = 0): number {
    const used = this.canonicalize(key, keyOff);
    if (used < 0) return -1;
    const slots = this.byLength[readU32LE(key, keyOff)];
    if (slots === undefined) return -1;
    const pw = PROBE.words;
    const slot = slots.find(pw, used, hashWords(pw, used, this.seed));
    return slot < 0 ? -1 : slot * this.valueSize;
  }

  reserve(key: Uint8Array, flags = BPF_ANY, keyOff = 0): number {
    const slot = this.reserveSlot(key, flags, keyOff);
    return slot < 0 ? slot : slot * this.valueSize;
  }

  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    const slot = this.reserveSlot(key, flags, keyOff);
    if (slot < 0) return slot;
    copyInto(this.values, slot * this.valueSize, value, valueOff, this.valueSize);
    return 0;
  }

  delete(key: Uint8Array, keyOff = 0): number {
    const used = this.canonicalize(key, keyOff);
    if (used < 0) return -Errno.EINVAL;
    const len = readU32LE(key, keyOff);
    const slots = this.byLength[len];
    if (slots === undefined) return -Errno.ENOENT;
    const pw = PROBE.words;
    const h = hashWords(pw, used, this.seed);
    const slot = slots.find(pw, used, h);
    if (slot < 0) return -Errno.ENOENT;
    slots.remove(slot, h);
    this.pool.free(slot);
    this.forgetAnswers();
    // The scans read a record's word 0 as its prefixlen and need no `live` check for this one.
    this.pool.meta[slot * this.pool.recordWords] = DEAD_RECORD;
    if (slots.count === 0) this.forgetLength(len);
    return 0;
  }

  clear(): void {
    this.forgetAnswers();
    this.pool.clear();
    this.byLength.fill(undefined);
    this.nLengths = 0;
  }

  /** Entries in canonical form: prefixlen (LE) then data masked to it, zero beyond. */
  forEach(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const pool = this.pool;
    const valueSize = this.valueSize;
    pool.forEachSlot((slot) => cb(pool.keys, slot * pool.recordStride, slot * valueSize));
  }

  clone(): LpmTrieMap {
    const pool = this.pool.clone();
    return new LpmTrieMap({ ...this.spec }, {}, {
      pool,
      byLength: this.byLength.map((slots) => slots?.cloneFor(pool)),
      lengths: this.lengths.slice(),
      nLengths: this.nLengths,
      seed: this.seed,
    });
  }

  /**
   * Load the canonical key (prefixlen, data masked to it, zero beyond) into the
   * probe words; returns the words that matter (1 + data words the prefix
   * touches), or -1 if prefixlen is too long.
   */
  private canonicalize(key: Uint8Array, keyOff: number): number {
    const len = readU32LE(key, keyOff);
    if (len > this.maxPrefixLen) return -1;
    const pw = PROBE.words;
    loadKeyWords(pw, PROBE.bytes, key, keyOff, this.keySize);
    pw[0] = this.prefixWord[len];
    let used = 1 + (len >>> 5);
    if ((len & 31) !== 0) {
      pw[used] &= MASK_WORD[len & 31];
      used++;
    }
    for (let w = used; w < this.pool.keyWords; w++) pw[w] = 0;
    return used;
  }

  private reserveSlot(key: Uint8Array, flags: number, keyOff: number): number {
    if (badUpdateFlags(flags)) return -Errno.EINVAL;
    const used = this.canonicalize(key, keyOff);
    if (used < 0) return -Errno.EINVAL;
    const pw = PROBE.words;
    const len = readU32LE(key, keyOff);
    const h = hashWords(pw, used, this.seed);
    let slots = this.byLength[len];
    const found = slots === undefined ? -1 : slots.find(pw, used, h);
    if (found >= 0) return flags === BPF_NOEXIST ? -Errno.EEXIST : found;
    if (flags === BPF_EXIST) return -Errno.ENOENT;
    if (this.pool.full) return -Errno.ENOSPC;
    if (slots === undefined) {
      slots = new SlotIndex(this.pool);
      this.byLength[len] = slots;
    }
    if (slots.count === 0) this.addLength(len);
    const slot = this.pool.alloc(pw, h);
    slots.add(slot, h);
    this.forgetAnswers();
    return slot;
  }

  private addLength(len: number): void {
    const lengths = this.lengths;
    let i = this.nLengths++;
    while (i > 0 && lengths[i - 1] < len) {
      lengths[i] = lengths[i - 1];
      i--;
    }
    lengths[i] = len;
  }

  private forgetLength(len: number): void {
    const lengths = this.lengths;
    let i = 0;
    while (lengths[i] !== len) i++;
    for (; i < this.nLengths - 1; i++) lengths[i] = lengths[i + 1];
    this.nLengths--;
  }
}
