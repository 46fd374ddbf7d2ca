// Service lookup and backend selection over cilium_lb4_services_v2 /
// cilium_lb4_backends_v3 / cilium_lb4_reverse_nat (bpf/lib/lb.h).

import { writeU16BE, writeU32BE } from '../../../bpf/bytes.js';
import type { KeyValueMap } from '../../../bpf/types.js';
import { BackendState, LB4_BACKEND, LB4_KEY, LB4_REVNAT, LB4_SERVICE, LbScope } from '../../maps.js';
import type { NodeDatapath } from '../node-datapath.js';

const svcKey = new Uint8Array(LB4_KEY.SIZE);
const backendKey = new Uint8Array(4);
const revNatKey = new Uint8Array(2);

function fillSvcKey(vip: number, dport: number, slot: number): void {
  writeU32BE(svcKey, LB4_KEY.ADDRESS, vip);
  writeU16BE(svcKey, LB4_KEY.DPORT, dport);
  svcKey[LB4_KEY.BACKEND_SLOT] = slot & 0xff;
  svcKey[LB4_KEY.BACKEND_SLOT + 1] = slot >>> 8;
  // proto is 0 in lb4_key before 1.18: one frontend entry serves every protocol.
  svcKey[LB4_KEY.PROTO] = 0;
  svcKey[LB4_KEY.SCOPE] = LbScope.EXTERNAL;
  svcKey[10] = 0;
  svcKey[11] = 0;
}

/** lb4_lookup_service(): the frontend's master (slot 0) entry offset, or -1. */
export function lbLookupService(dp: NodeDatapath, vip: number, dport: number): number {
  fillSvcKey(vip, dport, 0);
  return dp.lbServices.lookup(svcKey);
}

export function svcCount(dp: NodeDatapath, svcOff: number): number {
  return dp.lbServices.view.getUint16(svcOff + LB4_SERVICE.COUNT, true);
}

export function svcRevNatIndex(dp: NodeDatapath, svcOff: number): number {
  return dp.lbServices.view.getUint16(svcOff + LB4_SERVICE.REV_NAT_INDEX, true);
}

/** Backend ID in slot `slot` (1..count) of a frontend, or 0 when the slot is missing. */
export function lbSlotBackendId(dp: NodeDatapath, vip: number, dport: number, slot: number): number {
  fillSvcKey(vip, dport, slot);
  const off = dp.lbServices.lookup(svcKey);
  if (off < 0) return 0;
  return dp.lbServices.view.getUint32(off + LB4_SERVICE.BACKEND_ID, true);
}

/** Offset of a backend in cilium_lb4_backends_v3, or -1. */
export function lbLookupBackend(dp: NodeDatapath, backendId: number): number {
  const k = backendKey;
  k[0] = backendId;
  k[1] = backendId >>> 8;
  k[2] = backendId >>> 16;
  k[3] = backendId >>> 24;
  return dp.lbBackends.lookup(k);
}

export function backendAddress(m: KeyValueMap, off: number): number {
  return m.view.getUint32(off + LB4_BACKEND.ADDRESS, false);
}

export function backendPort(m: KeyValueMap, off: number): number {
  return m.view.getUint16(off + LB4_BACKEND.PORT, false);
}

export function backendActive(m: KeyValueMap, off: number): boolean {
  return m.values[off + LB4_BACKEND.FLAGS] === BackendState.ACTIVE;
}

/** cilium_lb4_reverse_nat[index]: offset of the frontend address/port, or -1. */
export function lbLookupRevNat(dp: NodeDatapath, index: number): number {
  revNatKey[0] = index;
  revNatKey[1] = index >>> 8;
  return dp.lbRevNat.lookup(revNatKey);
}

export function revNatAddress(dp: NodeDatapath, off: number): number {
  return dp.lbRevNat.view.getUint32(off + LB4_REVNAT.ADDRESS, false);
}

export function revNatPort(dp: NodeDatapath, off: number): number {
  return dp.lbRevNat.view.getUint16(off + LB4_REVNAT.PORT, false);
}
