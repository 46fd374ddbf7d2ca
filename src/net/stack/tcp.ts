// TCP sockets (RFC 9293) with Linux's choices where the RFC leaves room:
// SYN options and their order, RTO bounds and backoff, SYN retry schedule,
// TIME_WAIT length, RST errors. Event driven and Promise free, so a run on
// the virtual clock is deterministic.
//
// Choices worth knowing:
// - Out-of-order segments inside the window are queued and reported with
//   SACK blocks; the sender side ignores SACK and recovers with NewReno
//   (3 duplicate ACKs → fast retransmit) and go-back-N after an RTO.
// - Received data goes to onData at once, so the advertised window never
//   shrinks; there is no Nagle (as with TCP_NODELAY) and no keepalive.
// - No PAWS check, no urgent data, no path-MTU discovery.

import type { Clock } from '../../util/clock.js';
import type { Rng } from '../../util/rng.js';
import { TcpFlags, type TcpOptions, type TcpRepr } from '../../packet/tcp.js';
import { Errno, socketError, type SocketError } from './errno.js';
import { LazyTimer } from './lazy-timer.js';
import { SendBuffer } from './send-buffer.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq.js';
import type { StackStats, TcpConfig } from './types.js';

export type TcpState =
  | 'CLOSED'
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT';

/** What a socket needs from its stack; NetStack implements it. */
export interface TcpHost {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly tcpConfig: TcpConfig;
  readonly stats: StackStats;
  /** MSS we announce: MTU - 40. */
  readonly advertisedMss: number;
  sendTcp(repr: TcpRepr, srcIp: number, dstIp: number): void;
  unregisterTcp(sock: TcpSocket): void;
  peerNameOf(sock: TcpSocket): { ip: number; port: number };
  /** Runs fn as one stack operation: frames delivered re-entrantly wait until it ends. */
  guard(fn: () => void): void;
  /** Runs fn on the next tick of the clock (events the caller must not see before the call returns). */
  defer(fn: () => void): void;
}

const FIN = TcpFlags.FIN, SYN = TcpFlags.SYN, RST = TcpFlags.RST, PSH = TcpFlags.PSH, ACK = TcpFlags.ACK;
const EMPTY = new Uint8Array(0);
const NO_OPTIONS: TcpOptions = {};
/** RFC 9293 default when the peer sends no MSS option. */
const DEFAULT_PEER_MSS = 536;
const TS_OPTION_BYTES = 12;
const MAX_WINDOW_SHIFT = 14;
const INVALID_ACK_INTERVAL_MS = 500;

function noop(): void {}

interface OutOfOrderSegment {
  seq: number;
  data: Uint8Array;
  fin: boolean;
}

export class TcpSocket {
  readonly cookie: number;
  localIp: number;
  localPort = 0;
  remoteIp = 0;
  remotePort = 0;

  /** The handshake completed (active open). */
  onConnect: () => void = noop;
  /** In-order bytes from the peer; the array is the app's to keep. */
  onData: (bytes: Uint8Array) => void = noop;
  /** The peer sent FIN: no more data will come. */
  onEnd: () => void = noop;
  /** The connection is over for the app (CLOSED or TIME_WAIT); err when it failed. Fires once. */
  onClose: (err?: SocketError) => void = noop;
  /** The send queue fell below sndBufBytes after write() returned false. */
  onDrain: () => void = noop;

  /** Why the socket closed, when it failed. */
  error: SocketError | undefined;
  bytesRead = 0;
  bytesWritten = 0;

  private st: TcpState = 'CLOSED';
  private readonly host: TcpHost;
  private readonly cfg: TcpConfig;
  /** The listener that spawned this socket, until the handshake completes. */
  private listener: TcpListener | undefined;

  // Send sequence space.
  private iss = 0;
  private sndUna = 0;
  private sndNxt = 0;
  /** Highest sequence sent: sndNxt goes back to sndUna on an RTO (go-back-N), this does not. */
  private sndMax = 0;
  private sndWnd = 0;
  private maxSndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  // Receive sequence space.
  private irs = 0;
  private rcvNxt = 0;

  // Negotiated on the handshake.
  private mss = DEFAULT_PEER_MSS;
  private sndWscale = 0;
  private rcvWscale = 0;
  private wscaleOn = false;
  private tsOn = false;
  private sackOn = false;
  private tsRecent = 0;
  private tsOffset = 0;

  private readonly sendBuf = new SendBuffer();
  /** Sequence number of sendBuf's first byte. */
  private bufSeq = 0;
  private finQueued = false;
  /** Sequence number our FIN occupies (valid once finQueued). */
  private finSeq = 0;
  private finReceived = false;
  private writeBlocked = false;
  private orphaned = false;
  private closeNotified = false;

  private ooo: OutOfOrderSegment[] = [];
  private oooBytes = 0;

  // Retransmission (RFC 6298 with Linux's floor: RTO = SRTT + max(4*RTTVAR, 200 ms)).
  private readonly rtxTimer: LazyTimer;
  private readonly ackTimer: LazyTimer;
  private rto: number;
  private srtt = 0;
  private rttvar = 0;
  private retries = 0;
  /** Karn timing when timestamps are off: sequence that completes the timed segment, -1 when none. */
  private rttSeq = -1;
  private rttStart = 0;
  private softError = 0;

  // Congestion control (RFC 5681 / NewReno RFC 6582).
  private cwnd = 0;
  private ssthresh = 0x7fffffff;
  private dupAcks = 0;
  private inRecovery = false;
  private recoverSeq = 0;

  // ACK policy.
  private segsSinceAck = 0;
  private ackNow = false;
  private invalidAckAt = -Infinity;

  // Reused for every segment we send.
  private readonly repr: TcpRepr;
  private readonly tsOption = { value: 0, echo: 0 };
  private readonly tsOptions: TcpOptions = { timestamp: this.tsOption };

  constructor(host: TcpHost, cookie: number, localIp: number) {
    this.host = host;
    this.cfg = host.tcpConfig;
    this.cookie = cookie;
    this.localIp = localIp;
    this.rto = this.cfg.initialRtoMs;
    this.rtxTimer = new LazyTimer(host.clock, () => host.guard(() => this.onRtxTimer()));
    this.ackTimer = new LazyTimer(host.clock, () => host.guard(() => this.sendAck()));
    this.repr = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, options: {}, payload: EMPTY };
  }

  get state(): TcpState {
    return this.st;
  }

  /** A method, not a comparison, so checks after app callbacks are not narrowed away. */
  private isClosed(): boolean {
    return this.st === 'CLOSED';
  }

  /** Payload bytes per segment we send: min(peer MSS, ours) minus the timestamp option. */
  get sendMss(): number {
    return this.mss;
  }

  /** Current retransmission timeout, ms. */
  get currentRto(): number {
    return this.rto;
  }

  /** Bytes written but not yet acknowledged. */
  get bufferedAmount(): number {
    return this.sendBuf.length;
  }

  /** getpeername(): through the socket-LB hook, so a service client sees the service address. */
  peerName(): { ip: number; port: number } {
    return this.host.peerNameOf(this);
  }

  /** Queues bytes; false when the queue is above sndBufBytes (keep writing is allowed, onDrain says when it is low again) or the socket cannot send any more. */
  write(bytes: Uint8Array): boolean {
    if (this.finQueued || !this.isOpenForWrite()) return false;
    if (bytes.length === 0) return true;
    this.host.guard(() => {
      this.sendBuf.append(bytes);
      this.bytesWritten += bytes.length;
      this.output();
    });
    const ok = this.sendBuf.length < this.cfg.sndBufBytes;
    if (!ok) this.writeBlocked = true;
    return ok;
  }

  /** Half-close (shutdown(SHUT_WR)): FIN follows the queued data; data from the peer still arrives. */
  end(): void {
    if (this.finQueued || !this.isOpenForWrite()) return;
    this.host.guard(() => {
      this.finQueued = true;
      this.finSeq = seqAdd(this.bufSeq, this.sendBuf.length);
      if (this.st === 'ESTABLISHED') this.st = 'FIN_WAIT_1';
      else if (this.st === 'CLOSE_WAIT') this.st = 'LAST_ACK';
      this.output();
    });
  }

  /**
   * close(): like end(), and the app reads no more. Data arriving afterwards
   * is answered with RST, and FIN_WAIT_2 lasts at most finWait2TimeoutMs.
   */
  close(): void {
    if (this.st === 'SYN_SENT' || this.st === 'SYN_RECEIVED') {
      this.destroy();
      return;
    }
    this.end();
    this.orphaned = true;
    this.onData = noop;
    this.onEnd = noop;
    if (this.st === 'FIN_WAIT_2') this.rtxTimer.arm(this.cfg.finWait2TimeoutMs);
  }

  /** Abort (close with SO_LINGER 0): RST to the peer unless the handshake never completed. */
  destroy(): void {
    if (this.st === 'CLOSED' || this.st === 'TIME_WAIT') return;
    this.host.guard(() => {
      if (this.st !== 'SYN_SENT') this.sendRstFromSocket();
      this.teardown();
      this.host.defer(() => this.notifyClose(undefined));
    });
  }

  // ---- Opening -------------------------------------------------------------------

  /** Active open: sends the SYN. The stack registered the 4-tuple already. */
  startConnect(): void {
    this.st = 'SYN_SENT';
    this.initSendSpace();
    this.tsOffset = this.host.rng.u32();
    this.rttStart = this.host.clock.now();
    this.sendSyn();
    this.rtxTimer.arm(this.rto);
  }

  /** connect() failed before a SYN left (hook verdict, no free port): onClose(err) on the next tick. */
  failConnect(errno: number): void {
    this.st = 'CLOSED';
    const err = socketError(errno);
    this.error = err;
    this.host.defer(() => this.notifyClose(err));
  }

  /** Passive open from a listener's SYN: sends the SYN-ACK. */
  startPassive(listener: TcpListener, syn: TcpRepr): void {
    this.listener = listener;
    this.st = 'SYN_RECEIVED';
    this.irs = syn.seq;
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.negotiate(syn.options);
    this.initSendSpace();
    this.tsOffset = this.host.rng.u32();
    this.sndWnd = syn.window;
    this.sndWl1 = syn.seq;
    this.rttStart = this.host.clock.now();
    this.sendSyn();
    this.rtxTimer.arm(this.rto);
  }

  /** A SYN that may reuse this TIME_WAIT 4-tuple (Linux accepts one whose sequence is past ours). */
  acceptsReopen(seg: TcpRepr): boolean {
    return this.st === 'TIME_WAIT' && (seg.flags & (SYN | ACK | RST)) === SYN && seqGt(seg.seq, this.rcvNxt);
  }

  /** Ends TIME_WAIT early (the 4-tuple is being reused). */
  killTimeWait(): void {
    if (this.st === 'TIME_WAIT') this.teardown();
  }

  /** Drops a half-open connection (listener closed). */
  abortHalfOpen(): void {
    if (this.st !== 'SYN_RECEIVED') return;
    this.sendRstFromSocket();
    this.teardown();
  }

  private initSendSpace(): void {
    this.iss = this.host.rng.u32();
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    this.bufSeq = this.sndNxt;
  }

  private negotiate(o: TcpOptions): void {
    this.wscaleOn = this.cfg.windowScale >= 0 && o.windowScale !== undefined;
    this.sndWscale = this.wscaleOn ? Math.min(o.windowScale ?? 0, MAX_WINDOW_SHIFT) : 0;
    this.rcvWscale = this.wscaleOn ? this.cfg.windowScale : 0;
    this.tsOn = this.cfg.timestamps && o.timestamp !== undefined;
    if (o.timestamp) this.tsRecent = o.timestamp.value;
    this.sackOn = this.cfg.sack && o.sackPermitted === true;
    const peerMss = o.mss ?? DEFAULT_PEER_MSS;
    this.mss = Math.max(Math.min(peerMss, this.host.advertisedMss) - (this.tsOn ? TS_OPTION_BYTES : 0), 1);
    this.cwnd = this.cfg.initialCwndSegments * this.mss;
  }

  private sendSyn(): void {
    const passive = this.st === 'SYN_RECEIVED';
    const opts: TcpOptions = { mss: this.host.advertisedMss };
    // A SYN-ACK only echoes what the peer's SYN offered (RFC 7323, RFC 2018).
    if (passive ? this.sackOn : this.cfg.sack) opts.sackPermitted = true;
    if (passive ? this.tsOn : this.cfg.timestamps) {
      opts.timestamp = { value: this.tsNow(), echo: passive ? this.tsRecent : 0 };
    }
    if (passive ? this.wscaleOn : this.cfg.windowScale >= 0) opts.windowScale = this.cfg.windowScale;
    const r = this.repr;
    r.srcPort = this.localPort;
    r.dstPort = this.remotePort;
    r.seq = this.iss;
    r.ack = passive ? this.rcvNxt : 0;
    r.flags = passive ? SYN | ACK : SYN;
    // Like Linux: the window of a SYN is unscaled, a multiple of the MSS below 64 KiB.
    const mss = this.host.advertisedMss;
    r.window = Math.min(Math.floor(65535 / mss) * mss, this.cfg.rcvBufBytes);
    r.options = opts;
    r.payload = EMPTY;
    this.host.sendTcp(r, this.localIp, this.remoteIp);
    if (passive) this.clearAckState();
  }

  // ---- Input ---------------------------------------------------------------------

  /** A segment for this socket's 4-tuple (checksum already verified). */
  input(seg: TcpRepr): void {
    if (this.isClosed()) return;
    if (this.st === 'SYN_SENT') {
      this.inputSynSent(seg);
    } else {
      this.inputSynchronized(seg);
    }
    if (!this.isClosed()) this.flushAck();
  }

  private inputSynSent(seg: TcpRepr): void {
    const f = seg.flags;
    if (f & ACK && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      if (!(f & RST)) this.sendRawRst(seg.ack, 0, RST);
      return;
    }
    if (f & RST) {
      if (f & ACK) this.fail(Errno.ECONNREFUSED);
      return;
    }
    if (!(f & SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.negotiate(seg.options);
    if (!(f & ACK)) {
      // Simultaneous open: both sides sent SYN.
      this.st = 'SYN_RECEIVED';
      this.sendSyn();
      this.rtxTimer.arm(this.rto);
      return;
    }
    this.sndUna = seg.ack;
    this.sampleHandshakeRtt(seg);
    this.sndWnd = seg.window; // never scaled on a SYN
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    this.rtxTimer.cancel();
    this.retries = 0;
    this.st = 'ESTABLISHED';
    this.ackNow = true;
    this.established();
  }

  private inputSynchronized(seg: TcpRepr): void {
    const f = seg.flags;
    const segLen = seg.payload.length + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);

    if (this.st === 'SYN_RECEIVED' && (f & (SYN | ACK | RST)) === SYN && seg.seq === this.irs) {
      this.sendSyn(); // the peer repeated its SYN: our SYN-ACK was lost
      return;
    }

    if (!this.seqAcceptable(seg.seq, segLen)) {
      if (!(f & RST)) {
        this.ackInvalid();
        if (this.st === 'TIME_WAIT' && f & FIN) this.rtxTimer.arm(this.cfg.timeWaitMs);
      }
      return;
    }

    if (f & RST) {
      // RFC 5961: only an exact hit resets; an in-window guess gets a challenge ACK.
      if (seg.seq !== this.rcvNxt) {
        this.ackInvalid();
        return;
      }
      this.onReset();
      return;
    }

    if (f & SYN) {
      this.ackInvalid(); // RFC 5961 challenge ACK
      return;
    }

    if (!(f & ACK)) return;

    if (this.st === 'SYN_RECEIVED') {
      if (!seqGt(seg.ack, this.sndUna) || seqGt(seg.ack, this.sndMax)) {
        this.sendRawRst(seg.ack, 0, RST);
        return;
      }
      this.sndUna = seg.ack;
      this.sampleHandshakeRtt(seg);
      this.sndWnd = seg.window << this.sndWscale;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.rtxTimer.cancel();
      this.retries = 0;
      this.st = 'ESTABLISHED';
      this.established();
      if (this.isClosed()) return;
    } else if (!this.processAck(seg, segLen)) {
      return;
    }

    if (f & FIN || seg.payload.length > 0) this.receiveData(seg);
    if (this.isClosed()) return;
    this.output();
  }

  /** RFC 9293 acceptability test against the window we advertised. */
  private seqAcceptable(seq: number, segLen: number): boolean {
    const wnd = this.rcvWindowBytes();
    const off = seqDiff(seq, this.rcvNxt);
    if (segLen === 0) return wnd === 0 ? off === 0 : off >= 0 && off < wnd;
    if (wnd === 0) return false;
    const lastOff = off + segLen - 1;
    return (off >= 0 && off < wnd) || (lastOff >= 0 && lastOff < wnd);
  }

  private onReset(): void {
    switch (this.st) {
      case 'SYN_RECEIVED':
        if (this.listener) {
          this.dropHalfOpen();
        } else {
          this.fail(Errno.ECONNREFUSED);
        }
        return;
      case 'CLOSE_WAIT':
        this.fail(Errno.EPIPE);
        return;
      case 'CLOSING':
      case 'LAST_ACK':
      case 'TIME_WAIT':
        this.teardown();
        this.notifyClose(undefined);
        return;
      default:
        this.fail(Errno.ECONNRESET);
    }
  }

  /** The ACK half of a segment in a synchronized state; false when the segment must be dropped. */
  private processAck(seg: TcpRepr, segLen: number): boolean {
    if (seqGt(seg.ack, this.sndMax)) {
      this.ackInvalid(); // acknowledges something we never sent
      return false;
    }
    const newWnd = seg.window << this.sndWscale;
    if (seqGt(seg.ack, this.sndUna)) {
      this.onNewAck(seg);
    } else if (
      seg.ack === this.sndUna &&
      segLen === 0 &&
      newWnd === this.sndWnd &&
      this.sndMax !== this.sndUna
    ) {
      this.onDupAck();
    }
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, seg.ack))) {
      this.sndWnd = newWnd;
      if (newWnd > this.maxSndWnd) this.maxSndWnd = newWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
    }
    if (this.tsOn && seg.options.timestamp && seqLe(seg.seq, this.rcvNxt)) {
      this.tsRecent = seg.options.timestamp.value;
    }

    const finAcked = this.finQueued && seqGt(this.sndUna, this.finSeq);
    if (finAcked) {
      switch (this.st) {
        case 'FIN_WAIT_1':
          this.st = 'FIN_WAIT_2';
          if (this.orphaned) this.rtxTimer.arm(this.cfg.finWait2TimeoutMs);
          break;
        case 'CLOSING':
          this.enterTimeWait();
          return false;
        case 'LAST_ACK':
          this.teardown();
          this.notifyClose(undefined);
          return false;
        default:
          break;
      }
    }
    return true;
  }

  private onNewAck(seg: TcpRepr): void {
    const acked = seqDiff(seg.ack, this.sndUna);
    this.sampleRtt(seg);
    const dataAckedTo = this.finQueued && seqGt(seg.ack, this.finSeq) ? this.finSeq : seg.ack;
    const consumed = seqDiff(dataAckedTo, this.bufSeq);
    if (consumed > 0) {
      this.sendBuf.consume(consumed);
      this.bufSeq = dataAckedTo;
    }
    this.sndUna = seg.ack;
    if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
    this.retries = 0;
    this.rto = this.computeRto();

    if (this.inRecovery) {
      if (seqGe(seg.ack, this.recoverSeq)) {
        this.inRecovery = false;
        this.cwnd = Math.min(this.ssthresh, Math.max(seqDiff(this.sndMax, this.sndUna), 0) + this.mss);
      } else {
        // NewReno partial ACK: the next hole is lost too.
        this.retransmitHead();
        this.cwnd = Math.max(this.cwnd - acked + this.mss, this.mss);
      }
    } else if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, this.mss);
    } else {
      this.cwnd += Math.max(1, Math.floor((this.mss * this.mss) / this.cwnd));
    }
    this.dupAcks = 0;

    if (this.sndUna === this.sndMax) this.rtxTimer.cancel();
    else this.rtxTimer.arm(this.rto);

    if (this.writeBlocked && this.sendBuf.length < this.cfg.sndBufBytes) {
      this.writeBlocked = false;
      this.onDrain();
    }
  }

  private onDupAck(): void {
    this.dupAcks++;
    if (this.inRecovery) {
      this.cwnd += this.mss; // each dup ACK means a segment left the network
      return;
    }
    if (this.dupAcks === 3) {
      const flight = seqDiff(this.sndMax, this.sndUna);
      this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
      this.inRecovery = true;
      this.recoverSeq = this.sndMax;
      this.retransmitHead();
      this.cwnd = this.ssthresh + 3 * this.mss;
    }
  }

  private receiveData(seg: TcpRepr): void {
    if (this.st !== 'ESTABLISHED' && this.st !== 'FIN_WAIT_1' && this.st !== 'FIN_WAIT_2') {
      // After the peer's FIN only retransmissions can arrive: acknowledge them again.
      this.ackNow = true;
      if (this.st === 'TIME_WAIT') this.rtxTimer.arm(this.cfg.timeWaitMs);
      return;
    }
    let seq = seg.seq;
    let data = seg.payload;
    let fin = (seg.flags & FIN) !== 0;
    const head = seqDiff(this.rcvNxt, seq);
    if (head > 0) {
      if (fin && seqLt(seqAdd(seq, data.length), this.rcvNxt)) fin = false;
      data = data.subarray(Math.min(head, data.length));
      seq = this.rcvNxt;
    }
    const room = this.rcvWindowBytes() - seqDiff(seq, this.rcvNxt);
    if (data.length > room) {
      data = data.subarray(0, Math.max(room, 0));
      fin = false;
    }
    if (data.length === 0 && !fin) {
      this.ackNow = true; // a pure duplicate: tell the sender where we are
      return;
    }
    if (this.orphaned && data.length > 0) {
      // Linux: data for a socket the app closed aborts it (TCPAbortOnData).
      this.sendRstFromSocket();
      this.teardown();
      this.notifyClose(undefined);
      return;
    }
    if (seq !== this.rcvNxt) {
      this.queueOutOfOrder(seq, data, fin);
      this.ackNow = true; // duplicate ACK with SACK blocks drives the sender's fast retransmit
      return;
    }
    // Decide the ACK before delivering: a reply the app writes from onData carries it.
    if (this.ooo.length > 0) this.ackNow = true;
    else this.segsSinceAck++;
    this.deliver(data, fin);
    while (this.ooo.length > 0 && !this.isClosed() && !this.finReceived) {
      const next = this.ooo[0]!;
      if (seqGt(next.seq, this.rcvNxt)) break;
      this.ooo.shift();
      this.oooBytes -= next.data.length;
      const skip = seqDiff(this.rcvNxt, next.seq);
      if (skip > next.data.length) continue;
      this.deliver(next.data.subarray(skip), next.fin);
    }
  }

  private deliver(data: Uint8Array, fin: boolean): void {
    if (data.length > 0) {
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
      this.bytesRead += data.length;
      this.onData(data.slice());
      if (this.isClosed()) return;
    }
    if (fin) this.receiveFin();
  }

  private receiveFin(): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.finReceived = true;
    this.ackNow = true;
    this.ooo.length = 0;
    this.oooBytes = 0;
    if (this.st === 'ESTABLISHED') this.st = 'CLOSE_WAIT';
    else if (this.st === 'FIN_WAIT_1') this.st = 'CLOSING';
    this.onEnd();
    // Both directions are done: TIME_WAIT after the app heard about the FIN.
    if (this.st === 'FIN_WAIT_2') this.enterTimeWait();
  }

  private queueOutOfOrder(seq: number, data: Uint8Array, fin: boolean): void {
    this.host.stats.tcpOutOfOrder++;
    if (this.oooBytes + data.length > this.cfg.rcvBufBytes) return;
    let i = this.ooo.length;
    while (i > 0 && seqGt(this.ooo[i - 1]!.seq, seq)) i--;
    const prev = this.ooo[i - 1];
    if (prev && prev.seq === seq && prev.data.length >= data.length) return; // duplicate
    this.ooo.splice(i, 0, { seq, data: data.slice(), fin });
    this.oooBytes += data.length;
  }

  /** Up to `max` merged [left, right) ranges held out of order, lowest first. */
  private sackBlocks(max: number): { left: number; right: number }[] {
    const blocks: { left: number; right: number }[] = [];
    for (const s of this.ooo) {
      const right = seqAdd(s.seq, s.data.length + (s.fin ? 1 : 0));
      const last = blocks[blocks.length - 1];
      if (last && seqLe(s.seq, last.right)) {
        if (seqGt(right, last.right)) last.right = right;
      } else {
        if (blocks.length === max) break;
        blocks.push({ left: s.seq, right });
      }
    }
    return blocks;
  }

  private established(): void {
    if (this.finQueued) this.st = 'FIN_WAIT_1';
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      listener.handshakeDone(this);
    } else {
      this.onConnect();
    }
    if (!this.isClosed()) this.output();
  }

  // ---- Output --------------------------------------------------------------------

  private isOpenForWrite(): boolean {
    return (
      this.st === 'SYN_SENT' || this.st === 'SYN_RECEIVED' || this.st === 'ESTABLISHED' || this.st === 'CLOSE_WAIT'
    );
  }

  private canTransmit(): boolean {
    return (
      this.st === 'ESTABLISHED' ||
      this.st === 'CLOSE_WAIT' ||
      this.st === 'FIN_WAIT_1' ||
      this.st === 'CLOSING' ||
      this.st === 'LAST_ACK'
    );
  }

  /**
   * Sends what the windows allow: new data cut at the MSS, then the FIN.
   * `force` > 0 sends one segment of at most that many bytes regardless of
   * the windows (RTO retransmission, zero-window probe).
   */
  private output(force = 0): void {
    if (!this.canTransmit()) return;
    for (;;) {
      const dataEnd = seqAdd(this.bufSeq, this.sendBuf.length);
      const unsent = seqDiff(dataEnd, this.sndNxt);
      if (unsent > 0) {
        let len = Math.min(this.mss, unsent);
        if (force > 0) {
          len = Math.min(len, force);
          force = 0;
        } else {
          const inFlight = seqDiff(this.sndNxt, this.sndUna);
          const room = Math.min(this.sndWnd, this.cwnd) - inFlight;
          if (room < len) {
            // Sender-side silly window avoidance: wait for a real opening unless nothing is in flight.
            if (room <= 0 || (inFlight > 0 && room < this.maxSndWnd / 2)) break;
            len = room;
          }
        }
        const fin = this.finQueued && seqAdd(this.sndNxt, len) === this.finSeq;
        this.transmit(this.sndNxt, len, fin);
        this.sndNxt = seqAdd(this.sndNxt, len + (fin ? 1 : 0));
        if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
        if (fin) break;
        continue;
      }
      if (this.finQueued && this.sndNxt === this.finSeq) {
        this.transmit(this.sndNxt, 0, true);
        this.sndNxt = seqAdd(this.sndNxt, 1);
        if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      }
      break;
    }
    if (this.sndUna !== this.sndMax) {
      if (!this.rtxTimer.armed) this.rtxTimer.arm(this.rto);
    } else if (seqDiff(seqAdd(this.bufSeq, this.sendBuf.length), this.sndNxt) > 0 && !this.rtxTimer.armed) {
      this.rtxTimer.arm(this.rto); // persist: probe a closed window
    }
  }

  /** One data/FIN segment covering [seq, seq+len) (+FIN). */
  private transmit(seq: number, len: number, fin: boolean): void {
    const payload = len > 0 ? this.sendBuf.read(seqDiff(seq, this.bufSeq), len) : EMPTY;
    let flags = ACK;
    if (fin) flags |= FIN;
    if (len > 0 && seqAdd(seq, len) === seqAdd(this.bufSeq, this.sendBuf.length)) flags |= PSH;
    if (seqLt(seq, this.sndMax)) {
      this.host.stats.tcpRetransmits++;
    } else if (!this.tsOn && this.rttSeq < 0) {
      this.rttSeq = seqAdd(seq, len + (fin ? 1 : 0));
      this.rttStart = this.host.clock.now();
    }
    this.emit(seq, flags, payload);
  }

  /** Retransmits the oldest unacknowledged segment without moving sndNxt. */
  private retransmitHead(): void {
    const dataEnd = seqAdd(this.bufSeq, this.sendBuf.length);
    const len = Math.max(0, Math.min(this.mss, seqDiff(dataEnd, this.sndUna), seqDiff(this.sndMax, this.sndUna)));
    const fin =
      this.finQueued && seqAdd(this.sndUna, len) === this.finSeq && seqGt(this.sndMax, this.finSeq);
    if (len === 0 && !fin) return;
    this.transmit(this.sndUna, len, fin);
  }

  private sendAck(): void {
    if (this.st === 'CLOSED' || this.st === 'SYN_SENT') return;
    this.emit(this.sndNxt, ACK, EMPTY);
  }

  /**
   * ACK in answer to an invalid segment, at most one per 500 ms (Linux
   * tcp_invalid_ratelimit): two desynchronised ends would otherwise bounce
   * ACKs at each other forever.
   */
  private ackInvalid(): void {
    const now = this.host.clock.now();
    if (now - this.invalidAckAt < INVALID_ACK_INTERVAL_MS) return;
    this.invalidAckAt = now;
    this.ackNow = true;
  }

  private flushAck(): void {
    if (this.ackNow || (this.segsSinceAck > 0 && (this.segsSinceAck >= 2 || this.cfg.delayedAckMs <= 0))) {
      this.sendAck();
    } else if (this.segsSinceAck > 0 && !this.ackTimer.armed) {
      this.ackTimer.arm(this.cfg.delayedAckMs);
    }
  }

  private clearAckState(): void {
    this.ackNow = false;
    this.segsSinceAck = 0;
    this.ackTimer.cancel();
  }

  private emit(seq: number, flags: number, payload: Uint8Array): void {
    const r = this.repr;
    r.srcPort = this.localPort;
    r.dstPort = this.remotePort;
    r.seq = seq;
    r.ack = flags & ACK ? this.rcvNxt : 0;
    r.flags = flags;
    r.window = this.windowField();
    r.payload = payload;
    if (this.tsOn) {
      this.tsOption.value = this.tsNow();
      this.tsOption.echo = this.tsRecent;
    }
    if (this.sackOn && this.ooo.length > 0 && flags & ACK) {
      const blocks = this.sackBlocks(this.tsOn ? 3 : 4);
      r.options = this.tsOn ? { timestamp: this.tsOption, sackBlocks: blocks } : { sackBlocks: blocks };
    } else {
      r.options = this.tsOn ? this.tsOptions : NO_OPTIONS;
    }
    this.host.sendTcp(r, this.localIp, this.remoteIp);
    if (flags & ACK) this.clearAckState();
  }

  private sendRstFromSocket(): void {
    this.host.stats.tcpRstOut++;
    this.emit(this.sndNxt, RST | ACK, EMPTY);
  }

  private sendRawRst(seq: number, ack: number, flags: number): void {
    this.host.stats.tcpRstOut++;
    const r = this.repr;
    r.srcPort = this.localPort;
    r.dstPort = this.remotePort;
    r.seq = seq;
    r.ack = ack;
    r.flags = flags;
    r.window = 0;
    r.options = NO_OPTIONS;
    r.payload = EMPTY;
    this.host.sendTcp(r, this.localIp, this.remoteIp);
  }

  private rcvWindowBytes(): number {
    if (this.wscaleOn) return Math.min(this.cfg.rcvBufBytes >> this.rcvWscale, 0xffff) << this.rcvWscale;
    return Math.min(this.cfg.rcvBufBytes, 0xffff);
  }

  private windowField(): number {
    return Math.min(this.cfg.rcvBufBytes >> this.rcvWscale, 0xffff);
  }

  private tsNow(): number {
    return (Math.floor(this.host.clock.now()) + this.tsOffset) >>> 0;
  }

  // ---- Timers and RTT ------------------------------------------------------------

  private onRtxTimer(): void {
    switch (this.st) {
      case 'SYN_SENT':
        if (this.retries >= this.cfg.synRetries) {
          this.fail(this.softError || Errno.ETIMEDOUT);
          return;
        }
        this.retries++;
        this.host.stats.tcpRetransmits++;
        this.rto = Math.min(this.rto * 2, this.cfg.maxRtoMs);
        this.sendSyn();
        this.rtxTimer.arm(this.rto);
        return;
      case 'SYN_RECEIVED':
        if (this.retries >= this.cfg.synAckRetries) {
          if (this.listener) this.dropHalfOpen();
          else this.fail(Errno.ETIMEDOUT);
          return;
        }
        this.retries++;
        this.host.stats.tcpRetransmits++;
        this.rto = Math.min(this.rto * 2, this.cfg.maxRtoMs);
        this.sendSyn();
        this.rtxTimer.arm(this.rto);
        return;
      case 'TIME_WAIT':
      case 'FIN_WAIT_2':
        this.teardown();
        this.notifyClose(undefined);
        return;
      case 'CLOSED':
        return;
      default:
        break;
    }
    if (this.sndUna === this.sndMax) {
      // Persist timer: data waits behind a closed window; poke it with one byte.
      if (seqDiff(seqAdd(this.bufSeq, this.sendBuf.length), this.sndNxt) <= 0) return;
      this.output(1);
      this.rto = Math.min(this.rto * 2, this.cfg.maxRtoMs);
      this.rtxTimer.arm(this.rto);
      return;
    }
    if (this.retries >= this.cfg.retries2) {
      this.fail(this.softError || Errno.ETIMEDOUT);
      return;
    }
    this.retries++;
    const flight = seqDiff(this.sndMax, this.sndUna);
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.cwnd = this.mss;
    this.inRecovery = false;
    this.dupAcks = 0;
    this.rttSeq = -1; // Karn: no RTT sample from a retransmitted segment
    this.rto = Math.min(this.rto * 2, this.cfg.maxRtoMs);
    this.sndNxt = this.sndUna; // go back N: resend from the first hole as the window reopens
    this.output(this.mss);
    this.rtxTimer.arm(this.rto);
  }

  private sampleHandshakeRtt(seg: TcpRepr): void {
    const echo = this.tsOn ? seg.options.timestamp?.echo : undefined;
    if (echo) this.addRttSample((this.tsNow() - echo) >>> 0);
    else if (this.retries === 0) this.addRttSample(this.host.clock.now() - this.rttStart);
    this.rto = this.computeRto();
  }

  private sampleRtt(seg: TcpRepr): void {
    const echo = this.tsOn ? seg.options.timestamp?.echo : undefined;
    if (echo) {
      const rtt = (this.tsNow() - echo) >>> 0;
      if (rtt < 0x7fffffff) this.addRttSample(rtt);
    } else if (this.rttSeq >= 0 && seqGe(seg.ack, this.rttSeq)) {
      this.addRttSample(this.host.clock.now() - this.rttStart);
      this.rttSeq = -1;
    }
  }

  private addRttSample(rtt: number): void {
    if (this.srtt === 0) {
      this.srtt = Math.max(rtt, 0.001);
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
  }

  private computeRto(): number {
    if (this.srtt === 0) return this.cfg.initialRtoMs;
    const rto = this.srtt + Math.max(4 * this.rttvar, this.cfg.minRtoMs);
    return Math.min(Math.max(rto, this.cfg.minRtoMs), this.cfg.maxRtoMs);
  }

  /** An ICMP error quoting a segment of ours that started at `seq` (tcp_v4_err). */
  icmpError(errno: number, fatal: boolean, seq: number): void {
    if (seqLt(seq, this.sndUna) || seqGe(seq, this.sndMax)) return; // not about anything in flight
    if ((this.st === 'SYN_SENT' || this.st === 'SYN_RECEIVED') && fatal) {
      if (this.listener) this.dropHalfOpen();
      else this.fail(errno);
      return;
    }
    // On an established connection ICMP is only a hint, reported if the connection later times out.
    this.softError = errno;
  }

  // ---- Closing -------------------------------------------------------------------

  private enterTimeWait(): void {
    this.st = 'TIME_WAIT';
    this.sendBuf.clear();
    this.ooo.length = 0;
    this.rtxTimer.arm(this.cfg.timeWaitMs);
    this.notifyClose(undefined);
  }

  private fail(errno: number): void {
    this.error = socketError(errno);
    this.teardown();
    this.notifyClose(this.error);
  }

  private dropHalfOpen(): void {
    const listener = this.listener;
    this.listener = undefined;
    this.teardown();
    listener?.halfOpenGone(this);
  }

  /** State CLOSED, timers off, out of the connection table. */
  private teardown(): void {
    this.st = 'CLOSED';
    this.rtxTimer.cancel();
    this.ackTimer.cancel();
    this.sendBuf.clear();
    this.ooo.length = 0;
    this.oooBytes = 0;
    if (this.listener) {
      const listener = this.listener;
      this.listener = undefined;
      listener.halfOpenGone(this);
    }
    this.host.unregisterTcp(this);
  }

  private notifyClose(err: SocketError | undefined): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.onClose(err);
  }
}

/** What a listener needs from its stack. */
export interface TcpListenerHost {
  createPassiveSocket(listener: TcpListener, srcIp: number, srcPort: number, dstIp: number): TcpSocket | null;
  unregisterListener(listener: TcpListener): void;
  sendReset(seg: TcpRepr, srcIp: number, dstIp: number): void;
  readonly stats: StackStats;
}

export class TcpListener {
  private readonly halfOpen = new Set<TcpSocket>();
  private closed = false;

  constructor(
    private readonly host: TcpListenerHost,
    readonly port: number,
    readonly backlog: number,
    private readonly onAccept: (sock: TcpSocket) => void,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Connections still in SYN_RECEIVED. */
  get pendingCount(): number {
    return this.halfOpen.size;
  }

  /** Stops listening; half-open connections are reset, accepted ones live on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unregisterListener(this);
    for (const s of [...this.halfOpen]) s.abortHalfOpen();
    this.halfOpen.clear();
  }

  /** A segment for our port with no connection behind it. */
  input(seg: TcpRepr, srcIp: number, dstIp: number): void {
    const f = seg.flags;
    if (f & RST) return;
    if (f & ACK) {
      this.host.sendReset(seg, srcIp, dstIp);
      return;
    }
    if (!(f & SYN) || this.closed) return;
    if (this.halfOpen.size >= this.backlog) {
      this.host.stats.tcpListenDrops++;
      return;
    }
    const sock = this.host.createPassiveSocket(this, srcIp, seg.srcPort, dstIp);
    if (!sock) return;
    this.halfOpen.add(sock);
    sock.startPassive(this, seg);
  }

  /** Called by a child when the handshake completes: hand it to the app. */
  handshakeDone(sock: TcpSocket): void {
    this.halfOpen.delete(sock);
    this.onAccept(sock);
  }

  halfOpenGone(sock: TcpSocket): void {
    this.halfOpen.delete(sock);
  }
}
