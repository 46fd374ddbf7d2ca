// BPF masquerading (bpf/lib/nat.h, snat_v4_nat / snat_v4_rev_nat): pods'
// traffic to the world leaves with the node's address; replies are mapped
// back through cilium_snat_v4_external.

import { readU16BE, writeU16BE } from '../../../bpf/bytes.js';
import { BPF_NOEXIST } from '../../../bpf/types.js';
import { checksumUpdate16 } from '../../../packet/checksum.js';
import { IpProto } from '../../../packet/ipv4.js';
import { Icmpv4Type } from '../../../packet/icmpv4.js';
import { CT_TUPLE, TupleFlags } from '../../ct.js';
import { NAT_ENTRY, NAT_PORT_MAX, NAT_PORT_MIN } from '../../maps.js';
import type { SkBuff } from '../../skb.js';
import type { NodeDatapath } from '../node-datapath.js';
import { fillCtKey, fillScratchKey } from './conntrack.js';
import { KEY_SCRATCH } from '../../../bpf/hash-table.js';
import { rewriteAddrPort } from './l3.js';
import type { Ip4Info } from './pkt.js';

// Module-local copies of the NAT port range, read for every packet arriving on
// eth0: TurboFan folds a module's own consts, but loads and checks an imported
// binding at every use.
const PORT_MIN = NAT_PORT_MIN;
const PORT_MAX = NAT_PORT_MAX;

const outKey = new Uint8Array(CT_TUPLE.SIZE);
const inKey = new Uint8Array(CT_TUPLE.SIZE);
const SNAT_COLLISION_RETRIES = 32;

function natable(info: Ip4Info): boolean {
  if (info.proto === IpProto.TCP || info.proto === IpProto.UDP) return true;
  return info.proto === IpProto.ICMP && (info.icmpType === Icmpv4Type.EchoRequest || info.icmpType === Icmpv4Type.EchoReply);
}

function writeEntry(dp: NodeDatapath, off: number, addr: number, port: number): void {
  const v = dp.snat.view;
  v.setUint32(off + NAT_ENTRY.CREATED, dp.monoNow(), true);
  v.setUint32(off + NAT_ENTRY.CREATED + 4, 0, true);
  v.setUint32(off + NAT_ENTRY.TO_ADDR, addr, false);
  v.setUint16(off + NAT_ENTRY.TO_PORT, port, false);
}

/** Rewrite the ICMP echo identifier in place (the ICMP checksum covers it). */
function rewriteEchoId(ctx: SkBuff, info: Ip4Info, id: number, source: boolean): void {
  const b = ctx.buf;
  const old = readU16BE(b, info.l4 + 4);
  writeU16BE(b, info.l4 + 4, id);
  writeU16BE(b, info.l4 + 2, checksumUpdate16(readU16BE(b, info.l4 + 2), old, id));
  if (source) info.sport = id;
  else info.dport = id;
}

/**
 * snat_v4_nat(): give the flow the node's address and a port from the NAT
 * range (keeping the pod's port when free), recording both directions.
 * Returns false when no port could be allocated.
 */
export function snatV4(dp: NodeDatapath, ctx: SkBuff, info: Ip4Info, nodeIp: number): boolean {
  if (!natable(info)) return true;
  const isEcho = info.proto === IpProto.ICMP;
  fillCtKey(outKey, info.src, info.dst, info.sport, info.dport, info.proto, TupleFlags.OUT);
  let off = dp.snat.lookup(outKey);
  let port: number;
  if (off >= 0) {
    port = dp.snat.view.getUint16(off + NAT_ENTRY.TO_PORT, false);
  } else {
    // The L4 source port, or the ICMP echo identifier (loadIp4 puts it in sport).
    port = info.sport;
    if (port < NAT_PORT_MIN) port = NAT_PORT_MIN + (dp.rng.u32() % (NAT_PORT_MAX - NAT_PORT_MIN + 1));
    let rev = -1;
    for (let i = 0; i < SNAT_COLLISION_RETRIES; i++) {
      // The reply tuple as it will arrive at the node.
      if (isEcho) fillCtKey(inKey, info.dst, nodeIp, 0, port, info.proto, TupleFlags.IN);
      else fillCtKey(inKey, info.dst, nodeIp, info.dport, port, info.proto, TupleFlags.IN);
      rev = dp.snat.reserve(inKey, BPF_NOEXIST);
      if (rev >= 0) break;
      port = NAT_PORT_MIN + (dp.rng.u32() % (NAT_PORT_MAX - NAT_PORT_MIN + 1));
    }
    if (rev < 0) return false;
    writeEntry(dp, rev, info.src, info.sport);
    off = dp.snat.reserve(outKey);
    if (off < 0) return false;
    writeEntry(dp, off, nodeIp, port);
  }
  if (isEcho) {
    rewriteAddrPort(ctx, info, true, nodeIp, 0);
    rewriteEchoId(ctx, info, port, true);
  } else rewriteAddrPort(ctx, info, true, nodeIp, port);
  return true;
}

/** snat_v4_rev_nat(): a reply to a masqueraded flow gets the pod's address back. False when there is no mapping. */
export function revSnatV4(dp: NodeDatapath, ctx: SkBuff, info: Ip4Info): boolean {
  if (!natable(info)) return false;
  // snat_v4_rev_nat_can_skip(): `dport < target->min_port || dport > target->max_port`.
  // Mappings only hand out ports in the NAT range, so nothing else (VXLAN's 8472,
  // say) is looked up.
  if (info.dport < PORT_MIN || info.dport > PORT_MAX) return false;
  fillScratchKey(info.src, info.dst, info.sport, info.dport, info.proto, TupleFlags.IN);
  const off = dp.snat.lookup(KEY_SCRATCH.bytes);
  if (off < 0) return false;
  const v = dp.snat.view;
  const addr = v.getUint32(off + NAT_ENTRY.TO_ADDR, false);
  const port = v.getUint16(off + NAT_ENTRY.TO_PORT, false);
  if (info.proto === IpProto.ICMP) {
    rewriteAddrPort(ctx, info, false, addr, 0);
    rewriteEchoId(ctx, info, port, false);
  } else rewriteAddrPort(ctx, info, false, addr, port);
  return true;
}
