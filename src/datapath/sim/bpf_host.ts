// bpf_host: cil_from_netdev / cil_to_netdev on the native device (eth0) and
// cil_from_host / cil_to_host on cilium_host. With the host firewall off they
// observe and pass; cil_from_host routes host → pod traffic into endpoints or
// the tunnel.

import { ETH, EtherType } from '../../packet/ethernet.js';
import { IPV4, IpProto } from '../../packet/ipv4.js';
import { DropReason, SourceFile } from '../drop.js';
import { cidrContains as importedCidrContains } from '../../packet/ip.js';
import { revSnatV4, snatV4 } from './lib/nat.js';
import { LOCAL_IDENTITY_FLAG, ReservedIdentity } from '../identity.js';
import { ENDPOINT_INFO, MetricsDir, NAT_PORT_MAX, NAT_PORT_MIN } from '../maps.js';
import { CB, TcAct, type SkBuff } from '../skb.js';
import { CtState, ObsPoint } from '../trace.js';
import { encapAndRedirect, ipv4LocalDelivery } from './bpf_lxc.js';
import { DropLine, MARK_MAGIC_MASK, MARK_MAGIC_PROXY_EGRESS, MARK_MAGIC_PROXY_EGRESS_EPID, MARK_MAGIC_PROXY_INGRESS, markIdentity } from './calls.js';
import { IpcacheResult, lookupEndpoint, lookupIpcache, lookupTunnel } from './lib/maps.js';
import { sendDropNotify, sendTraceNotify, traceAllowed as importedTraceAllowed } from './lib/notify.js';
import { ethProto as importedEthProto, flowHash, loadIp4 } from './lib/pkt.js';
import type { NodeDatapath, Prog } from './node-datapath.js';

// Module-local copies of imported constants read for every frame on eth0:
// TurboFan folds a module's own consts, but loads and checks an imported
// binding at every use.
const PORT_MIN = NAT_PORT_MIN;
const PORT_MAX = NAT_PORT_MAX;

// Module-local bindings of small helpers called per packet: TurboFan folds a
// module's own const, where a call through an import loads the binding and
// checks, on every call, that it is initialised and still the function it inlined.
const traceAllowed = importedTraceAllowed;
const ethProto = importedEthProto;
const cidrContains = importedCidrContains;

/**
 * Whether rev-SNAT has nothing to do for the IPv4 frame in ctx, read straight
 * from the header: not addressed to the node, or a TCP/UDP destination port
 * outside the NAT range (snat_v4_rev_nat_can_skip(); VXLAN's 8472 is). Only a
 * conclusive answer is true; a frame that is short, malformed or in the range
 * goes through loadIp4() and revSnatV4(), which return TC_ACT_OK on every
 * frame this skips too.
 */
function revNatCanSkip(ctx: SkBuff, nodeIp: number): boolean {
  const v = ctx.view;
  const l3 = ctx.off + ETH.HEADER_LEN;
  const end = ctx.off + ctx.len;
  if (l3 + IPV4.MIN_HEADER_LEN > end) return false;
  if (v.getUint32(l3 + IPV4.DST) !== nodeIp) return true;
  const proto = ctx.buf[l3 + IPV4.PROTOCOL];
  if (proto !== IpProto.UDP && proto !== IpProto.TCP) return false;
  const l4 = l3 + (ctx.buf[l3 + IPV4.VER_IHL]! & 0x0f) * 4;
  if (l4 + 4 > end) return false;
  const dport = v.getUint16(l4 + 2);
  return dport < PORT_MIN || dport > PORT_MAX;
}

export class HostProgram {
  readonly cil_from_netdev: Prog;
  readonly cil_to_netdev: Prog;
  readonly cil_from_host: Prog;
  readonly cil_to_host: Prog;
  private readonly ipc = new IpcacheResult();

  constructor(readonly dp: NodeDatapath) {
    this.cil_from_netdev = (ctx) => this.fromNetdev(ctx);
    this.cil_to_netdev = (ctx) => this.toNetdev(ctx);
    this.cil_to_host = (ctx) => this.observe(ctx, ObsPoint.TO_HOST);
    this.cil_from_host = (ctx) => this.fromHost(ctx);
  }

  private observe(ctx: SkBuff, point: number): number {
    // No CT report on these hooks: at medium aggregation the to-* events are suppressed, as in Cilium.
    if (traceAllowed(this.dp, point, 0)) sendTraceNotify(this.dp, ctx, point, 0, ReservedIdentity.HOST, 0, 0, ctx.ifindex, CtState.UNKNOWN, 0, 0);
    return TcAct.OK;
  }

  /** Leaving eth0: pods' traffic to the world is masqueraded to the node's address. */
  private toNetdev(ctx: SkBuff): number {
    const dp = this.dp;
    this.observe(ctx, ObsPoint.TO_NETWORK);
    if (ethProto(ctx) !== EtherType.IPv4) return TcAct.OK;
    const cidr = dp.cfg.podCidr;
    // Only a pod's source is masqueraded: anything else (the VXLAN driver's
    // outer header from the node's own address) passes on the source alone,
    // as it would after the full header parse below.
    if (ctx.len < ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN || !cidrContains(cidr.addr, cidr.prefixLen, ctx.view.getUint32(ctx.off + ETH.HEADER_LEN + IPV4.SRC))) return TcAct.OK;
    const info = dp.scratch.info;
    if (loadIp4(ctx, info)) return TcAct.OK;
    if (info.src === dp.cfg.routerIp) return TcAct.OK;
    // Only traffic leaving the cluster: the destination's identity is world, or a world CIDR/FQDN identity (node-local scope).
    if (lookupIpcache(dp, info.dst, this.ipc) && this.ipc.identity !== ReservedIdentity.WORLD && !(this.ipc.identity & LOCAL_IDENTITY_FLAG)) return TcAct.OK;
    if (!snatV4(dp, ctx, info, dp.cfg.nodeIp)) {
      return sendDropNotify(dp, ctx, 0, ReservedIdentity.HOST, ReservedIdentity.WORLD, 0, DropReason.NAT_NO_MAPPING, SourceFile.BPF_HOST, DropLine.HOST_NAT, MetricsDir.EGRESS);
    }
    return TcAct.OK;
  }

  /** Arriving on eth0: replies to masqueraded flows are reverse-NATed and delivered to their pod. */
  private fromNetdev(ctx: SkBuff): number {
    const dp = this.dp;
    this.observe(ctx, ObsPoint.FROM_NETWORK);
    if (ethProto(ctx) !== EtherType.IPv4) return TcAct.OK;
    // Most frames here (VXLAN from other nodes, say) need no rev-NAT: skip the full header load for them.
    if (revNatCanSkip(ctx, dp.cfg.nodeIp)) return TcAct.OK;
    const info = dp.scratch.info;
    if (loadIp4(ctx, info) || info.dst !== dp.cfg.nodeIp) return TcAct.OK;
    if (!revSnatV4(dp, ctx, info)) return TcAct.OK;
    if (!ctx.hash) ctx.hash = flowHash(info);
    const epOff = lookupEndpoint(dp, info.dst);
    if (epOff < 0) return TcAct.OK;
    const srcId = lookupIpcache(dp, info.src, this.ipc) ? this.ipc.identity : ReservedIdentity.WORLD;
    return ipv4LocalDelivery(dp, ctx, info, epOff, srcId, false, SourceFile.BPF_HOST, 0);
  }

  private fromHost(ctx: SkBuff): number {
    const dp = this.dp;
    const proto = ethProto(ctx);
    if (proto !== EtherType.IPv4) return TcAct.OK;
    const info = dp.scratch.info;
    const err = loadIp4(ctx, info);
    if (err) return sendDropNotify(dp, ctx, 0, ReservedIdentity.HOST, 0, 0, err, SourceFile.BPF_HOST, DropLine.HOST_INVALID, MetricsDir.EGRESS);
    if (!ctx.hash) ctx.hash = flowHash(info);
    // The L7 proxy's packets carry who they speak for in the skb mark.
    const magic = ctx.mark & MARK_MAGIC_MASK;
    let srcLabel: number = ReservedIdentity.HOST;
    if (magic === MARK_MAGIC_PROXY_EGRESS_EPID) {
      // tail_call_egress_policy(): the source endpoint's egress policy and conntrack, then on to the destination.
      sendTraceNotify(dp, ctx, ObsPoint.FROM_PROXY, 0, ReservedIdentity.HOST, 0, 0, ctx.ifindex, CtState.UNKNOWN, 0, 0);
      const prog = dp.callEgressPolicy.get(ctx.mark >>> 16);
      if (prog === undefined) return sendDropNotify(dp, ctx, 0, ReservedIdentity.HOST, 0, 0, DropReason.EP_NOT_READY, SourceFile.BPF_HOST, DropLine.HOST_EP_NOT_READY, MetricsDir.EGRESS);
      return prog(ctx);
    }
    if (magic === MARK_MAGIC_PROXY_INGRESS || magic === MARK_MAGIC_PROXY_EGRESS) {
      srcLabel = markIdentity(ctx.mark);
      ctx.cb[CB.PROXY_MAGIC] = magic;
      sendTraceNotify(dp, ctx, ObsPoint.FROM_PROXY, 0, srcLabel, 0, 0, ctx.ifindex, CtState.UNKNOWN, 0, 0);
    } else {
      sendTraceNotify(dp, ctx, ObsPoint.FROM_HOST, 0, ReservedIdentity.HOST, 0, 0, ctx.ifindex, CtState.UNKNOWN, 0, 0);
    }
    const epOff = lookupEndpoint(dp, info.dst);
    if (epOff >= 0 && !(dp.lxc.view.getUint32(epOff + ENDPOINT_INFO.FLAGS, true) & 1)) {
      return ipv4LocalDelivery(dp, ctx, info, epOff, srcLabel, false, SourceFile.BPF_HOST, 0);
    }
    lookupIpcache(dp, info.dst, this.ipc);
    let remote = this.ipc.found ? this.ipc.tunnelEndpoint : 0;
    if (!remote && !this.ipc.skipTunnel) remote = lookupTunnel(dp, info.dst);
    if (remote) {
      const dstId = this.ipc.found ? this.ipc.identity : ReservedIdentity.WORLD;
      return encapAndRedirect(dp, ctx, srcLabel, dstId, remote, CtState.NEW, 128, 0);
    }
    return TcAct.OK;
  }
}
