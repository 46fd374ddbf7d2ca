// The agent's side of the maps: encode "endpoint X lives here", "this prefix
// has identity N behind node M", "service S has backends B" and policy entries
// into the exact bytes the programs read. Only the agent (and tests seeding
// maps, as Cilium's BPF tests do) calls these.

import { writeU16BE, writeU32BE, writeU32LE } from '../bpf/bytes.js';
import { BPF_ANY, type KeyValueMap } from '../bpf/types.js';
import { writeMac } from '../packet/mac.js';
import {
  ENDPOINT_INFO,
  ENDPOINT_KEY,
  ENDPOINT_KEY_IPV4,
  IPCACHE_KEY,
  IPCACHE_PREFIX_STATIC_BITS,
  LB4_BACKEND,
  LB4_KEY,
  LB4_REVNAT,
  LB4_SERVICE,
  LbScope,
  POLICY_ENTRY,
  POLICY_KEY,
  POLICY_PREFIX,
  PolicyEntryFlags,
  REMOTE_ENDPOINT_INFO,
  RemoteEndpointFlags,
  TUNNEL_KEY,
  TUNNEL_VALUE,
} from './maps.js';

/** Maps the writer needs; a NodeDatapath satisfies it. */
export interface NodeMaps {
  lxc: KeyValueMap;
  ipcache: KeyValueMap;
  tunnelMap: KeyValueMap;
  lbServices: KeyValueMap;
  lbBackends: KeyValueMap;
  lbRevNat: KeyValueMap;
}

function check(rc: number, what: string): void {
  if (rc < 0) throw new Error(`${what}: map update failed (errno ${-rc})`);
}

export interface EndpointEntry {
  ip: number;
  ifindex: number;
  lxcId: number;
  mac: number;
  nodeMac: number;
  identity: number;
  /** EndpointFlags.HOST for the host endpoint. */
  flags?: number;
}

export function endpointKey(ip: number): Uint8Array {
  const k = new Uint8Array(ENDPOINT_KEY.SIZE);
  writeU32BE(k, ENDPOINT_KEY.IP, ip);
  k[ENDPOINT_KEY.FAMILY] = ENDPOINT_KEY_IPV4;
  return k;
}

export function upsertEndpoint(m: NodeMaps, e: EndpointEntry): void {
  const v = new Uint8Array(ENDPOINT_INFO.SIZE);
  const dv = new DataView(v.buffer);
  dv.setUint32(ENDPOINT_INFO.IFINDEX, e.ifindex, true);
  dv.setUint16(ENDPOINT_INFO.LXC_ID, e.lxcId, true);
  dv.setUint32(ENDPOINT_INFO.FLAGS, e.flags ?? 0, true);
  writeMac(v, ENDPOINT_INFO.MAC, e.mac);
  writeMac(v, ENDPOINT_INFO.NODE_MAC, e.nodeMac);
  dv.setUint32(ENDPOINT_INFO.SEC_ID, e.identity, true);
  check(m.lxc.update(endpointKey(e.ip), v, BPF_ANY), `cilium_lxc ${e.ip}`);
}

export function deleteEndpoint(m: NodeMaps, ip: number): void {
  m.lxc.delete(endpointKey(ip));
}

export function ipcacheKey(addr: number, prefixLen: number): Uint8Array {
  const k = new Uint8Array(IPCACHE_KEY.SIZE);
  writeU32LE(k, IPCACHE_KEY.PREFIXLEN, IPCACHE_PREFIX_STATIC_BITS + prefixLen);
  k[IPCACHE_KEY.FAMILY] = ENDPOINT_KEY_IPV4;
  writeU32BE(k, IPCACHE_KEY.IP, addr);
  return k;
}

export interface IpcacheEntry {
  addr: number;
  prefixLen: number;
  identity: number;
  /** Node IP to tunnel to (0: local or not tunnelled). */
  tunnelEndpoint: number;
  skipTunnel?: boolean;
}

export function upsertIpcache(m: NodeMaps, e: IpcacheEntry): void {
  const v = new Uint8Array(REMOTE_ENDPOINT_INFO.SIZE);
  const dv = new DataView(v.buffer);
  dv.setUint32(REMOTE_ENDPOINT_INFO.SEC_IDENTITY, e.identity, true);
  writeU32BE(v, REMOTE_ENDPOINT_INFO.TUNNEL_ENDPOINT, e.tunnelEndpoint);
  v[REMOTE_ENDPOINT_INFO.FLAGS] = e.skipTunnel ? RemoteEndpointFlags.SKIP_TUNNEL : 0;
  check(m.ipcache.update(ipcacheKey(e.addr, e.prefixLen), v, BPF_ANY), 'cilium_ipcache');
}

export function deleteIpcache(m: NodeMaps, addr: number, prefixLen: number): void {
  m.ipcache.delete(ipcacheKey(addr, prefixLen));
}

export function upsertTunnel(m: NodeMaps, podCidrAddr: number, nodeIp: number): void {
  const k = new Uint8Array(TUNNEL_KEY.SIZE);
  writeU32BE(k, TUNNEL_KEY.IP, podCidrAddr);
  k[TUNNEL_KEY.FAMILY] = ENDPOINT_KEY_IPV4;
  const v = new Uint8Array(TUNNEL_VALUE.SIZE);
  writeU32BE(v, TUNNEL_VALUE.IP, nodeIp);
  v[TUNNEL_VALUE.FAMILY] = ENDPOINT_KEY_IPV4;
  check(m.tunnelMap.update(k, v, BPF_ANY), 'cilium_tunnel_map');
}

export function lb4Key(vip: number, port: number, slot: number): Uint8Array {
  const k = new Uint8Array(LB4_KEY.SIZE);
  writeU32BE(k, LB4_KEY.ADDRESS, vip);
  writeU16BE(k, LB4_KEY.DPORT, port);
  k[LB4_KEY.BACKEND_SLOT] = slot & 0xff;
  k[LB4_KEY.BACKEND_SLOT + 1] = slot >>> 8;
  k[LB4_KEY.SCOPE] = LbScope.EXTERNAL;
  return k;
}

export interface BackendEntry {
  id: number;
  addr: number;
  port: number;
  proto: number;
  state?: number;
}

export function upsertBackend(m: NodeMaps, b: BackendEntry): void {
  const k = new Uint8Array(4);
  writeU32LE(k, 0, b.id);
  const v = new Uint8Array(LB4_BACKEND.SIZE);
  writeU32BE(v, LB4_BACKEND.ADDRESS, b.addr);
  writeU16BE(v, LB4_BACKEND.PORT, b.port);
  v[LB4_BACKEND.PROTO] = b.proto;
  v[LB4_BACKEND.FLAGS] = b.state ?? 0;
  check(m.lbBackends.update(k, v, BPF_ANY), `cilium_lb4_backends_v3 ${b.id}`);
}

export interface ServiceEntry {
  vip: number;
  port: number;
  /** Service ID = rev_nat_index. */
  revNatIndex: number;
  /** Backend IDs in slot order (slots 1..n). */
  backendIds: number[];
  flags?: number;
  flags2?: number;
}

function svcValue(backendId: number, count: number, revNat: number, flags: number, flags2: number): Uint8Array {
  const v = new Uint8Array(LB4_SERVICE.SIZE);
  const dv = new DataView(v.buffer);
  dv.setUint32(LB4_SERVICE.BACKEND_ID, backendId, true);
  dv.setUint16(LB4_SERVICE.COUNT, count, true);
  dv.setUint16(LB4_SERVICE.REV_NAT_INDEX, revNat, true);
  v[LB4_SERVICE.FLAGS] = flags;
  v[LB4_SERVICE.FLAGS2] = flags2;
  return v;
}

/** Frontend master entry, one slot entry per backend, and the reverse-NAT entry. Stale slots are removed. */
export function upsertService(m: NodeMaps, s: ServiceEntry, previousCount = 0): void {
  const n = s.backendIds.length;
  s.backendIds.forEach((id, i) => {
    check(m.lbServices.update(lb4Key(s.vip, s.port, i + 1), svcValue(id, 0, s.revNatIndex, 0, 0), BPF_ANY), 'cilium_lb4_services_v2 slot');
  });
  check(m.lbServices.update(lb4Key(s.vip, s.port, 0), svcValue(0, n, s.revNatIndex, s.flags ?? 0, s.flags2 ?? 0), BPF_ANY), 'cilium_lb4_services_v2');
  for (let slot = n + 1; slot <= previousCount; slot++) m.lbServices.delete(lb4Key(s.vip, s.port, slot));
  const rk = new Uint8Array(2);
  rk[0] = s.revNatIndex & 0xff;
  rk[1] = s.revNatIndex >>> 8;
  const rv = new Uint8Array(LB4_REVNAT.SIZE);
  writeU32BE(rv, LB4_REVNAT.ADDRESS, s.vip);
  writeU16BE(rv, LB4_REVNAT.PORT, s.port);
  check(m.lbRevNat.update(rk, rv, BPF_ANY), 'cilium_lb4_reverse_nat');
}

export function deleteService(m: NodeMaps, vip: number, port: number, count: number): void {
  for (let slot = 0; slot <= count; slot++) m.lbServices.delete(lb4Key(vip, port, slot));
}

export interface PolicyEntrySpec {
  /** Remote identity; 0 = any. */
  identity: number;
  egress: boolean;
  /** IP protocol; 0 = any protocol (then port must be 0). */
  proto: number;
  /** Destination port; 0 = any port. */
  port: number;
  /** For a port range as one prefix: how many low port bits are wildcarded (0 = exact port). */
  portWildcardBits?: number;
  deny?: boolean;
  /** L7 proxy port (redirect). */
  proxyPort?: number;
  /** Names the rules behind the entry (the agent's cookie table). */
  cookie?: number;
}

export function policyKey(e: PolicyEntrySpec): { key: Uint8Array; prefixLen: number } {
  const k = new Uint8Array(POLICY_KEY.SIZE);
  let prefixLen: number;
  if (e.proto === 0) prefixLen = POLICY_PREFIX.ID_DIR;
  else if (e.port === 0) prefixLen = POLICY_PREFIX.PROTO;
  else prefixLen = POLICY_PREFIX.FULL - (e.portWildcardBits ?? 0);
  writeU32LE(k, POLICY_KEY.PREFIXLEN, prefixLen);
  writeU32LE(k, POLICY_KEY.SEC_LABEL, e.identity);
  k[POLICY_KEY.EGRESS] = e.egress ? 1 : 0;
  k[POLICY_KEY.PROTOCOL] = e.proto;
  writeU16BE(k, POLICY_KEY.DPORT, e.port);
  return { key: k, prefixLen };
}

/** Insert or replace one policy map entry; returns 0 or -errno (a full map refuses, as the kernel does). */
export function putPolicyEntry(map: KeyValueMap, e: PolicyEntrySpec): number {
  const { key, prefixLen } = policyKey(e);
  const v = new Uint8Array(POLICY_ENTRY.SIZE);
  writeU16BE(v, POLICY_ENTRY.PROXY_PORT, e.proxyPort ?? 0);
  let flags = 0;
  if (e.deny) flags |= PolicyEntryFlags.DENY;
  if (e.proto === 0) flags |= PolicyEntryFlags.WILDCARD_PROTOCOL;
  if (e.port === 0) flags |= PolicyEntryFlags.WILDCARD_DPORT;
  v[POLICY_ENTRY.FLAGS] = flags;
  v[POLICY_ENTRY.LPM_PREFIX_LEN] = prefixLen;
  writeU32LE(v, POLICY_ENTRY.COOKIE, e.cookie ?? 0);
  return map.update(key, v, BPF_ANY);
}

export function deletePolicyEntry(map: KeyValueMap, e: PolicyEntrySpec): number {
  return map.delete(policyKey(e).key);
}

/** An endpoint without enforcement in a direction gets one allow-all entry for it. */
export function allowAllPolicy(map: KeyValueMap, egress: boolean, cookie = 0): number {
  return putPolicyEntry(map, { identity: 0, egress, proto: 0, port: 0, cookie });
}
