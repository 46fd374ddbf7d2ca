// Decode a node's maps straight from their bytes, so tests check what the
// datapath reads rather than what the agent believes it wrote.

import { ENDPOINT_INFO, IPCACHE_KEY, IPCACHE_PREFIX_STATIC_BITS, LB4_BACKEND, LB4_KEY, LB4_SERVICE, REMOTE_ENDPOINT_INFO, TUNNEL_VALUE } from '../../src/datapath/maps.js';
import type { NodeDatapath } from '../../src/datapath/sim/node-datapath.js';
import { ipv4ToString } from '../../src/packet/ip.js';

const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

export interface MapView {
  /** "10.244.1.23/32" → identity and tunnel endpoint. */
  ipcache: Map<string, { identity: number; tunnel: string }>;
  /** pod IP → endpoint ID, identity, flags. */
  lxc: Map<string, { id: number; identity: number; flags: number }>;
  /** backend ID → "ip:port". */
  backends: Map<number, string>;
  /** "vip:port" → backend IDs in slot order and the rev-NAT index. */
  services: Map<string, { revNat: number; count: number; slots: number[] }>;
  /** pod CIDR network → node IP. */
  tunnels: Map<string, string>;
  /** Names of the node's maps (per-endpoint policy maps included). */
  names: string[];
}

export function readMaps(dp: NodeDatapath): MapView {
  const ipcache = new Map<string, { identity: number; tunnel: string }>();
  dp.ipcache.forEach((keys, k, v) => {
    const len = (keys[k + IPCACHE_KEY.PREFIXLEN]! | (keys[k + IPCACHE_KEY.PREFIXLEN + 1]! << 8)) - IPCACHE_PREFIX_STATIC_BITS;
    const ip = ipv4ToString(be32(keys, k + IPCACHE_KEY.IP));
    ipcache.set(`${ip}/${len}`, {
      identity: dp.ipcache.view.getUint32(v + REMOTE_ENDPOINT_INFO.SEC_IDENTITY, true),
      tunnel: ipv4ToString(be32(dp.ipcache.values, v + REMOTE_ENDPOINT_INFO.TUNNEL_ENDPOINT)),
    });
  });
  const lxc = new Map<string, { id: number; identity: number; flags: number }>();
  dp.lxc.forEach((keys, k, v) => {
    lxc.set(ipv4ToString(be32(keys, k)), {
      id: dp.lxc.view.getUint16(v + ENDPOINT_INFO.LXC_ID, true),
      identity: dp.lxc.view.getUint32(v + ENDPOINT_INFO.SEC_ID, true),
      flags: dp.lxc.view.getUint32(v + ENDPOINT_INFO.FLAGS, true),
    });
  });
  const backends = new Map<number, string>();
  dp.lbBackends.forEach((keys, k, v) => {
    const id = keys[k]! | (keys[k + 1]! << 8) | (keys[k + 2]! << 16) | (keys[k + 3]! << 24);
    backends.set(id >>> 0, `${ipv4ToString(be32(dp.lbBackends.values, v + LB4_BACKEND.ADDRESS))}:${be16(dp.lbBackends.values, v + LB4_BACKEND.PORT)}`);
  });
  const services = new Map<string, { revNat: number; count: number; slots: number[] }>();
  const slotRows: { fe: string; slot: number; backend: number }[] = [];
  dp.lbServices.forEach((keys, k, v) => {
    const fe = `${ipv4ToString(be32(keys, k + LB4_KEY.ADDRESS))}:${be16(keys, k + LB4_KEY.DPORT)}`;
    const slot = keys[k + LB4_KEY.BACKEND_SLOT]! | (keys[k + LB4_KEY.BACKEND_SLOT + 1]! << 8);
    const view = dp.lbServices.view;
    if (slot === 0) {
      const prev = services.get(fe);
      services.set(fe, { revNat: view.getUint16(v + LB4_SERVICE.REV_NAT_INDEX, true), count: view.getUint16(v + LB4_SERVICE.COUNT, true), slots: prev?.slots ?? [] });
    } else {
      slotRows.push({ fe, slot, backend: view.getUint32(v + LB4_SERVICE.BACKEND_ID, true) });
    }
  });
  for (const r of slotRows.sort((a, b) => a.slot - b.slot)) {
    const s = services.get(r.fe) ?? { revNat: 0, count: 0, slots: [] };
    s.slots.push(r.backend);
    services.set(r.fe, s);
  }
  const tunnels = new Map<string, string>();
  dp.tunnelMap.forEach((keys, k, v) => {
    tunnels.set(ipv4ToString(be32(keys, k)), ipv4ToString(be32(dp.tunnelMap.values, v + TUNNEL_VALUE.IP)));
  });
  return { ipcache, lxc, backends, services, tunnels, names: [...dp.maps.keys()] };
}
