// bpf_overlay: cil_from_overlay at tc ingress of cilium_vxlan (the kernel has
// already decapsulated; the VNI is in the tunnel key) and cil_to_overlay at
// its tc egress.

import { EtherType } from '../../packet/ethernet.js';
import { DropReason, SourceFile } from '../drop.js';
import { ReservedIdentity } from '../identity.js';
import { ENDPOINT_INFO, MetricsDir } from '../maps.js';
import { CB, TcAct, type SkBuff } from '../skb.js';
import { CtState, ObsPoint } from '../trace.js';
import { ipv4LocalDelivery as importedIpv4LocalDelivery } from './bpf_lxc.js';
import { CallSlot, DropLine } from './calls.js';
import { IpcacheResult, lookupEndpoint as importedLookupEndpoint, lookupIpcache } from './lib/maps.js';
import { sendDropNotify, sendTraceNotify, traceAllowed as importedTraceAllowed } from './lib/notify.js';
import { cidrContains } from '../../packet/ip.js';
import { ethProto as importedEthProto, flowHash as importedFlowHash, loadIp4 as importedLoadIp4 } from './lib/pkt.js';
import type { NodeDatapath, Prog } from './node-datapath.js';

// Module-local bindings of small helpers called per packet: TurboFan folds a
// module's own const, where a call through an import loads the binding and
// checks, on every call, that it is initialised and still the function it inlined.
const traceAllowed = importedTraceAllowed;
const ethProto = importedEthProto;
const flowHash = importedFlowHash;
const loadIp4 = importedLoadIp4;
const ipv4LocalDelivery = importedIpv4LocalDelivery;
const lookupEndpoint = importedLookupEndpoint;

export class OverlayProgram {
  readonly cil_from_overlay: Prog;
  readonly cil_to_overlay: Prog;
  private readonly ipc = new IpcacheResult();

  constructor(readonly dp: NodeDatapath) {
    this.cil_from_overlay = (ctx) => this.fromOverlay(ctx);
    this.cil_to_overlay = () => TcAct.OK;
    dp.callsOverlay.set(CallSlot.IPV4_FROM_OVERLAY, (ctx) => this.handleIpv4(ctx));
  }

  private drop(ctx: SkBuff, srcLabel: number, reason: number, line: number): number {
    return sendDropNotify(this.dp, ctx, 0, srcLabel, 0, 0, reason, SourceFile.BPF_OVERLAY, line, MetricsDir.INGRESS);
  }

  private fromOverlay(ctx: SkBuff): number {
    const dp = this.dp;
    ctx.clearCb();
    const proto = ethProto(ctx);
    if (proto !== EtherType.IPv4) {
      if (proto < 0) return this.drop(ctx, 0, DropReason.INVALID, DropLine.OVERLAY_INVALID);
      return this.drop(ctx, 0, DropReason.UNKNOWN_L3, DropLine.OVERLAY_UNKNOWN_L3);
    }
    if (!ctx.tunnelValid) return this.drop(ctx, 0, DropReason.NO_TUNNEL_KEY, DropLine.OVERLAY_NO_TUNNEL_KEY);
    const srcId = ctx.tunnelId;
    // Identity 1 (host) never travels in a VNI: the sender's host is remote-node here.
    if (srcId === ReservedIdentity.HOST || srcId === ReservedIdentity.UNKNOWN) {
      return this.drop(ctx, srcId, DropReason.INVALID_IDENTITY, DropLine.OVERLAY_INVALID_IDENTITY);
    }
    if (traceAllowed(dp, ObsPoint.FROM_OVERLAY, 0)) sendTraceNotify(dp, ctx, ObsPoint.FROM_OVERLAY, 0, srcId, 0, 0, ctx.ifindex, CtState.UNKNOWN, 0, 0);
    ctx.cb[CB.SRC_LABEL] = srcId;
    const prog = dp.callsOverlay.get(CallSlot.IPV4_FROM_OVERLAY);
    if (prog === undefined) return this.drop(ctx, srcId, DropReason.MISSED_TAIL_CALL, DropLine.OVERLAY_INVALID);
    return prog(ctx);
  }

  /** tail_handle_ipv4 (overlay) → handle_ipv4: recover the identity, deliver to a local endpoint or the stack. */
  private handleIpv4(ctx: SkBuff): number {
    const dp = this.dp;
    const info = dp.scratch.info;
    let srcId = ctx.cb[CB.SRC_LABEL];
    const err = loadIp4(ctx, info);
    if (err) return this.drop(ctx, srcId, err, DropLine.OVERLAY_INVALID);
    if (!ctx.hash) ctx.hash = flowHash(info);
    // A VNI of remote-node is refined by the ipcache (e.g. a remote host's pods vs. the node itself).
    if (srcId === ReservedIdentity.REMOTE_NODE && lookupIpcache(dp, info.src, this.ipc)) srcId = this.ipc.identity;
    const epOff = lookupEndpoint(dp, info.dst);
    if (epOff >= 0 && !(dp.lxc.view.getUint32(epOff + ENDPOINT_INFO.FLAGS, true) & 1)) {
      return ipv4LocalDelivery(dp, ctx, info, epOff, srcId, true, SourceFile.BPF_OVERLAY, 0);
    }
    if (info.dst !== dp.cfg.nodeIp && info.dst !== dp.cfg.routerIp && cidrContains(dp.cfg.podCidr.addr, dp.cfg.podCidr.prefixLen, info.dst)) {
      // A pod address of this node that has no endpoint (any more).
      return this.drop(ctx, srcId, DropReason.UNROUTABLE, DropLine.OVERLAY_UNROUTABLE);
    }
    sendTraceNotify(dp, ctx, ObsPoint.TO_STACK, 0, srcId, ReservedIdentity.HOST, 0, 0, CtState.UNKNOWN, 0, 0);
    return TcAct.OK;
  }
}
