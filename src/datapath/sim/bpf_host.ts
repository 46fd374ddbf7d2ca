// bpf_host: cil_from_netdev / cil_to_netdev on the native device (eth0) and
// cil_from_host / cil_to_host on cilium_host. With the host firewall off they
// observe and pass; cil_from_host routes host → pod traffic into endpoints or
// the tunnel.

import { EtherType } from '../../packet/ethernet.js';
import { SourceFile } from '../drop.js';
import { ReservedIdentity } from '../identity.js';
import { ENDPOINT_INFO, MetricsDir } from '../maps.js';
import { TcAct, type SkBuff } from '../skb.js';
import { CtState, ObsPoint } from '../trace.js';
import { encapAndRedirect, ipv4LocalDelivery } from './bpf_lxc.js';
import { DropLine } from './calls.js';
import { IpcacheResult, lookupEndpoint, lookupIpcache, lookupTunnel } from './lib/maps.js';
import { sendDropNotify, sendTraceNotify } from './lib/notify.js';
import { ethProto, flowHash, loadIp4 } from './lib/pkt.js';
import type { NodeDatapath, Prog } from './node-datapath.js';

export class HostProgram {
  readonly cil_from_netdev: Prog;
  readonly cil_to_netdev: Prog;
  readonly cil_from_host: Prog;
  readonly cil_to_host: Prog;
  private readonly ipc = new IpcacheResult();

  constructor(readonly dp: NodeDatapath) {
    this.cil_from_netdev = (ctx) => this.observe(ctx, ObsPoint.FROM_NETWORK);
    this.cil_to_netdev = (ctx) => this.observe(ctx, ObsPoint.TO_NETWORK);
    this.cil_to_host = (ctx) => this.observe(ctx, ObsPoint.TO_HOST);
    this.cil_from_host = (ctx) => this.fromHost(ctx);
  }

  private observe(ctx: SkBuff, point: number): number {
    // No CT report on these hooks: at medium aggregation the to-* events are suppressed, as in Cilium.
    sendTraceNotify(this.dp, ctx, point, 0, ReservedIdentity.HOST, 0, 0, ctx.ifindex, CtState.UNKNOWN, 0, 0);
    return TcAct.OK;
  }

  private fromHost(ctx: SkBuff): number {
    const dp = this.dp;
    const proto = ethProto(ctx);
    if (proto !== EtherType.IPv4) return TcAct.OK;
    const info = dp.scratch.info;
    const err = loadIp4(ctx, info);
    if (err) return sendDropNotify(dp, ctx, 0, ReservedIdentity.HOST, 0, 0, err, SourceFile.BPF_HOST, DropLine.HOST_INVALID, MetricsDir.EGRESS);
    if (!ctx.hash) ctx.hash = flowHash(info);
    sendTraceNotify(dp, ctx, ObsPoint.FROM_HOST, 0, ReservedIdentity.HOST, 0, 0, ctx.ifindex, CtState.UNKNOWN, 0, 0);
    const epOff = lookupEndpoint(dp, info.dst);
    if (epOff >= 0 && !(dp.lxc.view.getUint32(epOff + ENDPOINT_INFO.FLAGS, true) & 1)) {
      return ipv4LocalDelivery(dp, ctx, info, epOff, ReservedIdentity.HOST, false, SourceFile.BPF_HOST, 0);
    }
    lookupIpcache(dp, info.dst, this.ipc);
    let remote = this.ipc.found ? this.ipc.tunnelEndpoint : 0;
    if (!remote && !this.ipc.skipTunnel) remote = lookupTunnel(dp, info.dst);
    if (remote) {
      const dstId = this.ipc.found ? this.ipc.identity : ReservedIdentity.WORLD;
      return encapAndRedirect(dp, ctx, ReservedIdentity.HOST, dstId, remote, CtState.NEW, 128, 0);
    }
    return TcAct.OK;
  }
}
