// bpf_sock: socket-level load balancing at the cgroup hooks. connect() and
// sendmsg() to a service address are rewritten to a backend before any packet
// exists; recvmsg()/getpeername() show the service address back to the app.

import { writeU16BE, writeU32BE } from '../../bpf/bytes.js';
import { BPF_ANY } from '../../bpf/types.js';
import { IpProto } from '../../packet/ipv4.js';
import { LB4_REVSK_KEY, LB4_REVSK_VALUE } from '../maps.js';
import { SockXlatePoint } from '../trace.js';
import { backendAddress, backendPort, lbLookupBackend, lbLookupService, lbSlotBackendId, svcCount, svcRevNatIndex } from './lib/lb.js';
import { sendTraceSockNotify } from './lib/notify.js';
import type { NodeDatapath } from './node-datapath.js';

/** `struct bpf_sock_addr` as the cgroup programs see it (fields the LB uses). */
export interface SockAddrCtx {
  userIp4: number;
  userPort: number;
  /** IPPROTO_TCP or IPPROTO_UDP */
  protocol: number;
  socketCookie: number;
  netnsCookie: number;
  srcIp4: number;
}

export const EHOSTUNREACH = 113;
export const EPERM = 1;

const revKey = new Uint8Array(LB4_REVSK_KEY.SIZE);
const revVal = new Uint8Array(LB4_REVSK_VALUE.SIZE);

function fillRevKey(cookie: number, addr: number, port: number): void {
  const k = revKey;
  k.fill(0);
  k[0] = cookie;
  k[1] = cookie >>> 8;
  k[2] = cookie >>> 16;
  k[3] = cookie >>> 24;
  const hi = Math.floor(cookie / 0x1_0000_0000);
  k[4] = hi;
  k[5] = hi >>> 8;
  k[6] = hi >>> 16;
  k[7] = hi >>> 24;
  writeU32BE(k, LB4_REVSK_KEY.ADDRESS, addr);
  writeU16BE(k, LB4_REVSK_KEY.PORT, port);
}

export class SockProgram {
  /** cgroup/connect4 */
  readonly cil_sock4_connect: (ctx: SockAddrCtx) => number;
  /** cgroup/sendmsg4 (unconnected UDP) */
  readonly cil_sock4_sendmsg: (ctx: SockAddrCtx) => number;
  /** cgroup/recvmsg4 */
  readonly cil_sock4_recvmsg: (ctx: SockAddrCtx) => number;
  /** cgroup/getpeername4 */
  readonly cil_sock4_getpeername: (ctx: SockAddrCtx) => number;

  constructor(readonly dp: NodeDatapath) {
    this.cil_sock4_connect = (ctx) => this.xlateFwd(ctx);
    this.cil_sock4_sendmsg = (ctx) => this.xlateFwd(ctx);
    this.cil_sock4_recvmsg = (ctx) => this.xlateRev(ctx);
    this.cil_sock4_getpeername = (ctx) => this.xlateRev(ctx);
  }

  /** __sock4_xlate_fwd(): service → backend. 0 = proceed, -EHOSTUNREACH = no backend. */
  private xlateFwd(ctx: SockAddrCtx): number {
    const dp = this.dp;
    if (ctx.protocol !== IpProto.TCP && ctx.protocol !== IpProto.UDP) return 0;
    const svc = lbLookupService(dp, ctx.userIp4, ctx.userPort);
    if (svc < 0) return 0;
    sendTraceSockNotify(dp, SockXlatePoint.PRE_DIRECTION_FWD, ctx.userIp4, ctx.userPort, ctx.protocol, ctx.socketCookie, ctx.netnsCookie);
    const count = svcCount(dp, svc);
    if (count === 0) return -EHOSTUNREACH;
    // TCP picks at random; UDP hashes the socket cookie so one socket stays on one backend.
    const pick = ctx.protocol === IpProto.TCP ? dp.rng.u32() : ctx.socketCookie;
    const slot = (pick % count) + 1;
    const backendId = lbSlotBackendId(dp, ctx.userIp4, ctx.userPort, slot);
    if (!backendId) return -EHOSTUNREACH;
    const b = lbLookupBackend(dp, backendId);
    if (b < 0) return -EHOSTUNREACH;
    const addr = backendAddress(dp.lbBackends, b);
    const port = backendPort(dp.lbBackends, b);
    // Remember the translation so replies can be shown as coming from the service.
    fillRevKey(ctx.socketCookie, addr, port);
    writeU32BE(revVal, LB4_REVSK_VALUE.ADDRESS, ctx.userIp4);
    writeU16BE(revVal, LB4_REVSK_VALUE.PORT, ctx.userPort);
    const rn = svcRevNatIndex(dp, svc);
    revVal[LB4_REVSK_VALUE.REV_NAT_INDEX] = rn;
    revVal[LB4_REVSK_VALUE.REV_NAT_INDEX + 1] = rn >>> 8;
    dp.lbRevSk.update(revKey, revVal, BPF_ANY);
    ctx.userIp4 = addr;
    ctx.userPort = port;
    sendTraceSockNotify(dp, SockXlatePoint.POST_DIRECTION_FWD, addr, port, ctx.protocol, ctx.socketCookie, ctx.netnsCookie);
    return 0;
  }

  /** __sock4_xlate_rev(): backend → service for what the app reads. */
  private xlateRev(ctx: SockAddrCtx): number {
    const dp = this.dp;
    fillRevKey(ctx.socketCookie, ctx.userIp4, ctx.userPort);
    const off = dp.lbRevSk.lookup(revKey);
    if (off < 0) return 0;
    const v = dp.lbRevSk.view;
    const svcAddr = v.getUint32(off + LB4_REVSK_VALUE.ADDRESS, false);
    const svcPort = v.getUint16(off + LB4_REVSK_VALUE.PORT, false);
    // The service must still exist, else the entry is stale and the real peer shows.
    if (lbLookupService(dp, svcAddr, svcPort) < 0) return 0;
    sendTraceSockNotify(dp, SockXlatePoint.PRE_DIRECTION_REV, ctx.userIp4, ctx.userPort, ctx.protocol, ctx.socketCookie, ctx.netnsCookie);
    ctx.userIp4 = svcAddr;
    ctx.userPort = svcPort;
    sendTraceSockNotify(dp, SockXlatePoint.POST_DIRECTION_REV, svcAddr, svcPort, ctx.protocol, ctx.socketCookie, ctx.netnsCookie);
    return 0;
  }
}
