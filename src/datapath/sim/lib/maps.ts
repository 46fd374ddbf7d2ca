// Lookups in the node-wide maps keyed by address: cilium_lxc, cilium_ipcache
// (longest prefix) and cilium_tunnel_map (pod CIDR → node).

import { HOST_LITTLE_ENDIAN } from '../../../bpf/bytes.js';
import { KEY_SCRATCH } from '../../../bpf/hash-table.js';
import { prefixMask } from '../../../packet/ip.js';
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
  return dp.lxc.lookup(endpointKey(ip));
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
  const off = dp.ipcache.lookup(ipcacheHostKey(ip));
  if (off < 0) {
    out.found = false;
    out.identity = 0;
    out.tunnelEndpoint = 0;
    out.skipTunnel = false;
    return false;
  }
  const v = dp.ipcache.view;
  out.found = true;
  out.identity = v.getUint32(off + REMOTE_ENDPOINT_INFO.SEC_IDENTITY, true);
  out.tunnelEndpoint = v.getUint32(off + REMOTE_ENDPOINT_INFO.TUNNEL_ENDPOINT, false);
  out.skipTunnel = (dp.ipcache.values[off + REMOTE_ENDPOINT_INFO.FLAGS] & RemoteEndpointFlags.SKIP_TUNNEL) !== 0;
  return true;
}

/** cilium_tunnel_map lookup by the destination's pod CIDR (node CIDRs share one size); 0 when absent. */
export function lookupTunnel(dp: NodeDatapath, ip: number): number {
  const off = dp.tunnelMap.lookup(tunnelKey((ip & prefixMask(dp.cfg.podCidr.prefixLen)) >>> 0));
  if (off < 0) return 0;
  return dp.tunnelMap.view.getUint32(off + TUNNEL_VALUE.IP, false);
}
