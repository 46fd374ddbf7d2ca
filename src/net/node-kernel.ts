// A node's kernel, as far as Cilium's datapath needs one: devices with tc
// hooks (lxc veths, cilium_host, cilium_vxlan, eth0), what happens after a
// program returns (redirect, pass up the stack, drop), the VXLAN driver's
// encapsulation and decapsulation, and delivery into pod namespaces.

import { ETH } from '../packet/ethernet.js';
import { checkIpv4, IPV4, IpProto } from '../packet/ipv4.js';
import { checksumUpdate16, readU16, writeU16 } from '../packet/checksum.js';
import { VXLAN_ENCAP_OVERHEAD, VXLAN_FLAG_I, VXLAN_PORT, vxlanFlowSourcePort as importedVxlanFlowSourcePort, writeVxlanEncapView as importedWriteVxlanEncapView } from '../packet/vxlan.js';
import { macHigh16 as importedMacHigh16, readMac, writeMac } from '../packet/mac.js';
import { readU32BE } from '../bpf/bytes.js';
import type { LpmTrieMap } from '../bpf/lpm.js';
import { DEFAULT_HEADROOM, RedirectFlags, SkBuff, TcAct } from '../datapath/skb.js';
import { LxcProgram, type EndpointConfig } from '../datapath/sim/bpf_lxc.js';
import { OverlayProgram } from '../datapath/sim/bpf_overlay.js';
import { HostProgram } from '../datapath/sim/bpf_host.js';
import { SockProgram } from '../datapath/sim/bpf_sock.js';
import { MARK_MAGIC_MASK, MARK_MAGIC_TO_PROXY } from '../datapath/sim/calls.js';

// Module-local copies of imported constants used per packet: TurboFan folds a
// module's own consts, but loads and checks an imported binding at every use.
const ENCAP_OVERHEAD = VXLAN_ENCAP_OVERHEAD;
const VXLAN_DPORT = VXLAN_PORT;
const FLAG_I = VXLAN_FLAG_I;
const HEADROOM = DEFAULT_HEADROOM;
import type { NodeDatapath, Prog } from '../datapath/sim/node-datapath.js';
import type { Underlay, UnderlayPort } from './underlay.js';

// Module-local bindings of small helpers called per packet: TurboFan folds a
// module's own const, where a call through an import loads the binding and
// checks, on every call, that it is initialised and still the function it inlined.
const vxlanFlowSourcePort = importedVxlanFlowSourcePort;
const writeVxlanEncapView = importedWriteVxlanEncapView;
const macHigh16 = importedMacHigh16;

// Fields are tested on the packet path by comparison (`dev.tcIngress !==
// null`, `this.immediate === true`), not by truthiness: TurboFan cannot tell
// such a field's type, so `if (x)` becomes a full ToBoolean (false, '', 0,
// NaN, undetectable objects, bigints: ten instructions), a comparison one.

export type PeerReceive = (buf: Uint8Array, off: number, len: number) => void;

export type DeviceKind = 'ether' | 'veth' | 'vxlan' | 'host';

export interface Device {
  readonly ifindex: number;
  readonly name: string;
  readonly mac: number;
  readonly kind: DeviceKind;
  tcIngress: Prog | null;
  tcEgress: Prog | null;
  /** veth: hands a frame to the peer end inside the pod's namespace (bytes valid during the call only). */
  peerReceive: PeerReceive | null;
}

/** Where a frame was seen, for tests and capture (not used by programs). */
export interface TapEvent {
  node: string;
  device: string;
  direction: 'ingress' | 'egress';
  frame: Uint8Array;
  timeMs: number;
}

export interface KernelStats {
  dropped: number;
  /** Packets passed up the stack with nowhere to go. */
  unroutable: number;
  toHost: number;
  toProxy: number;
  /** Routed out of eth0 (to the world). */
  forwarded: number;
  deliveredToPods: number;
  encapsulated: number;
  decapsulated: number;
}

/** `lxc` + 12 hex digits, as Cilium names host-side veths. */
export function lxcDeviceName(epId: number, podIp: number): string {
  let h = Math.imul(epId ^ 0x9e3779b9, 0x85ebca6b) ^ podIp;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  const h2 = Math.imul(h ^ 0x27d4eb2f, 0x165667b1) >>> 0;
  return 'lxc' + (h.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')).slice(0, 12);
}

export class NodeKernel implements UnderlayPort {
  readonly devices = new Map<number, Device>();
  /** The same devices indexed by ifindex (a Map lookup per hop costs more than an array load). */
  private readonly byIfindex: (Device | undefined)[] = [];
  readonly endpoints = new Map<number, { cfg: EndpointConfig; prog: LxcProgram; device: Device }>();
  readonly overlay: OverlayProgram;
  readonly host: HostProgram;
  readonly sock: SockProgram;
  readonly eth0: Device;
  readonly ciliumHost: Device;
  readonly ciliumVxlan: Device;
  readonly stats: KernelStats = { dropped: 0, unroutable: 0, toHost: 0, toProxy: 0, forwarded: 0, deliveredToPods: 0, encapsulated: 0, decapsulated: 0 };
  /** The node's own network namespace (host stack): frames for the node IP or cilium_host. */
  hostReceive: ((frame: Uint8Array) => void) | null = null;
  /** The L7 proxy: packets marked for it are handed over here. */
  proxyReceive: ((frame: Uint8Array, proxyPort: number) => void) | null = null;
  tap: ((ev: TapEvent) => void) | null = null;
  private readonly skb = new SkBuff();
  private nextIfindex = 10;
  /** eth0's address and MAC (the node config's), as fields: read on every frame in and out. */
  readonly ip: number;
  readonly mac: number;
  /** The same as int32s (the address `| 0`, the MAC's high 16 and low 32 bits) for writeVxlanEncapView. */
  private readonly ipWord: number;
  private readonly macHi: number;
  private readonly macLo: number;

  constructor(
    readonly dp: NodeDatapath,
    readonly underlay: Underlay,
    private readonly immediate = false,
    readonly vethLatencyMs = 0.005,
  ) {
    const c = dp.cfg;
    this.ip = c.nodeIp;
    this.mac = c.nodeMac;
    this.ipWord = c.nodeIp | 0;
    this.macHi = macHigh16(c.nodeMac);
    this.macLo = c.nodeMac | 0;
    this.overlay = new OverlayProgram(dp);
    this.host = new HostProgram(dp);
    this.sock = new SockProgram(dp);
    this.eth0 = this.addDevice({ ifindex: c.ifindex.eth0, name: 'eth0', mac: c.nodeMac, kind: 'ether', tcIngress: this.host.cil_from_netdev, tcEgress: this.host.cil_to_netdev, peerReceive: null });
    this.ciliumHost = this.addDevice({ ifindex: c.ifindex.ciliumHost, name: 'cilium_host', mac: c.routerMac, kind: 'host', tcIngress: this.host.cil_from_host, tcEgress: this.host.cil_to_host, peerReceive: null });
    this.addDevice({ ifindex: c.ifindex.ciliumNet, name: 'cilium_net', mac: c.routerMac + 1, kind: 'host', tcIngress: null, tcEgress: null, peerReceive: null });
    this.ciliumVxlan = this.addDevice({ ifindex: c.ifindex.ciliumVxlan, name: 'cilium_vxlan', mac: c.routerMac + 2, kind: 'vxlan', tcIngress: this.overlay.cil_from_overlay, tcEgress: this.overlay.cil_to_overlay, peerReceive: null });
    underlay.attach(this);
  }

  get name(): string {
    return this.dp.cfg.nodeName;
  }

  private addDevice(d: Device): Device {
    this.devices.set(d.ifindex, d);
    this.byIfindex[d.ifindex] = d;
    if (d.ifindex >= this.nextIfindex) this.nextIfindex = d.ifindex + 1;
    return d;
  }

  private device(ifindex: number): Device | undefined {
    return ifindex >>> 0 < this.byIfindex.length ? this.byIfindex[ifindex] : undefined;
  }

  allocIfindex(): number {
    return this.nextIfindex++;
  }

  deviceName(ifindex: number): string | undefined {
    return this.devices.get(ifindex)?.name;
  }

  /**
   * Create the endpoint's veth (host side lxc…), load its bpf_lxc programs,
   * attach cil_from_container and publish handle_policy in cilium_call_policy.
   */
  attachEndpoint(cfg: EndpointConfig, policyMap: LpmTrieMap, podReceive: PeerReceive, ifName?: string): Device {
    const prog = new LxcProgram(this.dp, cfg, policyMap);
    const device = this.addDevice({
      ifindex: cfg.ifindex,
      name: ifName ?? lxcDeviceName(cfg.id, cfg.ipv4),
      mac: cfg.hostMac,
      kind: 'veth',
      tcIngress: prog.cil_from_container,
      tcEgress: null,
      peerReceive: podReceive,
    });
    this.endpoints.set(cfg.id, { cfg, prog, device });
    this.dp.callPolicy.set(cfg.id, prog.handle_policy);
    this.dp.callEgressPolicy.set(cfg.id, prog.handle_policy_egress);
    return device;
  }

  detachEndpoint(epId: number): void {
    const e = this.endpoints.get(epId);
    if (!e) return;
    this.dp.callPolicy.delete(epId);
    this.dp.callEgressPolicy.delete(epId);
    this.devices.delete(e.device.ifindex);
    this.byIfindex[e.device.ifindex] = undefined;
    this.endpoints.delete(epId);
  }

  private schedule(delayMs: number, fn: () => void): void {
    if (this.immediate === true) fn();
    else this.dp.clock.setTimer(delayMs, fn);
  }

  private emitTap(device: Device, direction: 'ingress' | 'egress', ctx: SkBuff): void {
    this.tap?.({ node: this.name, device: device.name, direction, frame: ctx.frame(), timeMs: this.dp.clock.now() });
  }

  /** A frame sent by the pod on eth0 arrives at the host side of its veth. */
  podTransmit(ifindex: number, frame: Uint8Array): void {
    this.schedule(this.vethLatencyMs, () => this.runIngress(ifindex, frame));
  }

  /** Synchronous entry for benchmarks and program tests: run tc ingress of a device on a frame now. */
  runIngress(ifindex: number, frame: Uint8Array, frameOff = 0, frameLen = frame.length - frameOff, mark = 0): number {
    const dev = this.device(ifindex);
    if (dev === undefined) return TcAct.SHOT;
    const ctx = this.skb.load(frame, frameOff, frameLen, HEADROOM);
    ctx.ifindex = ifindex;
    ctx.mark = mark;
    if (this.tap !== null) this.emitTap(dev, 'ingress', ctx);
    const rc = dev.tcIngress !== null ? dev.tcIngress(ctx) : TcAct.OK;
    this.afterProgram(ctx, rc, dev);
    return rc;
  }

  /** The node's host stack sends a frame toward pods or other nodes (via cilium_host). */
  hostTransmit(frame: Uint8Array): void {
    this.schedule(0, () => this.runIngress(this.ciliumHost.ifindex, frame));
  }

  /** The L7 proxy's sockets send through the host stack too, with the skb mark saying whom they speak for. */
  proxyTransmit(frame: Uint8Array, mark: number): void {
    this.schedule(0, () => this.runIngress(this.ciliumHost.ifindex, frame, 0, frame.length, mark));
  }

  private afterProgram(ctx: SkBuff, rc: number, dev: Device): void {
    if (rc === TcAct.SHOT) {
      this.stats.dropped++;
      return;
    }
    if (rc === TcAct.REDIRECT) {
      this.redirect(ctx);
      return;
    }
    this.stackInput(ctx, dev);
  }

  private redirect(ctx: SkBuff): void {
    const target = this.device(ctx.redirectIfindex);
    if (target === undefined) {
      this.stats.dropped++;
      return;
    }
    switch (target.kind) {
      case 'veth': {
        // Egress of the host-side veth, or bpf_redirect_peer(): either way the pod receives it.
        if (this.tap !== null) this.emitTap(target, 'egress', ctx);
        const rx = target.peerReceive;
        this.stats.deliveredToPods++;
        if (rx === null) return;
        if (this.immediate === true) {
          rx(ctx.buf, ctx.off, ctx.len);
          return;
        }
        const frame = ctx.frame();
        this.dp.clock.setTimer(ctx.redirectFlags & RedirectFlags.PEER ? 0 : this.vethLatencyMs, () => rx(frame, 0, frame.length));
        return;
      }
      case 'vxlan':
        this.vxlanTransmit(ctx, target);
        return;
      case 'ether':
        this.eth0Transmit(ctx);
        return;
      default:
        this.stackInput(ctx, target);
    }
  }

  /** cilium_vxlan egress: tc egress program, then the VXLAN driver adds the outer headers. */
  private vxlanTransmit(ctx: SkBuff, dev: Device): void {
    ctx.ifindex = dev.ifindex;
    const rc = dev.tcEgress !== null ? dev.tcEgress(ctx) : TcAct.OK;
    if (rc === TcAct.SHOT) {
      this.stats.dropped++;
      return;
    }
    if (ctx.tunnelValid === false) {
      this.stats.dropped++;
      return;
    }
    const peer = this.underlay.neighbour(ctx.tunnelRemoteIpv4);
    if (peer === null || !ctx.pushHead(ENCAP_OVERHEAD)) {
      this.stats.dropped++;
      return;
    }
    const v = ctx.view;
    const innerLen = ctx.len - ENCAP_OVERHEAD;
    const port = vxlanFlowSourcePort(ctx.hash);
    const remoteIp = ctx.tunnelRemoteIpv4 | 0;
    const remoteMac = peer.mac;
    writeVxlanEncapView(v, ctx.off, innerLen, this.macHi, this.macLo, macHigh16(remoteMac), remoteMac | 0, this.ipWord, remoteIp, port, ctx.tunnelId, ctx.tunnelTtl || 64, 0);
    this.stats.encapsulated++;
    this.eth0Transmit(ctx);
  }

  /** eth0 egress: cil_to_netdev, then onto the wire. */
  private eth0Transmit(ctx: SkBuff): void {
    ctx.ifindex = this.eth0.ifindex;
    const rc = this.eth0.tcEgress !== null ? this.eth0.tcEgress(ctx) : TcAct.OK;
    if (rc === TcAct.SHOT) {
      this.stats.dropped++;
      return;
    }
    if (this.tap !== null) this.emitTap(this.eth0, 'egress', ctx);
    // The frame leaves with the skb's buffer: a receiving kernel takes it over instead of copying.
    this.underlay.sendSkb(ctx);
  }

  /** A frame from the wire: cil_from_netdev, then the stack (VXLAN decap for UDP 8472 to us). */
  receive(buf: Uint8Array, off = 0, len = buf.length - off): void {
    this.skb.load(buf, off, len, HEADROOM);
    this.receiveLoaded();
  }

  /** A frame from another kernel's skb (Underlay.sendSkb): take its buffer, then as receive(). */
  receiveSkb(from: SkBuff): void {
    this.skb.adopt(from);
    this.receiveLoaded();
  }

  /** receive() once the frame is in this.skb. */
  private receiveLoaded(): void {
    const rc = this.runIngressLoaded(this.eth0);
    if (rc === TcAct.SHOT) {
      this.stats.dropped++;
      return;
    }
    if (rc === TcAct.REDIRECT) {
      // cil_from_netdev delivered it (a reverse-NATed reply to a pod).
      this.redirect(this.skb);
      return;
    }
    const ctx = this.skb;
    const inner = this.vxlanInnerOffset(ctx);
    if (inner > 0) {
      // The VXLAN driver: strip the outer headers, keep VNI and the sender as tunnel metadata.
      const v = ctx.view;
      const vni = v.getUint32(inner - 4) >>> 8;
      ctx.tunnelRemoteIpv4 = v.getInt32(ctx.off + ETH.HEADER_LEN + IPV4.SRC);
      ctx.len -= inner - ctx.off;
      ctx.off = inner;
      ctx.tunnelValid = true;
      ctx.tunnelId = vni;
      ctx.ifindex = this.ciliumVxlan.ifindex;
      this.stats.decapsulated++;
      if (this.tap !== null) this.emitTap(this.ciliumVxlan, 'ingress', ctx);
      const rc2 = this.ciliumVxlan.tcIngress !== null ? this.ciliumVxlan.tcIngress(ctx) : TcAct.OK;
      this.afterProgram(ctx, rc2, this.ciliumVxlan);
      return;
    }
    if (inner < 0) {
      // VXLAN for us that the driver rejects (bad outer header, no I flag, truncated).
      this.stats.dropped++;
      return;
    }
    this.stackInput(ctx, this.eth0);
  }

  private runIngressLoaded(dev: Device): number {
    const ctx = this.skb;
    ctx.ifindex = dev.ifindex;
    if (this.tap !== null) this.emitTap(dev, 'ingress', ctx);
    return dev.tcIngress !== null ? dev.tcIngress(ctx) : TcAct.OK;
  }

  /**
   * Where the inner frame starts if this is VXLAN (UDP 8472) addressed to this
   * node; 0 when it is not VXLAN for us; -1 when it is but malformed.
   */
  private vxlanInnerOffset(ctx: SkBuff): number {
    const b = ctx.buf;
    const v = ctx.view;
    const o = ctx.off;
    const len = ctx.len;
    if (len < ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN + 8) return 0;
    if (v.getUint16(o + ETH.ETHERTYPE) !== 0x0800) return 0;
    const ip = o + ETH.HEADER_LEN;
    if (b[ip + IPV4.PROTOCOL] !== IpProto.UDP) return 0;
    if (v.getInt32(ip + IPV4.DST) !== this.ipWord) return 0;
    const verIhl = b[ip];
    const ihl = (verIhl & 0x0f) * 4;
    const udp = ip + ihl;
    if (ihl < IPV4.MIN_HEADER_LEN || udp + 8 > o + len || v.getUint16(udp + 2) !== VXLAN_DPORT) return 0;
    const totalLen = v.getUint16(ip + IPV4.TOTAL_LEN);
    if (verIhl === 0x45) {
      // checkIpv4() for a header without options, inline: lengths, then the
      // checksum as the ones' complement sum of its five words' halves.
      if (totalLen < IPV4.MIN_HEADER_LEN || totalLen > len - ETH.HEADER_LEN) return -1;
      const w0 = v.getUint32(ip);
      const w1 = v.getUint32(ip + 4);
      const w2 = v.getUint32(ip + 8);
      const w3 = v.getUint32(ip + 12);
      const w4 = v.getUint32(ip + 16);
      let sum = (w0 >>> 16) + (w0 & 0xffff) + (w1 >>> 16) + (w1 & 0xffff) + (w2 >>> 16) + (w2 & 0xffff) + (w3 >>> 16) + (w3 & 0xffff) + (w4 >>> 16) + (w4 & 0xffff);
      sum = (sum & 0xffff) + (sum >>> 16);
      sum = (sum & 0xffff) + (sum >>> 16);
      if (sum !== 0xffff) return -1;
    } else if (checkIpv4(b, ip, len - ETH.HEADER_LEN) !== 0) return -1;
    if (v.getUint16(ip + IPV4.FLAGS_FRAG) & 0x3fff) return -1;
    const vx = udp + 8;
    const inner = vx + 8;
    if (inner + ETH.HEADER_LEN > ip + totalLen || !(b[vx] & FLAG_I)) return -1;
    return inner;
  }

  /**
   * What the kernel does with a packet a program passed up (TC_ACT_OK): the
   * L7 proxy if marked for it, the host stack for the node's own addresses,
   * and forwarding out of eth0 for the rest (cil_to_netdev masquerades pods'
   * traffic to the world). The node routes for its pods only, not for the underlay.
   */
  private stackInput(ctx: SkBuff, from: Device): void {
    if ((ctx.mark & MARK_MAGIC_MASK) === MARK_MAGIC_TO_PROXY) {
      this.stats.toProxy++;
      const port = ctx.mark >>> 16;
      const frame = ctx.frame();
      const rx = this.proxyReceive;
      if (rx) this.schedule(0, () => rx(frame, port));
      else this.stats.dropped++;
      return;
    }
    if (ctx.len < ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN || readU16(ctx.buf, ctx.off + ETH.ETHERTYPE) !== 0x0800) {
      this.stats.unroutable++;
      return;
    }
    const dst = readU32BE(ctx.buf, ctx.off + ETH.HEADER_LEN + IPV4.DST);
    if (dst === this.ip || dst === this.dp.cfg.routerIp) {
      this.stats.toHost++;
      const frame = ctx.frame();
      const rx = this.hostReceive;
      if (rx) this.schedule(0, () => rx(frame));
      return;
    }
    const nextHop = from === this.eth0 ? null : this.underlay.neighbour(dst);
    const l3 = ctx.off + ETH.HEADER_LEN;
    if (nextHop === null || ctx.buf[l3 + IPV4.TTL]! <= 1) {
      this.stats.unroutable++;
      return;
    }
    // ip_forward(): one hop less, new MACs, out through eth0.
    const oldWord = readU16(ctx.buf, l3 + IPV4.TTL);
    ctx.buf[l3 + IPV4.TTL]!--;
    writeU16(ctx.buf, l3 + IPV4.CHECKSUM, checksumUpdate16(readU16(ctx.buf, l3 + IPV4.CHECKSUM), oldWord, readU16(ctx.buf, l3 + IPV4.TTL)));
    writeMac(ctx.buf, ctx.off + ETH.DST, nextHop.mac);
    writeMac(ctx.buf, ctx.off + ETH.SRC, this.mac);
    this.stats.forwarded++;
    this.eth0Transmit(ctx);
  }

  /** The destination MAC of a frame (for tests). */
  static dstMac(frame: Uint8Array): number {
    return readMac(frame, ETH.DST);
  }
}
