// Tail-call slots (CILIUM_CALL_*, bpf/lib/common.h) and the source lines drop
// events report, so `file bpf_lxc.c:LINE` reads like Cilium 1.17's.

export const enum CallSlot {
  DROP_NOTIFY = 1,
  ERROR_NOTIFY = 2,
  ARP = 6,
  IPV4_FROM_LXC = 7,
  // eslint-disable-next-line @typescript-eslint/no-duplicate-enum-values -- the same value under two names, as in the C source
  IPV4_FROM_OVERLAY = 7,
  // eslint-disable-next-line @typescript-eslint/no-duplicate-enum-values -- the same value under two names, as in the C source
  IPV4_FROM_NETDEV = 7,
  IPV4_TO_LXC_POLICY_ONLY = 11,
  IPV4_TO_ENDPOINT = 13,
  IPV4_FROM_LXC_CONT = 25,
  IPV4_CT_INGRESS = 27,
  IPV4_CT_INGRESS_POLICY_ONLY = 28,
  IPV4_CT_EGRESS = 29,
  IPV4_NO_SERVICE = 47,
  SIZE = 50,
}

/** Lines in bpf_lxc.c / bpf_overlay.c / bpf_host.c where each drop is raised. */
export const enum DropLine {
  LXC_UNKNOWN_L3 = 1617,
  LXC_INVALID = 1535,
  LXC_INVALID_SIP = 1549,
  LXC_NO_SERVICE = 1586,
  LXC_CT_EGRESS = 1274,
  // eslint-disable-next-line @typescript-eslint/no-duplicate-enum-values -- the same value under two names, as in the C source
  LXC_POLICY_EGRESS = 1274,
  LXC_CT_CREATE_EGRESS = 1301,
  LXC_MISSED_TAIL_CALL = 1520,
  LXC_TTL = 1390,
  LXC_POLICY_INGRESS = 2063,
  LXC_CT_CREATE_INGRESS = 2088,
  LXC_INGRESS_INVALID = 2001,
  LXC_EP_NOT_READY = 1410,
  LXC_FORWARD = 1444,
  LXC_DELIVER = 2140,
  OVERLAY_NO_TUNNEL_KEY = 620,
  OVERLAY_INVALID_IDENTITY = 612,
  OVERLAY_UNKNOWN_L3 = 655,
  OVERLAY_INVALID = 235,
  OVERLAY_UNROUTABLE = 323,
  OVERLAY_EP_NOT_READY = 300,
  HOST_INVALID = 702,
  HOST_UNKNOWN_L3 = 1180,
  HOST_EP_NOT_READY = 740,
  HOST_NAT = 1290,
}

/** ctx->mark magic for a packet handed to the L7 proxy (MARK_MAGIC_TO_PROXY), port in the upper 16 bits. */
export const MARK_MAGIC_TO_PROXY = 0x0200;
export const MARK_MAGIC_MASK = 0x0f00;
/** Sent by the proxy's upstream socket of an egress redirect: the source endpoint ID in the upper 16 bits. */
export const MARK_MAGIC_PROXY_EGRESS_EPID = 0x0900;
/** Sent by the proxy for an ingress redirect (its upstream to the pod, its replies to the client); identity in the mark. */
export const MARK_MAGIC_PROXY_INGRESS = 0x0a00;
/** Sent by the proxy's downstream socket of an egress redirect (replies to the client pod); identity in the mark. */
export const MARK_MAGIC_PROXY_EGRESS = 0x0b00;

/** set_identity_mark(): identity bits 0-15 in the upper half, bits 16-23 in the low byte. */
export function identityMark(magic: number, identity: number): number {
  return (((identity & 0xffff) << 16) | magic | ((identity >>> 16) & 0xff)) >>> 0;
}

/** get_identity(): the identity a proxy mark carries. */
export function markIdentity(mark: number): number {
  return ((mark >>> 16) | ((mark & 0xff) << 16)) >>> 0;
}
