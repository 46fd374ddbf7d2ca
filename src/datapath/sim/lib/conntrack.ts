// Conntrack on cilium_ct4_global / cilium_ct_any4_global (bpf/lib/conntrack.h):
// bidirectional lookup (reply first, then forward), timeout and flag updates
// with the monitor report decision, and entry creation.

import { bswap32 as importedBswap32, HOST_LITTLE_ENDIAN, writeU16BE, writeU32BE } from '../../../bpf/bytes.js';
import { BPF_ANY, type KeyValueMap } from '../../../bpf/types.js';
import { KEY_SCRATCH } from '../../../bpf/hash-table.js';
import { IpProto } from '../../../packet/ipv4.js';
import { TcpFlags } from '../../../packet/tcp.js';
import { CT_ENTRY, CT_TUPLE, CtDir, CtEntryFlags, TupleFlags } from '../../ct.js';
import { DropReason } from '../../drop.js';
import { TRACE_PAYLOAD_LEN } from '../../events.js';
import { CtState } from '../../trace.js';
import type { CtMap, NodeDatapath } from '../node-datapath.js';
import type { Ip4Info } from './pkt.js';

// Module-local copies of imported bindings used per packet: TurboFan folds a
// module's own consts, but loads and checks an imported binding at every use
// (and tests a boolean's truth in full).
const keyView = KEY_SCRATCH.view;
const LITTLE_ENDIAN: boolean = HOST_LITTLE_ENDIAN;
const PAYLOAD_LEN = TRACE_PAYLOAD_LEN;
const ANY = BPF_ANY;
const bswap32 = importedBswap32;

/** What a lookup found, kept across tail calls (Cilium's tail call buffer). */
export class CtLookupResult {
  ret: number = CtState.NEW;
  /** CT report length for trace aggregation (0 = nothing new). */
  monitor = 0;
  revNatIndex = 0;
  srcSecId = 0;
  backendId = 0;
  proxyRedirect = false;
  fromTunnel = false;
  /** Map and value offset of the entry hit (valid until the next map write). */
  entryOff = -1;

  reset(): void {
    this.ret = CtState.NEW;
    this.monitor = 0;
    this.revNatIndex = 0;
    this.srcSecId = 0;
    this.backendId = 0;
    this.proxyRedirect = false;
    this.fromTunnel = false;
    this.entryOff = -1;
  }
}


/** The tuple in KEY_SCRATCH, stored as whole big-endian words so the map reads them without stalls. */
export function fillScratchKey(saddr: number, daddr: number, sport: number, dport: number, proto: number, flags: number): void {
  const v = keyView;
  v.setUint32(CT_TUPLE.DADDR, daddr);
  v.setUint32(CT_TUPLE.SADDR, saddr);
  v.setUint32(CT_TUPLE.DPORT, (((dport & 0xffff) << 16) | (sport & 0xffff)) >>> 0);
  // nexthdr and flags, then the word's two bytes past the 14-byte tuple (zero).
  v.setUint32(CT_TUPLE.NEXTHDR, (((proto & 0xff) << 24) | ((flags & 0xff) << 16)) >>> 0);
}

export function fillCtKey(k: Uint8Array, saddr: number, daddr: number, sport: number, dport: number, proto: number, flags: number): void {
  writeU32BE(k, CT_TUPLE.DADDR, daddr);
  writeU32BE(k, CT_TUPLE.SADDR, saddr);
  writeU16BE(k, CT_TUPLE.DPORT, dport);
  writeU16BE(k, CT_TUPLE.SPORT, sport);
  k[CT_TUPLE.NEXTHDR] = proto;
  k[CT_TUPLE.FLAGS] = flags;
}

// CT tuples go to the maps as their four words (see CtHashMap): daddr,
// saddr, dport << 16 | sport, nexthdr << 8 | flags.

/** Word 2 of a tuple: the destination port, then the source port. */
function tuplePorts(sport: number, dport: number): number {
  return ((dport & 0xffff) << 16) | (sport & 0xffff);
}

/** Word 3 of a tuple: nexthdr, then the TUPLE_F_* flags. */
function tupleProto(proto: number, flags: number): number {
  return ((proto & 0xff) << 8) | (flags & 0xff);
}

// A const function expression, not a declaration: a declaration's binding
// is read from the module context and checked at every call, a module's own
// const is folded (these run per packet: ctMapFor and initEntry below).
/** TCP goes to the TCP map, everything else to the "any" map. */
const ctMapFor = function ctMapFor(dp: NodeDatapath, proto: number): CtMap {
  return proto === IpProto.TCP ? dp.ct4 : dp.ctAny4;
};

function loadResult(map: KeyValueMap, off: number, out: CtLookupResult): void {
  const v = map.view;
  const flags = v.getUint16(off + CT_ENTRY.FLAGS, true);
  out.entryOff = off;
  out.revNatIndex = v.getUint16(off + CT_ENTRY.REV_NAT_INDEX, false);
  out.srcSecId = v.getUint32(off + CT_ENTRY.SRC_SEC_ID, true);
  out.backendId = v.getUint32(off + CT_ENTRY.BACKEND_ID, true);
  out.proxyRedirect = (flags & CtEntryFlags.PROXY_REDIRECT) !== 0;
  out.fromTunnel = (flags & CtEntryFlags.FROM_TUNNEL) !== 0;
}

/**
 * ct_update_timeout(): refresh the lifetime, track closing and seen flags, and
 * decide whether this packet is worth a monitor report (new TCP flag in this
 * direction, or CT_REPORT_INTERVAL since the last report).
 */
function updateEntry(dp: NodeDatapath, map: KeyValueMap, off: number, dir: number, isTcp: boolean, tcpFlags: number): number {
  const v = map.view;
  const t = dp.cfg.ctTimeouts;
  const now = dp.monoNow();
  let flags = v.getUint16(off + CT_ENTRY.FLAGS, true);
  const bothClosing = CtEntryFlags.RX_CLOSING | CtEntryFlags.TX_CLOSING;
  // ct_entry_alive(): a closed entry is no longer refreshed or reported.
  if ((flags & bothClosing) === bothClosing) return 0;
  let lifetime: number;
  if (isTcp) {
    // An RST closes both sides only before both SYNs were seen (a refused connection); otherwise, like a FIN, its own side.
    const rxSyn = (map.values[off + CT_ENTRY.RX_FLAGS_SEEN] | (dir === CtDir.INGRESS ? tcpFlags : 0)) & TcpFlags.SYN;
    const txSyn = (map.values[off + CT_ENTRY.TX_FLAGS_SEEN] | (dir === CtDir.INGRESS ? 0 : tcpFlags)) & TcpFlags.SYN;
    if ((tcpFlags & TcpFlags.RST && !(rxSyn && txSyn)) || (dir === CtDir.SERVICE && tcpFlags & (TcpFlags.FIN | TcpFlags.RST))) {
      // A service entry closes both ways at once.
      flags |= CtEntryFlags.RX_CLOSING | CtEntryFlags.TX_CLOSING;
    } else if (tcpFlags & (TcpFlags.FIN | TcpFlags.RST)) {
      flags |= dir === CtDir.INGRESS ? CtEntryFlags.RX_CLOSING : CtEntryFlags.TX_CLOSING;
    }
    if (!(tcpFlags & TcpFlags.SYN)) flags |= CtEntryFlags.SEEN_NON_SYN;
    const closed = (flags & (CtEntryFlags.RX_CLOSING | CtEntryFlags.TX_CLOSING)) === (CtEntryFlags.RX_CLOSING | CtEntryFlags.TX_CLOSING);
    if (closed) lifetime = t.regularTcpFin;
    else lifetime = flags & CtEntryFlags.SEEN_NON_SYN ? t.regularTcp : t.regularTcpSyn;
  } else {
    lifetime = t.regularAny;
  }
  v.setUint16(off + CT_ENTRY.FLAGS, flags, true);
  v.setUint32(off + CT_ENTRY.LIFETIME, now + lifetime, true);

  const seenOff = dir === CtDir.INGRESS ? CT_ENTRY.RX_FLAGS_SEEN : CT_ENTRY.TX_FLAGS_SEEN;
  const reportOff = dir === CtDir.INGRESS ? CT_ENTRY.LAST_RX_REPORT : CT_ENTRY.LAST_TX_REPORT;
  const d = map.values;
  const accumulated = d[off + seenOff];
  const seen = isTcp ? tcpFlags & 0xff : 0;
  const lastReport = v.getUint32(off + reportOff, true);
  if (lastReport + t.reportInterval < now || (accumulated | seen) !== accumulated) {
    d[off + seenOff] = accumulated | seen;
    v.setUint32(off + reportOff, now, true);
    return PAYLOAD_LEN;
  }
  return 0;
}

/**
 * ct_lookup4() with scope BIDIR for an endpoint: the packet's tuple as a reply
 * (finds the entry the other direction created), then as a forward packet.
 * Fills `out` and returns the CT state.
 */
export function ctLookup4(dp: NodeDatapath, info: Ip4Info, dir: number, out: CtLookupResult): number {
  out.reset();
  // The forward key is the reply key reversed (TUPLE_F_IN flipped): lookupTupleOrReverse tries both.
  const replyFlag = dir === CtDir.EGRESS ? TupleFlags.IN : TupleFlags.OUT;

  if (info.innerValid) {
    // ICMP error about a packet of a tracked connection: look the quoted tuple up as sent.
    const map = ctMapFor(dp, info.innerProto);
    // As sent, then reversed (the forward key): one probe run, as below.
    const found = map.lookupTupleOrReverse(info.innerDst | 0, info.innerSrc | 0, tuplePorts(info.innerSport, info.innerDport), tupleProto(info.innerProto, replyFlag));
    if (found !== -1) {
      const off = found >= 0 ? found : -2 - found;
      loadResult(map, off, out);
      out.ret = CtState.RELATED;
      out.monitor = PAYLOAD_LEN;
      return out.ret;
    }
    out.monitor = PAYLOAD_LEN;
    return (out.ret = CtState.NEW);
  }

  const map = ctMapFor(dp, info.proto);
  const isTcp = info.proto === IpProto.TCP;
  // The packet's tuple as a reply; failing that its reverse, the forward key
  // (info.src, info.dst, sport, dport, fwdFlag): both lookups in one probe run.
  const found = map.lookupTupleOrReverse(info.src | 0, info.dst | 0, tuplePorts(info.dport, info.sport), tupleProto(info.proto, replyFlag));
  if (found >= 0) {
    loadResult(map, found, out);
    out.monitor = updateEntry(dp, map, found, dir, isTcp, info.tcpFlags);
    return (out.ret = CtState.REPLY);
  }
  if (found < -1) {
    const off = -2 - found;
    const flags = map.view.getUint16(off + CT_ENTRY.FLAGS, true);
    const closing = flags & (CtEntryFlags.RX_CLOSING | CtEntryFlags.TX_CLOSING);
    if (isTcp && closing && (info.tcpFlags & (TcpFlags.SYN | TcpFlags.ACK)) === TcpFlags.SYN) {
      // A new SYN on a closing entry starts a new connection (was CT_REOPENED before 1.16).
      out.monitor = PAYLOAD_LEN;
      return (out.ret = CtState.NEW);
    }
    loadResult(map, off, out);
    out.monitor = updateEntry(dp, map, off, dir, isTcp, info.tcpFlags);
    return (out.ret = CtState.ESTABLISHED);
  }
  out.monitor = PAYLOAD_LEN;
  return (out.ret = CtState.NEW);
}

/**
 * Write a whole `struct ct_entry`: every field is stored (zeros included), so
 * an entry reused under BPF_ANY starts clean without a fill() call. Written
 * as its fourteen 32-bit words (fields sharing a word in one store) through
 * the map's Int32 view: cheaper than DataView stores, and this runs twice for
 * every new connection on every node. Entries are 56 bytes, so `off` is
 * 8-aligned (a whole float64).
 */
const initEntry = function initEntry(map: CtMap, off: number, now: number, lifetime: number, ingress: boolean, seen: number, srcSecId: number, revNatIndex: number, flags: number): void {
  const w = map.valueWords;
  const i = off >> 2;
  // reserved0, backend_id, packets, bytes: four u64 zeros, as four float64
  // stores (each bounds-checked) rather than eight int32 ones.
  const z = map.valueF64;
  const d = off >> 3;
  z[d] = 0;
  z[d + 1] = 0;
  z[d + 2] = 0;
  z[d + 3] = 0;
  // From here on little-endian fields, written as host-order words and swapped below on big-endian hosts.
  w[i + (CT_ENTRY.LIFETIME >> 2)] = now + lifetime;
  // flags (u16 LE), then rev_nat_index in network order: its high byte first.
  const rn = revNatIndex & 0xffff;
  w[i + (CT_ENTRY.FLAGS >> 2)] = flags | ((rn >>> 8) << 16) | ((rn & 0xff) << 24);
  // ifindex (u16, 0), tx_flags_seen, rx_flags_seen.
  w[i + (CT_ENTRY.IFINDEX >> 2)] = seen << (ingress ? 24 : 16);
  w[i + (CT_ENTRY.SRC_SEC_ID >> 2)] = srcSecId;
  w[i + (CT_ENTRY.LAST_TX_REPORT >> 2)] = ingress ? 0 : now;
  w[i + (CT_ENTRY.LAST_RX_REPORT >> 2)] = ingress ? now : 0;
  if (!LITTLE_ENDIAN) for (let j = i + (CT_ENTRY.LIFETIME >> 2); j < i + (CT_ENTRY.SIZE >> 2); j++) w[j] = bswap32(w[j]);
};

/** initEntry() with the lifetime and flags seen ct_create4() gives a new entry. */
function initNewEntry(dp: NodeDatapath, map: CtMap, off: number, dir: number, isTcp: boolean, tcpFlags: number, revNatIndex: number): void {
  const t = dp.cfg.ctTimeouts;
  // ct_create4() counts the creating packet as a SYN: new TCP entries start with the SYN timeout.
  const lifetime = isTcp ? t.regularTcpSyn : t.regularAny;
  const seen = isTcp ? (tcpFlags | TcpFlags.SYN) & 0xff : 0;
  initEntry(map, off, dp.monoNow(), lifetime, dir === CtDir.INGRESS, seen, 0, revNatIndex, 0);
}

/** The map's errno from the last failed CT insert: the drop event's extended error. */
export const ctCreateError = { errno: 0 };

/**
 * ct_create4(): the connection's entry (OUT on egress, IN on ingress) plus, for
 * TCP/UDP, the "related" ICMP entry in the any map so ICMP errors find it.
 * `flags` are the entry's CtEntryFlags (FROM_TUNNEL, PROXY_REDIRECT); plain
 * numbers rather than an options object, which the packet path would allocate.
 * Returns 0 or -DROP_CT_CREATE_FAILED.
 */
export function ctCreate4(dp: NodeDatapath, info: Ip4Info, dir: number, srcSecId: number, revNatIndex: number, flags: number): number {
  const fwdFlag = dir === CtDir.EGRESS ? TupleFlags.OUT : TupleFlags.IN;
  const map = ctMapFor(dp, info.proto);
  const isTcp = info.proto === IpProto.TCP;
  const saddr = info.src | 0;
  const daddr = info.dst | 0;
  const off = map.reserveTuple(daddr, saddr, tuplePorts(info.sport, info.dport), tupleProto(info.proto, fwdFlag), ANY);
  if (off < 0) {
    ctCreateError.errno = off;
    return -DropReason.CT_CREATE_FAILED;
  }
  const t = dp.cfg.ctTimeouts;
  // ct_create4() counts the creating packet as a SYN: new TCP entries start with the SYN timeout.
  const lifetime = isTcp ? t.regularTcpSyn : t.regularAny;
  const seen = isTcp ? (info.tcpFlags | TcpFlags.SYN) & 0xff : 0;
  const now = dp.monoNow();
  const ingress = dir === CtDir.INGRESS;
  initEntry(map, off, now, lifetime, ingress, seen, srcSecId, revNatIndex, flags);

  if (info.proto === IpProto.TCP || info.proto === IpProto.UDP) {
    const roff = dp.ctAny4.reserveTuple(daddr, saddr, 0, tupleProto(IpProto.ICMP, fwdFlag | TupleFlags.RELATED), ANY);
    if (roff < 0) {
      ctCreateError.errno = roff;
      return -DropReason.CT_CREATE_FAILED;
    }
    // Cilium writes the same ct_entry under both keys: the companion carries the flow's lifetime and flags seen.
    initEntry(dp.ctAny4, roff, now, lifetime, ingress, seen, srcSecId, revNatIndex, flags);
  }
  return 0;
}

/** The service (SVC) entry per-packet LB keeps for a client → frontend flow: the chosen backend. */
export function ctLookupService4(dp: NodeDatapath, info: Ip4Info): number {
  const map = ctMapFor(dp, info.proto);
  return map.lookupTuple(info.dst | 0, info.src | 0, tuplePorts(info.sport, info.dport), tupleProto(info.proto, TupleFlags.SERVICE));
}

export function ctCreateService4(dp: NodeDatapath, info: Ip4Info, backendId: number, revNatIndex: number): number {
  const map = ctMapFor(dp, info.proto);
  const isTcp = info.proto === IpProto.TCP;
  const off = map.reserveTuple(info.dst | 0, info.src | 0, tuplePorts(info.sport, info.dport), tupleProto(info.proto, TupleFlags.SERVICE), ANY);
  if (off < 0) return -DropReason.CT_CREATE_FAILED;
  initNewEntry(dp, map, off, CtDir.EGRESS, isTcp, info.tcpFlags, revNatIndex);
  const t = dp.cfg.ctTimeouts;
  if (!isTcp) map.view.setUint32(off + CT_ENTRY.LIFETIME, dp.monoNow() + t.serviceAny, true);
  map.view.setUint32(off + CT_ENTRY.BACKEND_ID, backendId, true);
  return 0;
}

/** Refresh a SVC entry on later packets of the flow. */
export function ctTouchService4(dp: NodeDatapath, info: Ip4Info, off: number): void {
  const map = ctMapFor(dp, info.proto);
  updateEntry(dp, map, off, CtDir.SERVICE, info.proto === IpProto.TCP, info.tcpFlags);
}
