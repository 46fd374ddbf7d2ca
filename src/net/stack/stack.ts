// The network stack inside one network namespace (a pod, a node's host
// namespace, an external host): one eth0, a default route via the gateway,
// ARP for the gateway, lo for its own address and 127/8, and TCP/UDP/ICMP
// sockets. It turns socket calls into real Ethernet/IPv4 frames and back.
//
// Re-entrancy: a frame handed to receive() while the stack is already busy
// (a transmit callback that delivers synchronously back into this stack, or
// a socket callback calling receive) is processed on the next clock tick, so
// socket state is never observed half-updated and no event fires before the
// API call that caused it returns.

import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Rng } from '../../util/rng.js';
import { readU16, readU32, writeU16 } from '../../packet/checksum.js';
import { isParseFailure, ParseErrorCode, type ParseFailure } from '../../packet/error.js';
import { ETH, EtherType } from '../../packet/ethernet.js';
import { ArpOp, ARP, emitArp, parseArp } from '../../packet/arp.js';
import { IPV4, IpProto, emitIpv4, parseIpv4, type Ipv4Repr } from '../../packet/ipv4.js';
import { TcpFlags, emitTcp, parseTcp, tcpSegmentLen, type TcpRepr } from '../../packet/tcp.js';
import { UDP, emitUdp, parseUdp } from '../../packet/udp.js';
import {
  ICMP,
  Icmpv4DstUnreachCode,
  Icmpv4Type,
  emitIcmpv4,
  icmpv4Len,
  parseIcmpv4,
  type Icmpv4Repr,
} from '../../packet/icmpv4.js';
import { MAC_BROADCAST, readMac, writeMac } from '../../packet/mac.js';
import { Errno, socketError, StackError, type SocketError } from './errno.js';
import { TcpListener, TcpSocket, type TcpHost, type TcpListenerHost } from './tcp.js';
import { UdpSocket, type HookResult, type SockAddrHookName, type UdpHost } from './udp.js';
import {
  DEFAULT_TCP_CONFIG,
  newStackStats,
  type SockAddrCtx,
  type SockHooks,
  type StackStats,
  type TcpConfig,
} from './types.js';

/** Linux's default ip_local_port_range. */
export const EPHEMERAL_PORT_MIN = 32768;
export const EPHEMERAL_PORT_MAX = 60999;
/** Pod MTU under VXLAN: 1500 - 50. */
export const DEFAULT_POD_MTU = 1450;
const DEFAULT_TTL = 64;
/** ARP: Linux sends 3 probes (mcast_solicit) one retrans_time (1 s) apart, then gives up on the queue. */
const ARP_PROBES = 3;
const ARP_RETRANS_MS = 1000;
/** Frames held while the gateway is unresolved (Linux unres_qlen). */
const ARP_QUEUE_LIMIT = 101;
/** RFC 1812: an ICMP error quotes as much of the offender as fits in 576 bytes. */
const ICMP_ERROR_MAX_BYTES = 576;
const FRAME_HEADERS = ETH.HEADER_LEN + IPV4.MIN_HEADER_LEN;

/** Hands out socket and netns cookies; share one between the stacks of a node so cookies are unique there. */
export class CookieSource {
  constructor(private nextValue = 1) {}
  take(): number {
    return this.nextValue++;
  }
}

const defaultCookies = new CookieSource(4096);

export interface NetStackOptions {
  name: string;
  ip: number;
  mac: number;
  gatewayIp: number;
  /** When omitted the gateway is resolved by ARP (frames wait in a queue meanwhile). */
  gatewayMac?: number;
  /** Default 1450 (pod MTU under VXLAN). TCP announces MSS = mtu - 40. */
  mtu?: number;
  clock: Clock;
  rng: Rng;
  /** Called with each complete Ethernet frame leaving eth0; the array is the callee's. */
  transmit: (frame: Uint8Array) => void;
  sockHooks?: SockHooks;
  /** TCP knobs; defaults are Linux's (TIME_WAIT 60 s, 6 SYN retries, ...). */
  tcp?: Partial<TcpConfig>;
  /** Where socket and netns cookies come from (default: one process-wide source). */
  cookies?: CookieSource;
}

export interface PingOptions {
  /** Echo identifier; default: a per-stack number, like a ping socket's port. */
  ident?: number;
  seq: number;
  /** Bytes after the 8-byte ICMP header (ping's -s); default 56. */
  payloadLen?: number;
  /** Give up after this long with ETIMEDOUT; default: wait forever (cancel() to stop). */
  timeoutMs?: number;
  onReply: (rttMs: number, ttl: number) => void;
  onError?: (err: SocketError) => void;
}

export interface PingHandle {
  readonly ident: number;
  readonly seq: number;
  cancel(): void;
}

interface PendingPing {
  dstIp: number;
  sentAt: number;
  opts: PingOptions;
  timer: TimerHandle | null;
}

/** errno and whether it is fatal, for an ICMP destination unreachable code (Linux icmp_err_convert). */
function unreachableErrno(code: number): { errno: number; fatal: boolean } {
  switch (code) {
    case 0:
    case 6:
    case 9:
      return { errno: Errno.ENETUNREACH, fatal: true };
    case 1:
    case 10:
    case 13:
    case 14:
    case 15:
      return { errno: Errno.EHOSTUNREACH, fatal: true };
    case 2:
      return { errno: Errno.ENOPROTOOPT, fatal: true };
    case 3:
      return { errno: Errno.ECONNREFUSED, fatal: true };
    case 4:
      return { errno: Errno.EMSGSIZE, fatal: false };
    case 5:
      return { errno: Errno.EOPNOTSUPP, fatal: false };
    case 7:
      return { errno: Errno.EHOSTDOWN, fatal: true };
    case 8:
      return { errno: Errno.ENONET, fatal: true };
    case 11:
      return { errno: Errno.ENETUNREACH, fatal: false };
    default:
      return { errno: Errno.EHOSTUNREACH, fatal: false };
  }
}

const LOOPBACK_IP = 0x7f000001;

function isLoopbackAddress(ip: number): boolean {
  return ip >>> 24 === 127;
}

function remoteKey(ip: number, port: number): number {
  return ip * 65536 + port;
}

export class NetStack implements TcpHost, TcpListenerHost, UdpHost {
  readonly name: string;
  readonly ip: number;
  readonly mac: number;
  readonly gatewayIp: number;
  readonly mtu: number;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly netnsCookie: number;
  readonly tcpConfig: TcpConfig;
  readonly stats: StackStats = newStackStats();
  readonly advertisedMss: number;

  private gwMac: number | undefined;
  private readonly transmitFrame: (frame: Uint8Array) => void;
  private readonly hooks: SockHooks;
  private readonly cookies: CookieSource;

  /** localPort → (remoteIp, remotePort) → socket. */
  private readonly tcpConns = new Map<number, Map<number, TcpSocket>>();
  private readonly tcpListeners = new Map<number, TcpListener>();
  private readonly udpSockets = new Map<number, UdpSocket>();
  private readonly pings = new Map<number, PendingPing>();
  private nextPingIdent: number;

  private arpQueue: Uint8Array[] = [];
  private arpTimer: TimerHandle | null = null;
  private arpProbes = 0;

  private ipIdent: number;
  private readonly ipRepr: Ipv4Repr = { src: 0, dst: 0, protocol: 0, ttl: DEFAULT_TTL, payloadLen: 0 };
  private depth = 0;
  private rxBacklog: Uint8Array[] = [];
  private drainScheduled = false;
  private down = false;

  constructor(opts: NetStackOptions) {
    this.name = opts.name;
    this.ip = opts.ip >>> 0;
    this.mac = opts.mac;
    this.gatewayIp = opts.gatewayIp >>> 0;
    this.gwMac = opts.gatewayMac;
    this.mtu = opts.mtu ?? DEFAULT_POD_MTU;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.transmitFrame = opts.transmit;
    this.hooks = opts.sockHooks ?? {};
    this.cookies = opts.cookies ?? defaultCookies;
    this.netnsCookie = this.cookies.take();
    this.tcpConfig = { ...DEFAULT_TCP_CONFIG, ...opts.tcp };
    this.advertisedMss = this.mtu - IPV4.MIN_HEADER_LEN - 20;
    this.ipIdent = this.rng.u32() & 0xffff;
    this.nextPingIdent = this.rng.between(1, 0xffff);
  }

  get localIp(): number {
    return this.ip;
  }

  /** The gateway's MAC once known (given or learned by ARP). */
  get gatewayMac(): number | undefined {
    return this.gwMac;
  }

  // ---- Socket API ----------------------------------------------------------------

  /**
   * connect(): runs connect4 (which may turn a service address into a
   * backend), picks a source port and sends the SYN. Failures arrive as
   * onClose(err): a hook's errno, EADDRINUSE, ECONNREFUSED, ETIMEDOUT, ...
   */
  tcpConnect(dstIp: number, dstPort: number, opts: { srcPort?: number } = {}): TcpSocket {
    const sock = new TcpSocket(this, this.cookies.take(), this.ip);
    this.guard(() => {
      if (this.down) {
        sock.failConnect(Errno.ENETUNREACH);
        return;
      }
      const hook = this.runSockHook('connect4', sock.cookie, IpProto.TCP, dstIp >>> 0, dstPort);
      if (hook.rc < 0) {
        sock.failConnect(hook.rc);
        return;
      }
      sock.remoteIp = hook.ip;
      sock.remotePort = hook.port;
      sock.localIp = this.sourceAddressFor(hook.ip);
      const key = remoteKey(hook.ip, hook.port);
      let port = opts.srcPort ?? 0;
      if (port !== 0) {
        if (this.tcpListeners.has(port) || this.tcpConns.get(port)?.has(key)) {
          sock.failConnect(Errno.EADDRINUSE);
          return;
        }
      } else {
        port = this.allocatePort((p) => this.tcpConns.has(p) || this.tcpListeners.has(p));
        if (port === 0) {
          sock.failConnect(Errno.EADDRNOTAVAIL);
          return;
        }
      }
      sock.localPort = port;
      this.registerTcp(sock);
      sock.startConnect();
    });
    return sock;
  }

  /** listen(): onAccept gets each connection whose handshake completed. Port 0 picks one. Throws EADDRINUSE. */
  tcpListen(port: number, onAccept: (sock: TcpSocket) => void, opts: { backlog?: number } = {}): TcpListener {
    let p = port;
    if (p === 0) p = this.allocatePort((q) => this.tcpConns.has(q) || this.tcpListeners.has(q));
    if (p === 0 || this.tcpListeners.has(p)) throw new StackError(Errno.EADDRINUSE, `${this.name}: listen on port ${port}`);
    const listener = new TcpListener(this, p, opts.backlog ?? this.tcpConfig.defaultBacklog, onAccept);
    this.tcpListeners.set(p, listener);
    return listener;
  }

  /** bind() a UDP socket; no port (or 0) picks an ephemeral one. Throws EADDRINUSE. */
  udpBind(port?: number): UdpSocket {
    let p = port ?? 0;
    if (p === 0) p = this.allocatePort((q) => this.udpSockets.has(q));
    if (p === 0 || this.udpSockets.has(p)) throw new StackError(Errno.EADDRINUSE, `${this.name}: bind udp port ${port ?? 0}`);
    const sock = new UdpSocket(this, this.cookies.take(), this.ip, p);
    this.udpSockets.set(p, sock);
    return sock;
  }

  /** Sends one ICMP echo request; the reply (or an ICMP error about it) comes back through opts. */
  ping(dstIp: number, opts: PingOptions): PingHandle {
    const ident = (opts.ident ?? this.nextPingIdent) & 0xffff;
    if (opts.ident === undefined) this.nextPingIdent = (this.nextPingIdent % 0xffff) + 1;
    const seq = opts.seq & 0xffff;
    const key = ident * 65536 + seq;
    const cancel = (): void => {
      const p = this.pings.get(key);
      if (p && p.opts === opts) {
        if (p.timer) this.clock.clearTimer(p.timer);
        this.pings.delete(key);
      }
    };
    this.guard(() => {
      const old = this.pings.get(key);
      if (old?.timer) this.clock.clearTimer(old.timer);
      const pending: PendingPing = { dstIp: dstIp >>> 0, sentAt: this.clock.now(), opts, timer: null };
      if (opts.timeoutMs !== undefined) {
        pending.timer = this.clock.setTimer(opts.timeoutMs, () => {
          pending.timer = null;
          cancel();
          opts.onError?.(socketError(Errno.ETIMEDOUT));
        });
      }
      this.pings.set(key, pending);
      const data = new Uint8Array(opts.payloadLen ?? 56);
      for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
      this.sendIcmp(dstIp >>> 0, { kind: 'echoRequest', ident, seq, data });
    });
    return { ident, seq, cancel };
  }

  /** Connections in the table (any state but CLOSED), like `ss -tan`. */
  tcpSockets(): TcpSocket[] {
    const out: TcpSocket[] = [];
    for (const m of this.tcpConns.values()) for (const s of m.values()) out.push(s);
    return out;
  }

  listeningPorts(): number[] {
    return [...this.tcpListeners.keys()];
  }

  /** The namespace goes away (pod deleted): connections are reset, sockets closed, frames ignored. */
  shutdown(): void {
    this.guard(() => {
      for (const s of this.tcpSockets()) {
        s.destroy();
        s.killTimeWait();
      }
      for (const l of [...this.tcpListeners.values()]) l.close();
      for (const u of [...this.udpSockets.values()]) u.close();
      for (const p of this.pings.values()) if (p.timer) this.clock.clearTimer(p.timer);
      this.pings.clear();
      if (this.arpTimer) this.clock.clearTimer(this.arpTimer);
      this.arpTimer = null;
      this.arpQueue = [];
      this.down = true;
    });
  }

  // ---- Receive -------------------------------------------------------------------

  /** An Ethernet frame arriving on eth0. Never throws on bad input: it is counted and dropped. */
  receive(frame: Uint8Array): void {
    if (this.down) return;
    if (this.depth > 0) {
      this.rxBacklog.push(frame.slice());
      if (!this.drainScheduled) {
        this.drainScheduled = true;
        this.clock.setTimer(0, () => this.drainBacklog());
      }
      return;
    }
    this.depth++;
    try {
      this.processFrame(frame, false);
    } finally {
      this.depth--;
    }
  }

  /** lo: traffic to our own address or 127/8 never touches eth0 (nor Cilium), as in Linux. */
  private loopback(frame: Uint8Array): void {
    writeMac(frame, ETH.DST, this.mac);
    this.stats.loopbackFrames++;
    this.clock.setTimer(0, () => {
      if (this.down) return;
      this.guard(() => this.processFrame(frame, true));
    });
  }

  private drainBacklog(): void {
    this.drainScheduled = false;
    const frames = this.rxBacklog;
    this.rxBacklog = [];
    for (const f of frames) this.receive(f);
  }

  private processFrame(frame: Uint8Array, fromLoopback: boolean): void {
    if (!fromLoopback) this.stats.rxFrames++;
    if (frame.length < ETH.HEADER_LEN) {
      this.stats.rxMalformed++;
      return;
    }
    const dstMac = readMac(frame, ETH.DST);
    if (dstMac !== this.mac && dstMac !== MAC_BROADCAST) {
      this.stats.rxNotForUs++;
      return;
    }
    const ethertype = readU16(frame, ETH.ETHERTYPE);
    if (ethertype === EtherType.IPv4) this.receiveIpv4(frame, dstMac, fromLoopback);
    else if (ethertype === EtherType.ARP) this.receiveArp(frame);
    else this.stats.rxUnknownEtherType++;
  }

  private countParseFailure(f: ParseFailure): void {
    if (f.error === ParseErrorCode.BadChecksum) this.stats.rxBadChecksum++;
    else this.stats.rxMalformed++;
  }

  private receiveIpv4(frame: Uint8Array, dstMac: number, fromLoopback: boolean): void {
    const ip = parseIpv4(frame, ETH.HEADER_LEN, frame.length - ETH.HEADER_LEN);
    if (isParseFailure(ip)) {
      this.countParseFailure(ip);
      return;
    }
    // 127/8 arriving on eth0 is a martian; only lo carries it.
    const forUs = ip.dst === this.ip || (fromLoopback && isLoopbackAddress(ip.dst));
    if (!forUs || dstMac !== this.mac) {
      this.stats.rxNotForUs++;
      return;
    }
    if (ip.isFragment) {
      this.stats.rxFragments++;
      return;
    }
    const l4Off = ETH.HEADER_LEN + (frame[ETH.HEADER_LEN]! & 0x0f) * 4;
    const l4Len = ip.payloadLen;
    switch (ip.protocol) {
      case IpProto.TCP:
        this.receiveTcp(frame, l4Off, l4Len, ip);
        return;
      case IpProto.UDP:
        this.receiveUdp(frame, l4Off, l4Len, ip);
        return;
      case IpProto.ICMP:
        this.receiveIcmp(frame, l4Off, l4Len, ip);
        return;
      default:
        this.stats.rxUnknownProtocol++;
        this.sendIcmpError(Icmpv4DstUnreachCode.ProtocolUnreachable, ip, frame, l4Off);
    }
  }

  private receiveTcp(frame: Uint8Array, off: number, len: number, ip: Ipv4Repr): void {
    const seg = parseTcp(frame, off, len, ip.src, ip.dst);
    if (isParseFailure(seg)) {
      this.countParseFailure(seg);
      return;
    }
    this.stats.tcpSegmentsIn++;
    if (seg.flags & TcpFlags.RST) this.stats.tcpRstIn++;
    const sock = this.tcpConns.get(seg.dstPort)?.get(remoteKey(ip.src, seg.srcPort));
    const listener = this.tcpListeners.get(seg.dstPort);
    if (sock && !(listener && sock.acceptsReopen(seg))) {
      sock.input(seg);
      return;
    }
    if (sock) sock.killTimeWait(); // a new SYN reuses a TIME_WAIT 4-tuple
    if (listener) {
      listener.input(seg, ip.src, ip.dst);
      return;
    }
    this.stats.tcpNoSocket++;
    this.sendReset(seg, ip.src, ip.dst);
  }

  private receiveUdp(frame: Uint8Array, off: number, len: number, ip: Ipv4Repr): void {
    const dgram = parseUdp(frame, off, len, ip.src, ip.dst);
    if (isParseFailure(dgram)) {
      this.countParseFailure(dgram);
      return;
    }
    this.stats.udpDatagramsIn++;
    const sock = this.udpSockets.get(dgram.dstPort);
    if (!sock || !sock.accepts(ip.src, dgram.srcPort)) {
      this.stats.udpNoPort++;
      this.sendIcmpError(Icmpv4DstUnreachCode.PortUnreachable, ip, frame, off);
      return;
    }
    sock.deliver(dgram.payload, ip.src, dgram.srcPort);
  }

  private receiveIcmp(frame: Uint8Array, off: number, len: number, ip: Ipv4Repr): void {
    const msg = parseIcmpv4(frame, off, len);
    if (isParseFailure(msg)) {
      // Types we do not handle (timestamp, redirect, ...) are not malformed, just ignored.
      if (msg.error !== ParseErrorCode.Unsupported) this.countParseFailure(msg);
      return;
    }
    this.stats.icmpIn++;
    switch (msg.kind) {
      case 'echoRequest':
        this.stats.icmpEchoRepliesSent++;
        this.sendIcmp(ip.src, { kind: 'echoReply', ident: msg.ident, seq: msg.seq, data: msg.data }, ip.dst);
        return;
      case 'echoReply': {
        const key = msg.ident * 65536 + msg.seq;
        const p = this.pings.get(key);
        if (!p || p.dstIp !== ip.src) return;
        if (p.timer) this.clock.clearTimer(p.timer);
        this.pings.delete(key);
        p.opts.onReply(this.clock.now() - p.sentAt, ip.ttl);
        return;
      }
      case 'dstUnreachable':
      case 'timeExceeded': {
        this.stats.icmpErrorsIn++;
        const verdict =
          msg.kind === 'dstUnreachable' ? unreachableErrno(msg.code) : { errno: Errno.EHOSTUNREACH, fatal: false };
        this.icmpErrorToSocket(msg.header, msg.data, verdict.errno, verdict.fatal);
        return;
      }
    }
  }

  /** Finds the socket an ICMP error is about from the quoted header and first 8 bytes (tcp_v4_err, udp_err, ping_err). */
  private icmpErrorToSocket(inner: Ipv4Repr, quoted: Uint8Array, errno: number, fatal: boolean): void {
    if (inner.src !== this.ip || quoted.length < 8) return;
    const srcPort = readU16(quoted, 0);
    const dstPort = readU16(quoted, 2);
    switch (inner.protocol) {
      case IpProto.TCP: {
        const sock = this.tcpConns.get(srcPort)?.get(remoteKey(inner.dst, dstPort));
        const seq = ((quoted[4]! << 24) | (quoted[5]! << 16) | (quoted[6]! << 8) | quoted[7]!) >>> 0;
        sock?.icmpError(errno, fatal, seq);
        return;
      }
      case IpProto.UDP:
        this.udpSockets.get(srcPort)?.icmpError(errno, fatal, inner.dst, dstPort);
        return;
      case IpProto.ICMP: {
        if (quoted[0] !== Icmpv4Type.EchoRequest) return;
        const key = readU16(quoted, 4) * 65536 + readU16(quoted, 6);
        const p = this.pings.get(key);
        if (!p || p.dstIp !== inner.dst) return;
        if (p.timer) this.clock.clearTimer(p.timer);
        this.pings.delete(key);
        p.opts.onError?.(socketError(errno));
        return;
      }
      default:
        return;
    }
  }

  private receiveArp(frame: Uint8Array): void {
    const arp = parseArp(frame, ETH.HEADER_LEN, frame.length - ETH.HEADER_LEN);
    if (isParseFailure(arp)) {
      this.countParseFailure(arp);
      return;
    }
    if (arp.spa === this.gatewayIp && arp.sha !== 0) this.learnGateway(arp.sha);
    if (arp.op !== ArpOp.Request || arp.tpa !== this.ip) return;
    const reply = new Uint8Array(ETH.HEADER_LEN + ARP.LEN);
    writeMac(reply, ETH.DST, arp.sha);
    writeMac(reply, ETH.SRC, this.mac);
    writeU16(reply, ETH.ETHERTYPE, EtherType.ARP);
    emitArp({ op: ArpOp.Reply, sha: this.mac, spa: this.ip, tha: arp.sha, tpa: arp.spa }, reply, ETH.HEADER_LEN);
    this.stats.arpRepliesSent++;
    this.txFrame(reply);
  }

  // ---- Transmit ------------------------------------------------------------------

  /** A TCP segment from a socket (or a stateless RST). */
  sendTcp(repr: TcpRepr, srcIp: number, dstIp: number): void {
    if (this.down) return;
    const l4Len = tcpSegmentLen(repr);
    const frame = this.newIpv4Frame(srcIp, dstIp, IpProto.TCP, l4Len);
    emitTcp(repr, frame, FRAME_HEADERS, srcIp, dstIp);
    this.stats.tcpSegmentsOut++;
    this.route(frame);
  }

  /** A datagram from a UDP socket. Bytes sent or -EMSGSIZE (no fragmentation here). */
  sendUdp(srcPort: number, dstIp: number, dstPort: number, payload: Uint8Array): number {
    if (this.down) return -Errno.ENETUNREACH;
    if (payload.length > this.mtu - IPV4.MIN_HEADER_LEN - UDP.HEADER_LEN) return -Errno.EMSGSIZE;
    const l4Len = UDP.HEADER_LEN + payload.length;
    const srcIp = this.sourceAddressFor(dstIp);
    const frame = this.newIpv4Frame(srcIp, dstIp, IpProto.UDP, l4Len);
    emitUdp({ srcPort, dstPort, payload }, frame, FRAME_HEADERS, srcIp, dstIp);
    this.stats.udpDatagramsOut++;
    this.route(frame);
    return payload.length;
  }

  /** RST for a segment nobody owns (RFC 9293 "reset generation"). */
  sendReset(seg: TcpRepr, peerIp: number, localIp: number): void {
    if (seg.flags & TcpFlags.RST) return;
    const segLen = seg.payload.length + (seg.flags & TcpFlags.SYN ? 1 : 0) + (seg.flags & TcpFlags.FIN ? 1 : 0);
    const hasAck = (seg.flags & TcpFlags.ACK) !== 0;
    this.stats.tcpRstOut++;
    this.sendTcp(
      {
        srcPort: seg.dstPort,
        dstPort: seg.srcPort,
        seq: hasAck ? seg.ack : 0,
        ack: hasAck ? 0 : (seg.seq + segLen) >>> 0,
        flags: hasAck ? TcpFlags.RST : TcpFlags.RST | TcpFlags.ACK,
        window: 0,
        options: {},
        payload: new Uint8Array(0),
      },
      localIp,
      peerIp,
    );
  }

  private sendIcmp(dstIp: number, msg: Icmpv4Repr, srcIp = this.sourceAddressFor(dstIp)): void {
    if (this.down) return;
    const l4Len = icmpv4Len(msg);
    const frame = this.newIpv4Frame(srcIp, dstIp, IpProto.ICMP, l4Len, msg.kind === 'echoRequest');
    emitIcmpv4(msg, frame, FRAME_HEADERS);
    this.stats.icmpOut++;
    this.route(frame);
  }

  /** Destination unreachable quoting the offending packet's header and as much payload as fits in 576 bytes. */
  private sendIcmpError(code: number, offender: Ipv4Repr, frame: Uint8Array, l4Off: number): void {
    const innerHeaderLen = l4Off - ETH.HEADER_LEN;
    const room = ICMP_ERROR_MAX_BYTES - IPV4.MIN_HEADER_LEN - ICMP.HEADER_LEN - innerHeaderLen;
    const quoted = frame.subarray(l4Off, l4Off + Math.min(offender.payloadLen, room));
    this.sendIcmp(offender.src, { kind: 'dstUnreachable', code, header: offender, data: quoted }, offender.dst);
  }

  /**
   * A frame with Ethernet (destination filled in by route) and IPv4 headers
   * written. DF is set as Linux does for sockets (path MTU discovery); the
   * kernel's own ICMP replies and errors go without it.
   */
  private newIpv4Frame(srcIp: number, dstIp: number, protocol: number, l4Len: number, dontFragment = true): Uint8Array {
    const frame = new Uint8Array(FRAME_HEADERS + l4Len);
    writeMac(frame, ETH.SRC, this.mac);
    writeU16(frame, ETH.ETHERTYPE, EtherType.IPv4);
    const r = this.ipRepr;
    r.src = srcIp;
    r.dst = dstIp;
    r.protocol = protocol;
    r.payloadLen = l4Len;
    r.ident = this.ipIdent;
    r.dontFragment = dontFragment;
    this.ipIdent = (this.ipIdent + 1) & 0xffff;
    emitIpv4(r, frame, ETH.HEADER_LEN);
    return frame;
  }

  /** Local addresses go to lo; the default route sends everything else to the gateway's MAC (ARP if needed). */
  private route(frame: Uint8Array): void {
    const dst = readU32(frame, ETH.HEADER_LEN + IPV4.DST);
    if (dst === this.ip || isLoopbackAddress(dst)) {
      this.loopback(frame);
      return;
    }
    if (this.gwMac !== undefined) {
      writeMac(frame, ETH.DST, this.gwMac);
      this.txFrame(frame);
      return;
    }
    if (this.arpQueue.length >= ARP_QUEUE_LIMIT) {
      this.arpQueue.shift();
      this.stats.arpDrops++;
    }
    this.arpQueue.push(frame);
    if (!this.arpTimer) {
      this.arpProbes = 0;
      this.sendArpRequest();
    }
  }

  private sendArpRequest(): void {
    this.arpProbes++;
    const req = new Uint8Array(ETH.HEADER_LEN + ARP.LEN);
    writeMac(req, ETH.DST, MAC_BROADCAST);
    writeMac(req, ETH.SRC, this.mac);
    writeU16(req, ETH.ETHERTYPE, EtherType.ARP);
    emitArp({ op: ArpOp.Request, sha: this.mac, spa: this.ip, tha: 0, tpa: this.gatewayIp }, req, ETH.HEADER_LEN);
    this.stats.arpRequestsSent++;
    this.txFrame(req);
    this.arpTimer = this.clock.setTimer(ARP_RETRANS_MS, () => {
      this.arpTimer = null;
      if (this.gwMac !== undefined) return;
      if (this.arpProbes < ARP_PROBES) {
        this.sendArpRequest();
        return;
      }
      // Unresolved: drop what waited; the next packet starts a new resolution.
      this.stats.arpDrops += this.arpQueue.length;
      this.arpQueue = [];
    });
  }

  private learnGateway(mac: number): void {
    this.gwMac = mac;
    if (this.arpTimer) {
      this.clock.clearTimer(this.arpTimer);
      this.arpTimer = null;
    }
    const queued = this.arpQueue;
    this.arpQueue = [];
    for (const f of queued) {
      writeMac(f, ETH.DST, mac);
      this.txFrame(f);
    }
  }

  private txFrame(frame: Uint8Array): void {
    this.stats.txFrames++;
    this.transmitFrame(frame);
  }

  // ---- Host services for sockets -------------------------------------------------

  runSockHook(hook: SockAddrHookName, cookie: number, protocol: number, ip: number, port: number): HookResult {
    const fn = this.hooks[hook];
    if (!fn) return { rc: 0, ip, port };
    const ctx: SockAddrCtx = {
      userIp4: ip,
      userPort: port,
      protocol,
      socketCookie: cookie,
      netnsCookie: this.netnsCookie,
      srcIp4: this.ip,
    };
    const rc = fn.call(this.hooks, ctx);
    return { rc, ip: ctx.userIp4 >>> 0, port: ctx.userPort & 0xffff };
  }

  peerNameOf(sock: TcpSocket): { ip: number; port: number } {
    const hook = this.runSockHook('getpeername4', sock.cookie, IpProto.TCP, sock.remoteIp, sock.remotePort);
    return hook.rc < 0 ? { ip: sock.remoteIp, port: sock.remotePort } : { ip: hook.ip, port: hook.port };
  }

  createPassiveSocket(listener: TcpListener, srcIp: number, srcPort: number, dstIp: number): TcpSocket | null {
    const sock = new TcpSocket(this, this.cookies.take(), dstIp);
    sock.localPort = listener.port;
    sock.remoteIp = srcIp;
    sock.remotePort = srcPort;
    this.registerTcp(sock);
    return sock;
  }

  unregisterTcp(sock: TcpSocket): void {
    const m = this.tcpConns.get(sock.localPort);
    const key = remoteKey(sock.remoteIp, sock.remotePort);
    if (m?.get(key) !== sock) return;
    m.delete(key);
    if (m.size === 0) this.tcpConns.delete(sock.localPort);
  }

  unregisterListener(listener: TcpListener): void {
    if (this.tcpListeners.get(listener.port) === listener) this.tcpListeners.delete(listener.port);
  }

  unregisterUdp(sock: UdpSocket): void {
    if (this.udpSockets.get(sock.localPort) === sock) this.udpSockets.delete(sock.localPort);
  }

  guard(fn: () => void): void {
    this.depth++;
    try {
      fn();
    } finally {
      this.depth--;
    }
  }

  defer(fn: () => void): void {
    this.clock.setTimer(0, () => this.guard(fn));
  }

  /** Source address Linux would pick: 127.0.0.1 on lo's 127/8 route, else eth0's address. */
  sourceAddressFor(dstIp: number): number {
    return isLoopbackAddress(dstIp) ? LOOPBACK_IP : this.ip;
  }

  private registerTcp(sock: TcpSocket): void {
    let m = this.tcpConns.get(sock.localPort);
    if (!m) {
      m = new Map();
      this.tcpConns.set(sock.localPort, m);
    }
    m.set(remoteKey(sock.remoteIp, sock.remotePort), sock);
  }

  /** A free port in Linux's ephemeral range, probing from a random start; 0 when all are taken. */
  private allocatePort(inUse: (port: number) => boolean): number {
    const span = EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1;
    const start = this.rng.below(span);
    for (let i = 0; i < span; i++) {
      const p = EPHEMERAL_PORT_MIN + ((start + i) % span);
      if (!inUse(p)) return p;
    }
    return 0;
  }
}
