// Lookups in the node-wide maps keyed by address: cilium_lxc, cilium_ipcache
// (longest prefix) and cilium_tunnel_map (pod CIDR → node).

import { bswap32 as importedBswap32, HOST_LITTLE_ENDIAN } from '../../../bpf/bytes.js';
import { KEY_SCRATCH } from '../../../bpf/hash-table.js';
import { LpmTrieMap as importedLpmTrieMap, WORD_QUERIES } from '../../../bpf/lpm.js';
import { HashMap as importedHashMap } from '../../../bpf/hash.js';
import { prefixMask as importedPrefixMask } from '../../../packet/ip.js';
import {
  ENDPOINT_KEY,
  ENDPOINT_KEY_IPV4,
  IPCACHE_KEY,
  IPCACHE_PREFIX_STATIC_BITS,
  REMOTE_ENDPOINT_INFO,
  RemoteEndpointFlags,
  TUNNEL_VALUE,
} from '../../maps.js';
import type { NodeDatapath } from '../node-datapath.js';

// Module-local bindings of imports used per packet (helpers called, classes
// tested with instanceof): TurboFan folds a module's own const, where an
// import's binding is loaded and checked on every use.
const LpmTrieMap = importedLpmTrieMap;
const HashMap = importedHashMap;
const prefixMask = importedPrefixMask;

// Keys are built in the maps' shared key scratch with whole 32-bit stores
// (see KEY_SCRATCH), every byte the lookup reads written, and used by the
// very next map call.

// The scratch's arrays as this module's own consts, which TurboFan folds (an
// imported binding is a cell load and check on every use).
const SCRATCH_VIEW = KEY_SCRATCH.view;
const SCRATCH_WORDS = KEY_SCRATCH.words;
const SCRATCH_BYTES = KEY_SCRATCH.bytes;

/** The key word after the 16 address bytes for IPv4 (family, then zero bytes), in host order. */
const IPV4_FAMILY_WORD = HOST_LITTLE_ENDIAN ? ENDPOINT_KEY_IPV4 : ENDPOINT_KEY_IPV4 << 24;
/** cluster_id (u16, 0), pad, family (the word's last byte), as one big-endian word. */
const IPCACHE_FAMILY_WORD = ENDPOINT_KEY_IPV4;
/** An ipcache host key's prefixlen: the static bits before the address, then all 32. */
const IPCACHE_HOST_PREFIXLEN = IPCACHE_PREFIX_STATIC_BITS + 32;

/** A module-local copy: TurboFan folds it, where an imported binding is loaded, hole-checked and truth-tested per use. */
const BY_WORDS: boolean = WORD_QUERIES;
/** bswap32 as a module-local binding, which TurboFan folds (an import is loaded and checked per call). */
const bswap32 = importedBswap32;
/** The ipcache key's word 1 as a host-order (little-endian) word: cluster_id 0, pad, family IPv4 in its last byte. */
const IPCACHE_FAMILY_HOST_WORD = ENDPOINT_KEY_IPV4 << 24;

// An address (a number in network byte order) becomes the host-order
// (little-endian) word of its 4 key bytes by bswap32(), and back.

/**
 * `struct endpoint_key` / `struct tunnel_key` (same layout): an IPv4 address in
 * the first 4 of 16 address bytes, then family, key or pad, cluster_id 0.
 * The address is stored in network order, the other words as host-order words.
 */
function ip4AddrKey(ip: number): Uint8Array {
  SCRATCH_VIEW.setUint32(ENDPOINT_KEY.IP, ip);
  const w = SCRATCH_WORDS;
  w[1] = 0;
  w[2] = 0;
  w[3] = 0;
  w[ENDPOINT_KEY.FAMILY >> 2] = IPV4_FAMILY_WORD;
  return SCRATCH_BYTES;
}

/** `struct endpoint_key`: IPv4 in the first 4 of 16 address bytes, then family, key 0, cluster_id 0. */
function endpointKey(ip: number): Uint8Array {
  return ip4AddrKey(ip);
}

/** `struct tunnel_key`: the CIDR's IPv4 address in 16 bytes, then family, pad, cluster_id 0. */
function tunnelKey(ip: number): Uint8Array {
  return ip4AddrKey(ip);
}

/** lookup_ip4_endpoint(): value offset in cilium_lxc, or -1. */
export function lookupEndpoint(dp: NodeDatapath, ip: number): number {
  const map = dp.lxc;
  // The key as numbers: the address word, three zero words, the family word.
  if (BY_WORDS && map instanceof HashMap) return map.lookupWords5(bswap32(ip), 0, 0, 0, IPV4_FAMILY_WORD);
  return map.lookup(endpointKey(ip));
}

/**
 * `struct ipcache_key` for a host lookup: prefixlen (static bits + 32), cluster
 * 0, family IPv4, the address. The rest of the 16 address bytes is left as
 * is: a longest-prefix lookup compares no bits past the key's own prefixlen.
 */
function ipcacheHostKey(ip: number): Uint8Array {
  const v = SCRATCH_VIEW;
  v.setUint32(IPCACHE_KEY.PREFIXLEN, IPCACHE_HOST_PREFIXLEN, true);
  // cluster_id (u16), pad, family: the word's last byte.
  v.setUint32(IPCACHE_KEY.CLUSTER_ID, IPCACHE_FAMILY_WORD);
  v.setUint32(IPCACHE_KEY.IP, ip);
  return SCRATCH_BYTES;
}

export class IpcacheResult {
  found = false;
  identity = 0;
  tunnelEndpoint = 0;
  skipTunnel = false;
}

/** lookup_ip4_remote_endpoint(): longest-prefix ipcache match for ip. */
export function lookupIpcache(dp: NodeDatapath, ip: number, out: IpcacheResult): boolean {
  const map = dp.ipcache;
  if (BY_WORDS && map instanceof LpmTrieMap) {
    // The host key as numbers: no key bytes written, the value read as words.
    const off = map.lookupWords2(IPCACHE_HOST_PREFIXLEN, IPCACHE_FAMILY_HOST_WORD, bswap32(ip));
    if (off < 0) return ipcacheMiss(out);
    const pool = map.pool;
    const vw = pool.valueWords;
    const at = off >>> 2;
    out.found = true;
    out.identity = vw[at + (REMOTE_ENDPOINT_INFO.SEC_IDENTITY >>> 2)] >>> 0;
    // tunnel_endpoint is in network order.
    out.tunnelEndpoint = bswap32(vw[at + (REMOTE_ENDPOINT_INFO.TUNNEL_ENDPOINT >>> 2)]) >>> 0;
    out.skipTunnel = (pool.values[off + REMOTE_ENDPOINT_INFO.FLAGS] & RemoteEndpointFlags.SKIP_TUNNEL) !== 0;
    return true;
  }
  const off = map.lookup(ipcacheHostKey(ip));
  if (off < 0) return ipcacheMiss(out);
  const v = map.view;
  out.found = true;
  out.identity = v.getUint32(off + REMOTE_ENDPOINT_INFO.SEC_IDENTITY, true);
  out.tunnelEndpoint = v.getUint32(off + REMOTE_ENDPOINT_INFO.TUNNEL_ENDPOINT, false);
  out.skipTunnel = (map.values[off + REMOTE_ENDPOINT_INFO.FLAGS] & RemoteEndpointFlags.SKIP_TUNNEL) !== 0;
  return true;
}

function ipcacheMiss(out: IpcacheResult): boolean {
  out.found = false;
  out.identity = 0;
  out.tunnelEndpoint = 0;
  out.skipTunnel = false;
  return false;
}

/** cilium_tunnel_map lookup by the destination's pod CIDR (node CIDRs share one size); 0 when absent. */
export function lookupTunnel(dp: NodeDatapath, ip: number): number {
  const map = dp.tunnelMap;
  const cidr = (ip & prefixMask(dp.cfg.podCidr.prefixLen)) >>> 0;
  if (BY_WORDS && map instanceof HashMap) {
    const off = map.lookupWords5(bswap32(cidr), 0, 0, 0, IPV4_FAMILY_WORD);
    if (off < 0) return 0;
    // The value's address, in network order.
    return bswap32(map.valueWords[off >>> 2]) >>> 0;
  }
  const off = map.lookup(tunnelKey(cidr));
  if (off < 0) return 0;
  return map.view.getUint32(off + TUNNEL_VALUE.IP, false);
}
