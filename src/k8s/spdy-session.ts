// The server side of a SPDY/3.1 session: streams the peer opens, replies,
// data both ways, PING answers, flow-control windows, GOAWAY. Frames come in
// as bytes from any transport (a raw upgraded socket, or WebSocket binary
// messages) and are handled strictly in order; header blocks inflate
// asynchronously, so handling is a chain, and so is sending (a SYN_REPLY's
// header block must be compressed before the stream's data may follow it).

import { isParseFailure, ParseErrorCode, type ParseFailure } from '../packet/error.js';
import {
  DEFAULT_WINDOW,
  emitFrame,
  FLAG_FIN,
  GoAwayStatus,
  HeaderCompressor,
  HeaderDecompressor,
  MAX_FRAME_LENGTH,
  parseFrame,
  RstStatus,
  SettingsId,
  type SpdyFrame,
  type SpdyHeaders,
} from './spdy.js';

/** Where a session's bytes go. */
export interface SpdyTransport {
  write(bytes: Uint8Array): void;
  /** End the connection (after what was written). */
  close(): void;
}

/** Largest DATA frame this side sends (as the kubelet's 32 KiB copy buffer). */
const MAX_DATA_CHUNK = 32 * 1024;

export class SpdyStream {
  /** Bytes the peer sent on this stream. */
  onData: (bytes: Uint8Array) => void = () => undefined;
  /** The peer half-closed the stream (FIN). */
  onFin: () => void = () => undefined;
  /** The peer reset the stream, or the session ended under it. */
  onReset: (status: number) => void = () => undefined;

  finReceived = false;
  finSent = false;
  closed = false;
  /** Peer's receive window for this stream, when the peer does flow control. */
  sendWindow: number;
  readonly pending: { bytes: Uint8Array; fin: boolean }[] = [];
  /** Bytes consumed since our last WINDOW_UPDATE for this stream. */
  unacked = 0;

  constructor(
    readonly id: number,
    readonly headers: SpdyHeaders,
    private readonly session: SpdyServerSession,
    initialWindow: number,
  ) {
    this.sendWindow = initialWindow;
  }

  /** Accept the stream (SYN_REPLY with no headers, as the kubelet answers). */
  reply(): void {
    this.session.sendReply(this);
  }

  write(bytes: Uint8Array): void {
    if (this.finSent || this.closed || bytes.length === 0) return;
    for (let at = 0; at < bytes.length; at += MAX_DATA_CHUNK) this.pending.push({ bytes: bytes.subarray(at, at + MAX_DATA_CHUNK), fin: false });
    this.session.flush(this);
  }

  /** Half-close: an empty DATA frame with FIN after what is queued. */
  end(): void {
    if (this.finSent || this.closed) return;
    this.finSent = true;
    this.pending.push({ bytes: new Uint8Array(0), fin: true });
    this.session.flush(this);
  }

  reset(status: number = RstStatus.CANCEL): void {
    if (this.closed) return;
    this.session.resetStream(this, status);
  }
}

export interface SpdySessionHandlers {
  /** The peer opened a stream; reply() to accept it or reset() to refuse it. */
  onStream(stream: SpdyStream): void;
  /** The session is over (peer GOAWAY, transport gone, or a protocol error). */
  onClose(reason?: string): void;
}

export class SpdyServerSession {
  private buffered: Uint8Array = new Uint8Array(0);
  private readonly streams = new Map<number, SpdyStream>();
  private lastPeerStreamId = 0;
  private readonly inflater = new HeaderDecompressor();
  private readonly deflater = new HeaderCompressor();
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  /** Set when the session starts to end: no more frames are handled. */
  private ending = false;
  /** Set once the transport is closed: nothing more is written. */
  private closed = false;
  /** spdystream (kubectl, the kubelet) never sends WINDOW_UPDATE, so windows bind only once the peer shows it keeps them. */
  private peerFlowControl = false;
  private initialSendWindow = DEFAULT_WINDOW;
  private sessionSendWindow = DEFAULT_WINDOW;
  private sessionUnacked = 0;

  constructor(
    private readonly transport: SpdyTransport,
    private readonly handlers: SpdySessionHandlers,
  ) {}

  /** Bytes from the transport, in order. */
  receive(bytes: Uint8Array): void {
    if (this.ending) return;
    const joined = new Uint8Array(this.buffered.length + bytes.length);
    joined.set(this.buffered);
    joined.set(bytes, this.buffered.length);
    let off = 0;
    for (;;) {
      const parsed = parseFrame(joined, off);
      if (isParseFailure(parsed)) {
        if (parsed.error === ParseErrorCode.Truncated) break;
        this.fail(parsed);
        return;
      }
      const frame = parsed.frame;
      off += parsed.length;
      this.inbound = this.inbound.then(() => this.handle(frame)).catch((err: unknown) => this.shutdown(`internal error: ${(err as Error).message}`));
    }
    // A copy, so the frames queued above keep their bytes while this buffer is replaced.
    this.buffered = joined.slice(off);
  }

  /** Resolves once every frame received so far is handled and everything queued is written. */
  async drained(): Promise<void> {
    for (;;) {
      const inbound = this.inbound;
      const outbound = this.outbound;
      await inbound;
      await outbound;
      if (inbound === this.inbound && outbound === this.outbound) return;
    }
  }

  /** The transport is gone: every stream ends with it. */
  transportClosed(): void {
    this.shutdown('connection closed');
  }

  private async handle(frame: SpdyFrame): Promise<void> {
    if (this.ending) return;
    switch (frame.type) {
      case 'syn_stream': {
        const headers = await this.inflater.decompress(frame.headerBlock);
        if (isParseFailure(headers)) return this.fail(headers);
        if (this.ending) return;
        // Client streams are odd and increasing (the draft; spdystream refuses others the same way).
        if (frame.streamId % 2 === 0 || frame.streamId <= this.lastPeerStreamId) {
          this.send({ type: 'rst_stream', streamId: frame.streamId, status: RstStatus.PROTOCOL_ERROR });
          return;
        }
        this.lastPeerStreamId = frame.streamId;
        const stream = new SpdyStream(frame.streamId, headers, this, this.initialSendWindow);
        this.streams.set(stream.id, stream);
        if (frame.flags & FLAG_FIN) stream.finReceived = true;
        this.handlers.onStream(stream);
        return;
      }
      case 'headers':
      case 'syn_reply': {
        // Keep the inflater in step even though this side has no use for the headers.
        const headers = await this.inflater.decompress(frame.headerBlock);
        if (isParseFailure(headers)) return this.fail(headers);
        if (frame.flags & FLAG_FIN) this.peerFinished(frame.streamId);
        return;
      }
      case 'data': {
        const stream = this.streams.get(frame.streamId);
        if (!stream || stream.finReceived) {
          this.send({ type: 'rst_stream', streamId: frame.streamId, status: stream ? RstStatus.STREAM_ALREADY_CLOSED : RstStatus.INVALID_STREAM });
          return;
        }
        if (frame.data.length) {
          stream.onData(frame.data);
          this.consumed(stream, frame.data.length);
        }
        if (frame.flags & FLAG_FIN) this.peerFinished(frame.streamId);
        return;
      }
      case 'rst_stream': {
        const stream = this.streams.get(frame.streamId);
        if (!stream) return;
        this.drop(stream);
        stream.onReset(frame.status);
        return;
      }
      case 'settings':
        for (const e of frame.entries) {
          if (e.id !== SettingsId.INITIAL_WINDOW_SIZE) continue;
          const delta = e.value - this.initialSendWindow;
          this.initialSendWindow = e.value;
          this.peerFlowControl = true;
          for (const s of this.streams.values()) s.sendWindow += delta;
        }
        return;
      case 'window_update': {
        this.peerFlowControl = true;
        if (frame.streamId === 0) {
          this.sessionSendWindow += frame.delta;
          for (const s of this.streams.values()) this.flush(s);
        } else {
          const stream = this.streams.get(frame.streamId);
          if (!stream) return;
          stream.sendWindow += frame.delta;
          this.flush(stream);
        }
        return;
      }
      case 'ping':
        // Pings the peer started have its parity (odd from a client): echo them.
        if (frame.id % 2 === 1) this.send(frame);
        return;
      case 'goaway':
        this.shutdown('the client went away');
        return;
      case 'unknown':
        return;
    }
  }

  private peerFinished(streamId: number): void {
    const stream = this.streams.get(streamId);
    if (!stream || stream.finReceived) return;
    stream.finReceived = true;
    if (stream.finSent && stream.pending.length === 0) this.drop(stream);
    stream.onFin();
  }

  /** Window credit back to the peer once half a window has been consumed. */
  private consumed(stream: SpdyStream, n: number): void {
    stream.unacked += n;
    this.sessionUnacked += n;
    if (stream.unacked >= DEFAULT_WINDOW / 2 && !stream.finReceived) {
      this.send({ type: 'window_update', streamId: stream.id, delta: stream.unacked });
      stream.unacked = 0;
    }
    if (this.sessionUnacked >= DEFAULT_WINDOW / 2) {
      this.send({ type: 'window_update', streamId: 0, delta: this.sessionUnacked });
      this.sessionUnacked = 0;
    }
  }

  sendReply(stream: SpdyStream): void {
    if (this.ending || stream.closed) return;
    const headers: SpdyHeaders = new Map();
    this.outbound = this.outbound
      .then(async () => {
        if (this.closed) return;
        const headerBlock = await this.deflater.compress(headers);
        this.write({ type: 'syn_reply', streamId: stream.id, flags: 0, headerBlock });
      })
      .catch((err: unknown) => this.shutdown(`header compression failed: ${(err as Error).message}`));
  }

  /** Send what the windows allow of a stream's queued data. */
  flush(stream: SpdyStream): void {
    while (stream.pending.length && !stream.closed) {
      const next = stream.pending[0]!;
      let chunk = next.bytes;
      if (this.peerFlowControl && chunk.length) {
        const room = Math.min(stream.sendWindow, this.sessionSendWindow);
        if (room <= 0) return;
        if (chunk.length > room) {
          next.bytes = chunk.subarray(room);
          chunk = chunk.subarray(0, room);
        } else {
          stream.pending.shift();
        }
        stream.sendWindow -= chunk.length;
        this.sessionSendWindow -= chunk.length;
      } else {
        stream.pending.shift();
      }
      const fin = chunk === next.bytes && next.fin;
      this.send({ type: 'data', streamId: stream.id, flags: fin ? FLAG_FIN : 0, data: chunk });
      if (fin && stream.finReceived) this.drop(stream);
    }
  }

  resetStream(stream: SpdyStream, status: number): void {
    this.drop(stream);
    this.send({ type: 'rst_stream', streamId: stream.id, status });
  }

  private drop(stream: SpdyStream): void {
    stream.closed = true;
    stream.pending.length = 0;
    this.streams.delete(stream.id);
  }

  private send(frame: SpdyFrame): void {
    if (this.closed) return;
    if (frame.type === 'data' && frame.data.length > MAX_FRAME_LENGTH) throw new RangeError('DATA frame too large');
    this.outbound = this.outbound.then(() => this.write(frame)).catch(() => undefined);
  }

  private write(frame: SpdyFrame): void {
    if (this.closed) return;
    try {
      this.transport.write(emitFrame(frame));
    } catch {
      // The transport died under us; its close event ends the session.
    }
  }

  /** A frame that can never be valid: GOAWAY with PROTOCOL_ERROR, then close. */
  private fail(failure: ParseFailure): void {
    if (this.ending) return;
    this.send({ type: 'goaway', lastGoodStreamId: this.lastPeerStreamId, status: GoAwayStatus.PROTOCOL_ERROR });
    this.shutdown(`SPDY protocol error: ${failure.detail}`);
  }

  /** End every stream and the transport (after what is already queued to it). */
  private shutdown(reason: string): void {
    if (this.ending) return;
    this.ending = true;
    const streams = [...this.streams.values()];
    for (const s of streams) this.drop(s);
    for (const s of streams) s.onReset(RstStatus.CANCEL);
    this.outbound = this.outbound.then(() => {
      this.closed = true;
      this.inflater.close();
      this.deflater.close();
      this.transport.close();
    });
    this.handlers.onClose(reason);
  }

  get isEnding(): boolean {
    return this.ending;
  }
}
