// Lookups in the node-wide maps keyed by address: cilium_lxc, cilium_ipcache
// (longest prefix) and cilium_tunnel_map (pod CIDR → node).

import { writeU32BE } from '../../../bpf/bytes.js';
import { prefixMask } from '../../../packet/ip.js';
import {
  ENDPOINT_KEY,
  ENDPOINT_KEY_IPV4,
  IPCACHE_KEY,
  IPCACHE_PREFIX_STATIC_BITS,
  REMOTE_ENDPOINT_INFO,
  RemoteEndpointFlags,
  TUNNEL_KEY,
  TUNNEL_VALUE,
} from '../../maps.js';
import type { NodeDatapath } from '../node-datapath.js';

const lxcKey = new Uint8Array(ENDPOINT_KEY.SIZE);
lxcKey[ENDPOINT_KEY.FAMILY] = ENDPOINT_KEY_IPV4;
const ipcacheKey = new Uint8Array(IPCACHE_KEY.SIZE);
ipcacheKey[IPCACHE_KEY.PREFIXLEN] = IPCACHE_PREFIX_STATIC_BITS + 32;
ipcacheKey[IPCACHE_KEY.FAMILY] = ENDPOINT_KEY_IPV4;
const tunnelKey = new Uint8Array(TUNNEL_KEY.SIZE);
tunnelKey[TUNNEL_KEY.FAMILY] = ENDPOINT_KEY_IPV4;

/** lookup_ip4_endpoint(): value offset in cilium_lxc, or -1. */
export function lookupEndpoint(dp: NodeDatapath, ip: number): number {
  writeU32BE(lxcKey, ENDPOINT_KEY.IP, ip);
  return dp.lxc.lookup(lxcKey);
}

export class IpcacheResult {
  found = false;
  identity = 0;
  tunnelEndpoint = 0;
  skipTunnel = false;
}

/** lookup_ip4_remote_endpoint(): longest-prefix ipcache match for ip. */
export function lookupIpcache(dp: NodeDatapath, ip: number, out: IpcacheResult): boolean {
  writeU32BE(ipcacheKey, IPCACHE_KEY.IP, ip);
  const off = dp.ipcache.lookup(ipcacheKey);
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
  writeU32BE(tunnelKey, TUNNEL_KEY.IP, (ip & prefixMask(dp.cfg.podCidr.prefixLen)) >>> 0);
  const off = dp.tunnelMap.lookup(tunnelKey);
  if (off < 0) return 0;
  return dp.tunnelMap.view.getUint32(off + TUNNEL_VALUE.IP, false);
}
