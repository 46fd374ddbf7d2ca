// bpf_lxc: the programs Cilium compiles per endpoint. cil_from_container runs
// at tc ingress of the host-side veth (packets leaving the pod); handle_policy
// sits in cilium_call_policy[EPID] and enforces the endpoint's ingress policy
// for packets delivered to it from anywhere on the node.

import { ProgArray } from '../../bpf/prog-array.js';
import type { KeyValueMap } from '../../bpf/types.js';
import { writeU16BE, writeU32BE } from '../../bpf/bytes.js';
import { ETH, EtherType } from '../../packet/ethernet.js';
import { ARP } from '../../packet/arp.js';
import { readMac, writeMac } from '../../packet/mac.js';
import { IpProto } from '../../packet/ipv4.js';
import { Icmpv4DstUnreachCode } from '../../packet/icmpv4.js';
import { CtDir, CtEntryFlags } from '../ct.js';
import { DropReason, SourceFile } from '../drop.js';
import { PolicyDir } from '../events.js';
import { ReservedIdentity } from '../identity.js';
import { callsMapName, ENDPOINT_INFO, MetricsDir } from '../maps.js';
import { CB, RedirectFlags, TcAct, type SkBuff } from '../skb.js';
import { CtState, ObsPoint } from '../trace.js';
import { CallSlot, DropLine, MARK_MAGIC_PROXY_EGRESS, MARK_MAGIC_PROXY_EGRESS_EPID, MARK_MAGIC_PROXY_INGRESS, MARK_MAGIC_TO_PROXY } from './calls.js';
import { lookupEndpoint as importedLookupEndpoint, lookupIpcache as importedLookupIpcache, IpcacheResult, lookupTunnel } from './lib/maps.js';
import { CtLookupResult, ctCreate4 as importedCtCreate4, ctCreateError, ctCreateService4, ctLookup4 as importedCtLookup4, ctLookupService4, ctTouchService4 } from './lib/conntrack.js';
import { decTtl as importedDecTtl, makeIcmpUnreachable, rewriteAddrPort } from './lib/l3.js';
import {
  backendActive,
  backendAddress,
  backendPort,
  lbLookupBackend,
  lbLookupRevNat,
  lbLookupService,
  lbSlotBackendId,
  revNatAddress,
  revNatPort,
  svcCount,
  svcRevNatIndex,
} from './lib/lb.js';
import { ethProto as importedEthProto, flowHash as importedFlowHash, Ip4Info, loadIp4 as importedLoadIp4 } from './lib/pkt.js';
import { PolicyResult, policyCanAccess as importedPolicyCanAccess } from './lib/policy.js';
import { sendDropNotify, sendPolicyVerdictNotify as importedSendPolicyVerdictNotify, sendTraceNotify as importedSendTraceNotify, traceAllowed as importedTraceAllowed, updateMetrics as importedUpdateMetrics } from './lib/notify.js';
import type { NodeDatapath, Prog } from './node-datapath.js';

// Module-local binding of this module's exported helpers called per packet: a
// call to an exported function goes through its export cell (loaded and checked
// on every call, as an import's), a module's own const is folded.
const localEncapAndRedirect = encapAndRedirect;
const localIpv4LocalDelivery = ipv4LocalDelivery;

// Module-local copies of imported constants used per packet: TurboFan folds a
// module's own consts, but loads and checks an imported binding at every use.
const PROXY_EGRESS = MARK_MAGIC_PROXY_EGRESS;
const PROXY_EGRESS_EPID = MARK_MAGIC_PROXY_EGRESS_EPID;
const PROXY_INGRESS = MARK_MAGIC_PROXY_INGRESS;
const TO_PROXY = MARK_MAGIC_TO_PROXY;

// Module-local bindings of small helpers called per packet: TurboFan folds a
// module's own const, where a call through an import loads the binding and
// checks, on every call, that it is initialised and still the function it inlined.
const traceAllowed = importedTraceAllowed;
const ethProto = importedEthProto;
const flowHash = importedFlowHash;
const loadIp4 = importedLoadIp4;
const lookupEndpoint = importedLookupEndpoint;
const lookupIpcache = importedLookupIpcache;
const ctCreate4 = importedCtCreate4;
const ctLookup4 = importedCtLookup4;
const decTtl = importedDecTtl;
const policyCanAccess = importedPolicyCanAccess;
const sendPolicyVerdictNotify = importedSendPolicyVerdictNotify;
const sendTraceNotify = importedSendTraceNotify;
const updateMetrics = importedUpdateMetrics;

/** The per-endpoint constants Cilium compiles into bpf_lxc.o (ep_config.h). */
export interface EndpointConfig {
  /** LXC_ID: the endpoint ID. */
  id: number;
  /** LXC_IPV4 */
  ipv4: number;
  /** The pod's eth0 MAC. */
  mac: number;
  /** The host-side veth (lxc…) MAC: the pod's gateway MAC (NODE_MAC in the endpoint's config). */
  hostMac: number;
  /** Host-side veth ifindex. */
  ifindex: number;
  /** SECLABEL: the endpoint's security identity. */
  identity: number;
  /** POLICY_VERDICT_LOG_FILTER: directions with enforcement (PolicyDir bits). */
  policyVerdictLogFilter: number;
}

export class LxcProgram {
  /** cilium_calls_<EPID>: this endpoint's tail calls. */
  readonly calls: ProgArray<Prog>;
  readonly cil_from_container: Prog;
  readonly handle_policy: Prog;
  /** cil_lxc_policy_egress: egress policy and conntrack for packets the L7 proxy sends on this endpoint's behalf. */
  readonly handle_policy_egress: Prog;
  private readonly info: Ip4Info;
  private readonly ct: CtLookupResult;
  private readonly pol: PolicyResult;
  private readonly ipc = new IpcacheResult();
  /** rev_nat_index chosen by per-packet LB for the CT entry about to be created. */
  private pendingRevNat = 0;
  /**
   * Per-policy audit (podpath.io/mode: audit): the endpoint's policy with its
   * audited policies included, consulted only when present. A new flow the
   * real map allows and this one would drop gets one more policy-verdict
   * event, marked audited (`action audit`), with the would-be entry's cookie.
   */
  auditPolicyMap: KeyValueMap | null = null;

  constructor(
    readonly dp: NodeDatapath,
    readonly ep: EndpointConfig,
    readonly policyMap: KeyValueMap,
  ) {
    const s = dp.scratch;
    this.info = s.info;
    this.ct = s.ct;
    this.pol = s.pol;
    this.calls = new ProgArray<Prog>({ name: callsMapName(ep.id), maxEntries: CallSlot.SIZE });
    this.cil_from_container = (ctx) => this.fromContainer(ctx);
    this.handle_policy = (ctx) => this.handlePolicy(ctx);
    this.handle_policy_egress = (ctx) => this.handlePolicyEgress(ctx);
    this.calls.set(CallSlot.ARP, (ctx) => this.tailHandleArp(ctx));
    this.calls.set(CallSlot.IPV4_FROM_LXC, (ctx) => this.tailHandleIpv4(ctx));
    this.calls.set(CallSlot.IPV4_CT_EGRESS, (ctx) => this.tailIpv4CtEgress(ctx));
    this.calls.set(CallSlot.IPV4_FROM_LXC_CONT, (ctx) => this.tailHandleIpv4Cont(ctx));
    this.calls.set(CallSlot.IPV4_CT_INGRESS_POLICY_ONLY, (ctx) => this.tailIpv4CtIngressPolicyOnly(ctx));
    this.calls.set(CallSlot.IPV4_TO_LXC_POLICY_ONLY, (ctx) => this.tailIpv4Policy(ctx));
  }

  /**
   * DROP_MISSED_TAIL_CALL for an empty slot of cilium_calls_<EPID>. The tail
   * calls themselves are written out at each site (`prog(ctx)` after
   * `this.calls.get(slot)`): a call site that only ever runs one program is
   * inlined by the JIT, while one shared helper's site sees every program and
   * goes through the generic call builtin.
   */
  private missedTailCall(ctx: SkBuff): number {
    return this.drop(ctx, ReservedIdentity.UNKNOWN, 0, DropReason.MISSED_TAIL_CALL, DropLine.LXC_MISSED_TAIL_CALL, MetricsDir.EGRESS);
  }

  private drop(ctx: SkBuff, dstLabel: number, dstId: number, reason: number, line: number, dir: number, srcLabel = this.ep.identity): number {
    // A failed CT insert carries the map's errno as the extended error (`CT: Map insertion failed, -7`).
    const ext = reason === DropReason.CT_CREATE_FAILED ? ctCreateError.errno : 0;
    return sendDropNotify(this.dp, ctx, this.ep.id, srcLabel, dstLabel, dstId, reason, SourceFile.BPF_LXC, line, dir, ext);
  }

  // ---- egress: packets leaving the pod -------------------------------------

  private fromContainer(ctx: SkBuff): number {
    ctx.clearCb();
    const proto = ethProto(ctx);
    if (traceAllowed(this.dp, ObsPoint.FROM_LXC, 0)) sendTraceNotify(this.dp, ctx, ObsPoint.FROM_LXC, this.ep.id, this.ep.identity, 0, 0, ctx.ifindex, CtState.UNKNOWN, 0, 0);
    if (proto === EtherType.IPv4) {
      const prog = this.calls.get(CallSlot.IPV4_FROM_LXC);
      return prog !== undefined ? prog(ctx) : this.missedTailCall(ctx);
    }
    if (proto === EtherType.ARP) {
      const prog = this.calls.get(CallSlot.ARP);
      return prog !== undefined ? prog(ctx) : this.missedTailCall(ctx);
    }
    if (proto < 0) return this.drop(ctx, 0, 0, DropReason.INVALID, DropLine.LXC_INVALID, MetricsDir.EGRESS);
    return this.drop(ctx, 0, 0, DropReason.UNKNOWN_L3, DropLine.LXC_UNKNOWN_L3, MetricsDir.EGRESS);
  }

  /** tail_handle_arp: answer the pod's ARP for any address but its own with the gateway (veth) MAC. */
  private tailHandleArp(ctx: SkBuff): number {
    const b = ctx.buf;
    const a = ctx.off + ETH.HEADER_LEN;
    if (ctx.len < ETH.HEADER_LEN + ARP.LEN || b[a + ARP.OPER + 1] !== 1 || b[a + ARP.OPER] !== 0) return TcAct.OK;
    const spa = ((b[a + ARP.SPA] << 24) | (b[a + ARP.SPA + 1] << 16) | (b[a + ARP.SPA + 2] << 8) | b[a + ARP.SPA + 3]) >>> 0;
    const tpa = ((b[a + ARP.TPA] << 24) | (b[a + ARP.TPA + 1] << 16) | (b[a + ARP.TPA + 2] << 8) | b[a + ARP.TPA + 3]) >>> 0;
    if (tpa === this.ep.ipv4) return TcAct.OK;
    const sha = readMac(b, a + ARP.SHA);
    writeMac(b, ctx.off + ETH.DST, sha);
    writeMac(b, ctx.off + ETH.SRC, this.ep.hostMac);
    writeU16BE(b, a + ARP.OPER, 2);
    writeMac(b, a + ARP.SHA, this.ep.hostMac);
    writeU32BE(b, a + ARP.SPA, tpa);
    writeMac(b, a + ARP.THA, sha);
    writeU32BE(b, a + ARP.TPA, spa);
    ctx.redirectIfindex = this.ep.ifindex;
    ctx.redirectFlags = RedirectFlags.NONE;
    return TcAct.REDIRECT;
  }

  /** tail_handle_ipv4 (from lxc): validate, anti-spoof, per-packet service LB. */
  private tailHandleIpv4(ctx: SkBuff): number {
    const info = this.info;
    const err = loadIp4(ctx, info);
    if (err) return this.drop(ctx, 0, 0, err, DropLine.LXC_INVALID, MetricsDir.EGRESS);
    if (!ctx.hash) ctx.hash = flowHash(info);
    if (info.src !== this.ep.ipv4) return this.drop(ctx, 0, 0, DropReason.INVALID_SIP, DropLine.LXC_INVALID_SIP, MetricsDir.EGRESS);
    this.pendingRevNat = 0;
    // `!== true` and `=== true` below: a pointer compare, where a truthiness test of a field is a full ToBoolean.
    if (this.dp.cfg.socketLb !== true) {
      const r = this.perPacketLb(ctx, info);
      if (r !== TcAct.OK) return r;
    }
    const prog = this.calls.get(CallSlot.IPV4_CT_EGRESS);
    return prog !== undefined ? prog(ctx) : this.missedTailCall(ctx);
  }

  /** __per_packet_lb_svc_xlate_4: service → backend DNAT with the SVC CT entry for stickiness. */
  private perPacketLb(ctx: SkBuff, info: Ip4Info): number {
    const dp = this.dp;
    if (info.proto !== IpProto.TCP && info.proto !== IpProto.UDP) return TcAct.OK;
    const svc = lbLookupService(dp, info.dst, info.dport);
    if (svc < 0) return TcAct.OK;
    const count = svcCount(dp, svc);
    const revNat = svcRevNatIndex(dp, svc);
    const vip = info.dst;
    const vport = info.dport;
    let backendId = 0;
    const svcCt = ctLookupService4(dp, info);
    if (svcCt >= 0) {
      backendId = (info.proto === IpProto.TCP ? dp.ct4 : dp.ctAny4).view.getUint32(svcCt + 8, true);
      const b = lbLookupBackend(dp, backendId);
      if (b < 0 || !backendActive(dp.lbBackends, b)) backendId = 0;
      else ctTouchService4(dp, info, svcCt);
    }
    if (!backendId && count > 0) {
      const slot = (dp.rng.u32() % count) + 1;
      backendId = lbSlotBackendId(dp, vip, vport, slot);
      if (backendId && ctCreateService4(dp, info, backendId, revNat) < 0) {
        return this.drop(ctx, 0, 0, DropReason.CT_CREATE_FAILED, DropLine.LXC_CT_CREATE_EGRESS, MetricsDir.SERVICE);
      }
    }
    const b = backendId ? lbLookupBackend(dp, backendId) : -1;
    if (b < 0) {
      if (dp.cfg.noBackendResponse === 'reject') {
        // tail_no_service_ipv4: ICMP port unreachable from the frontend back to the pod.
        makeIcmpUnreachable(ctx, info, vip, Icmpv4DstUnreachCode.PortUnreachable, this.ep.hostMac, this.ep.mac);
        ctx.redirectIfindex = this.ep.ifindex;
        ctx.redirectFlags = RedirectFlags.NONE;
        return TcAct.REDIRECT;
      }
      return this.drop(ctx, 0, 0, DropReason.NO_SERVICE, DropLine.LXC_NO_SERVICE, MetricsDir.EGRESS);
    }
    rewriteAddrPort(ctx, info, false, backendAddress(dp.lbBackends, b), backendPort(dp.lbBackends, b));
    this.pendingRevNat = revNat;
    return TcAct.OK;
  }

  /** tail_ipv4_ct_egress: conntrack lookup, result kept for the next tail call. */
  private tailIpv4CtEgress(ctx: SkBuff): number {
    ctLookup4(this.dp, this.info, CtDir.EGRESS, this.ct);
    const prog = this.calls.get(CallSlot.IPV4_FROM_LXC_CONT);
    return prog !== undefined ? prog(ctx) : this.missedTailCall(ctx);
  }

  /** tail_handle_ipv4_cont → handle_ipv4_from_lxc: egress policy, CT create, then deliver or encapsulate. */
  private tailHandleIpv4Cont(ctx: SkBuff): number {
    const dp = this.dp;
    const info = this.info;
    const ct = this.ct;
    const ep = this.ep;
    const ipc = this.ipc;
    lookupIpcache(dp, info.dst, ipc);
    const dstId = ipc.found === true ? ipc.identity : ReservedIdentity.WORLD;
    // Sent by the L7 proxy for this endpoint (cil_lxc_policy_egress): its L7 policy already decided.
    const fromProxy = ctx.cb[CB.PROXY_MAGIC] === PROXY_EGRESS_EPID;
    let proxyPort = 0;
    let replyToProxy = false;

    if (ct.ret === CtState.NEW || ct.ret === CtState.ESTABLISHED) {
      let verdict = policyCanAccess(this.policyMap, dstId, true, info.proto, policyPort(info), ctx.len, this.pol);
      let audited = false;
      if (verdict < 0 && dp.cfg.policyAuditMode) {
        audited = true;
      }
      if (!fromProxy && (verdict !== 0 || ct.ret === CtState.NEW) && ep.policyVerdictLogFilter & PolicyDir.EGRESS) {
        sendPolicyVerdictNotify(dp, ctx, ep.id, dstId, policyPort(info), info.proto, PolicyDir.EGRESS, verdict, this.pol.matchType, audited, this.pol.cookie);
      }
      if (audited) verdict = 0;
      if (this.auditPolicyMap !== null && verdict >= 0 && !fromProxy && ct.ret === CtState.NEW) this.auditVerdict(ctx, dstId, true, info);
      if (verdict < 0) return this.drop(ctx, dstId, 0, -verdict, DropLine.LXC_POLICY_EGRESS, MetricsDir.EGRESS);
      if (!fromProxy) proxyPort = verdict;
    } else if (ct.proxyRedirect && !fromProxy) {
      // Replies of proxied connections go back through the proxy (port 0: the stack's socket lookup finds it).
      replyToProxy = true;
    }

    if (ct.ret === CtState.NEW) {
      // The proxy's own upstream connection is flagged too, so the server's replies return to the proxy.
      const r = ctCreate4(dp, info, CtDir.EGRESS, ep.identity, this.pendingRevNat, proxyPort > 0 || fromProxy ? CtEntryFlags.PROXY_REDIRECT : 0);
      if (r < 0) return this.drop(ctx, dstId, 0, -r, DropLine.LXC_CT_CREATE_EGRESS, MetricsDir.EGRESS);
    }

    if (proxyPort > 0 || replyToProxy) {
      sendTraceNotify(dp, ctx, ObsPoint.TO_PROXY, ep.id, ep.identity, dstId, proxyPort, 0, ct.ret, ct.monitor, info.src);
      ctx.mark = (TO_PROXY | (proxyPort << 16)) >>> 0;
      updateMetrics(dp, ctx.len, MetricsDir.EGRESS, 0, DropLine.LXC_FORWARD, SourceFile.BPF_LXC);
      return TcAct.OK;
    }
    if (fromProxy) ctx.cb[CB.PROXY_MAGIC] = 0;

    // Local endpoint: deliver through its ingress policy.
    const epOff = lookupEndpoint(dp, info.dst);
    if (epOff >= 0) {
      const flags = dp.lxc.view.getUint32(epOff + ENDPOINT_INFO.FLAGS, true);
      if (!(flags & 1)) {
        updateMetrics(dp, ctx.len, MetricsDir.EGRESS, 0, DropLine.LXC_FORWARD, SourceFile.BPF_LXC);
        return localIpv4LocalDelivery(dp, ctx, this.info, epOff, ep.identity, false, SourceFile.BPF_LXC, ep.id);
      }
    }

    // Tunnel: the ipcache's tunnel endpoint, else the tunnel map by pod CIDR.
    let remote = ipc.found === true ? ipc.tunnelEndpoint : 0;
    if (!remote && !ipc.skipTunnel) remote = lookupTunnel(dp, info.dst);
    if (remote) {
      updateMetrics(dp, ctx.len, MetricsDir.EGRESS, 0, DropLine.LXC_FORWARD, SourceFile.BPF_LXC);
      return localEncapAndRedirect(dp, ctx, ep.identity, dstId, remote, ct.ret, ct.monitor, ep.id);
    }

    // Everything else (host, world) goes up the stack.
    sendTraceNotify(dp, ctx, ObsPoint.TO_STACK, ep.id, ep.identity, dstId, 0, 0, ct.ret, ct.monitor, 0);
    updateMetrics(dp, ctx.len, MetricsDir.EGRESS, 0, DropLine.LXC_FORWARD, SourceFile.BPF_LXC);
    return TcAct.OK;
  }

  /** The audited policies' would-be decision on an allowed new flow: a verdict event only when it would drop. */
  private auditVerdict(ctx: SkBuff, remoteId: number, egress: boolean, info: Ip4Info): void {
    const r = auditResult;
    if (policyCanAccess(this.auditPolicyMap!, remoteId, egress, info.proto, policyPort(info), ctx.len, r) >= 0) return;
    sendPolicyVerdictNotify(this.dp, ctx, this.ep.id, remoteId, policyPort(info), info.proto, egress ? PolicyDir.EGRESS : PolicyDir.INGRESS, 0, r.matchType, true, r.cookie);
  }

  // ---- ingress: packets for this endpoint ------------------------------------

  private handlePolicy(ctx: SkBuff): number {
    const prog = this.calls.get(CallSlot.IPV4_CT_INGRESS_POLICY_ONLY);
    return prog !== undefined ? prog(ctx) : this.missedTailCall(ctx);
  }

  /**
   * cil_lxc_policy_egress: bpf_host hands over what the L7 proxy sends for an
   * egress redirect of this endpoint (mark MARK_MAGIC_PROXY_EGRESS_EPID). The
   * L4 policy still applies, the redirect does not, and the conntrack entry
   * sends the server's replies back to the proxy.
   */
  private handlePolicyEgress(ctx: SkBuff): number {
    const info = this.info;
    const err = loadIp4(ctx, info);
    if (err) return this.drop(ctx, 0, 0, err, DropLine.LXC_INVALID, MetricsDir.EGRESS);
    if (!ctx.hash) ctx.hash = flowHash(info);
    this.pendingRevNat = 0;
    ctx.cb[CB.PROXY_MAGIC] = PROXY_EGRESS_EPID;
    ctLookup4(this.dp, info, CtDir.EGRESS, this.ct);
    return this.tailHandleIpv4Cont(ctx);
  }

  /** tail_ipv4_ct_ingress_policy_only: CT lookup in the ingress direction. */
  private tailIpv4CtIngressPolicyOnly(ctx: SkBuff): number {
    const info = this.info;
    const err = loadIp4(ctx, info);
    if (err) return this.drop(ctx, this.ep.identity, this.ep.id, err, DropLine.LXC_INGRESS_INVALID, MetricsDir.INGRESS, ctx.cb[CB.SRC_LABEL]);
    if (!ctx.hash) ctx.hash = flowHash(info);
    ctLookup4(this.dp, info, CtDir.INGRESS, this.ct);
    const prog = this.calls.get(CallSlot.IPV4_TO_LXC_POLICY_ONLY);
    return prog !== undefined ? prog(ctx) : this.missedTailCall(ctx);
  }

  /** tail_ipv4_policy → ipv4_policy: ingress policy, CT create, reverse NAT of replies, deliver. */
  private tailIpv4Policy(ctx: SkBuff): number {
    const dp = this.dp;
    const info = this.info;
    const ct = this.ct;
    const ep = this.ep;
    const srcId = ctx.cb[CB.SRC_LABEL];
    const fromTunnel = ctx.cb[CB.FROM_TUNNEL] !== 0;
    const origSrc = info.src;
    // Set by bpf_host for packets the L7 proxy sent (skb mark MARK_MAGIC_PROXY_*).
    const proxyMagic = ctx.cb[CB.PROXY_MAGIC];
    let proxyPort = 0;
    let replyToProxy = false;

    if (ct.ret === CtState.REPLY || ct.ret === CtState.RELATED) {
      if (ct.revNatIndex) {
        // Per-packet LB: replies leave the backend's address; show the frontend's to the client.
        const rn = lbLookupRevNat(dp, ct.revNatIndex);
        if (rn >= 0) rewriteAddrPort(ctx, info, true, revNatAddress(dp, rn), revNatPort(dp, rn));
      }
      // Return traffic to the proxy's upstream socket; not the proxy's own answers to a client it redirected.
      if (ct.proxyRedirect && proxyMagic !== PROXY_EGRESS) replyToProxy = true;
    } else {
      // The ingress proxy's upstream connection: its L7 policy already decided, so no second redirect.
      const fromIngressProxy = proxyMagic === PROXY_INGRESS;
      let verdict = policyCanAccess(this.policyMap, srcId, false, info.proto, policyPort(info), ctx.len, this.pol);
      let audited = false;
      if (verdict < 0 && dp.cfg.policyAuditMode) audited = true;
      if (!fromIngressProxy && (verdict < 0 || ct.ret === CtState.NEW) && ep.policyVerdictLogFilter & PolicyDir.INGRESS) {
        sendPolicyVerdictNotify(dp, ctx, ep.id, srcId, policyPort(info), info.proto, PolicyDir.INGRESS, verdict, this.pol.matchType, audited, this.pol.cookie);
      }
      if (audited) verdict = 0;
      if (this.auditPolicyMap !== null && verdict >= 0 && !fromIngressProxy && ct.ret === CtState.NEW) this.auditVerdict(ctx, srcId, false, info);
      if (verdict < 0) return this.drop(ctx, ep.identity, ep.id, -verdict, DropLine.LXC_POLICY_INGRESS, MetricsDir.INGRESS, srcId);
      if (!fromIngressProxy) proxyPort = verdict;
      if (ct.ret === CtState.NEW) {
        const flags = (fromTunnel ? CtEntryFlags.FROM_TUNNEL : 0) | (proxyPort > 0 || fromIngressProxy ? CtEntryFlags.PROXY_REDIRECT : 0);
        const r = ctCreate4(dp, info, CtDir.INGRESS, srcId, 0, flags);
        if (r < 0) return this.drop(ctx, ep.identity, ep.id, -r, DropLine.LXC_CT_CREATE_INGRESS, MetricsDir.INGRESS, srcId);
      }
    }

    if (proxyPort > 0 || replyToProxy) {
      sendTraceNotify(dp, ctx, ObsPoint.TO_PROXY, ep.id, srcId, ep.identity, proxyPort, ep.ifindex, ct.ret, ct.monitor, origSrc);
      ctx.mark = (TO_PROXY | (proxyPort << 16)) >>> 0;
      return TcAct.OK;
    }

    sendTraceNotify(dp, ctx, ObsPoint.TO_LXC, ep.id, srcId, ep.identity, ep.id, ep.ifindex, ct.ret, ct.monitor, origSrc);
    updateMetrics(dp, ctx.len, MetricsDir.INGRESS, 0, DropLine.LXC_DELIVER, SourceFile.BPF_LXC);
    // redirect_ep: bpf_redirect_peer() straight into the pod's netns.
    ctx.redirectIfindex = ep.ifindex;
    ctx.redirectFlags = RedirectFlags.PEER;
    return TcAct.REDIRECT;
  }
}

/** Scratch for audit-map lookups (the real decision stays in the node's scratch). */
const auditResult = new PolicyResult();

// A const function expression, not a declaration: a declaration's binding
// is read from the module context and checked at every call, a module's own
// const is folded (this runs per packet).
/** The policy key's port: for ICMP the message type stands in for it, so `icmps` rules can match. */
const policyPort = function policyPort(info: Ip4Info): number {
  return info.proto === IpProto.ICMP ? info.icmpType : info.dport;
};

/**
 * ipv4_local_delivery(): route to an endpoint on this node (TTL, MACs), stash
 * the source identity and tail call the endpoint's handle_policy.
 */
export function ipv4LocalDelivery(dp: NodeDatapath, ctx: SkBuff, info: Ip4Info, epOff: number, srcLabel: number, fromTunnel: boolean, file: number, source: number): number {
  const v = dp.lxc.view;
  const lxcId = v.getUint16(epOff + ENDPOINT_INFO.LXC_ID, true);
  const ifindex = v.getUint32(epOff + ENDPOINT_INFO.IFINDEX, true);
  if (!decTtl(ctx, info)) {
    return sendDropNotify(dp, ctx, source, srcLabel, 0, lxcId, DropReason.TTL_EXCEEDED, file, DropLine.LXC_TTL, MetricsDir.INGRESS);
  }
  // eth_store_daddr/saddr from the endpoint entry, whose mac and node_mac lie
  // side by side as the Ethernet header's destination and source do: 12 bytes
  // copied as three words (as numbers, 48-bit MACs would be boxed doubles).
  const cv = ctx.view;
  const eth = ctx.off;
  cv.setInt32(eth + ETH.DST, v.getInt32(epOff + ENDPOINT_INFO.MAC, true), true);
  cv.setInt32(eth + ETH.DST + 4, v.getInt32(epOff + ENDPOINT_INFO.MAC + 4, true), true);
  cv.setInt32(eth + ETH.DST + 8, v.getInt32(epOff + ENDPOINT_INFO.MAC + 8, true), true);
  ctx.cb[CB.SRC_LABEL] = srcLabel;
  ctx.cb[CB.IFINDEX] = ifindex;
  ctx.cb[CB.FROM_TUNNEL] = fromTunnel ? 1 : 0;
  const prog = dp.callPolicy.get(lxcId);
  if (prog === undefined) {
    const dstId = v.getUint32(epOff + ENDPOINT_INFO.SEC_ID, true);
    return sendDropNotify(dp, ctx, source, srcLabel, dstId, lxcId, DropReason.EP_NOT_READY, file, DropLine.LXC_EP_NOT_READY, MetricsDir.INGRESS);
  }
  return prog(ctx);
}

/**
 * encap_and_redirect_lxc(): set the tunnel key (VNI = source identity, remote
 * = the node behind the destination) and redirect to cilium_vxlan, whose
 * driver adds the outer headers.
 */
export function encapAndRedirect(dp: NodeDatapath, ctx: SkBuff, srcLabel: number, dstLabel: number, remoteNodeIp: number, ctReason: number, monitor: number, source: number): number {
  // The host's own identity is sent as remote-node: identity 1 means nothing on another node.
  const vni = srcLabel === ReservedIdentity.HOST ? ReservedIdentity.REMOTE_NODE : srcLabel;
  ctx.tunnelValid = true;
  ctx.tunnelId = vni;
  ctx.tunnelRemoteIpv4 = remoteNodeIp | 0;
  ctx.tunnelTtl = 64;
  const vx = dp.cfg.ifindex.ciliumVxlan;
  sendTraceNotify(dp, ctx, ObsPoint.TO_OVERLAY, source, srcLabel, dstLabel, 0, vx, ctReason, monitor, 0);
  ctx.redirectIfindex = vx;
  ctx.redirectFlags = RedirectFlags.NONE;
  return TcAct.REDIRECT;
}
