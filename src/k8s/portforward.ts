// `pods/{name}/portforward`: the portforward.k8s.io protocol over SPDY, as
// kubectl speaks it. kubectl 1.31+ first asks for a WebSocket whose
// subprotocol is `SPDY/3.1+portforward.k8s.io` (SPDY frames inside binary
// messages) and falls back to a plain `Upgrade: SPDY/3.1` when that fails
// (or when KUBECTL_PORT_FORWARD_WEBSOCKETS=false); both are served here.
//
// Per local connection kubectl opens two streams with the headers
// `streamtype` (error | data), `port` and `requestid`. Once both are there
// the pod's port is dialled: the data stream carries the bytes, and the error
// stream carries the kubelet's text when the connection fails; both end
// (FIN) when the connection is over.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { headerValue, RstStatus } from './spdy.js';
import { SpdyServerSession, type SpdyStream, type SpdyTransport } from './spdy-session.js';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** The WebSocket subprotocol prefix for SPDY tunnelled in binary messages (client-go's WebsocketsSPDYTunnelingPrefix). */
export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
export const SPDY_UPGRADE = 'SPDY/3.1';

/** A TCP connection into a pod (the runtime's TcpSocket fits; callbacks are assigned, method syntax lets its richer error type in). */
export interface PodConnection {
  onData(bytes: Uint8Array): void;
  /** The pod sent FIN. */
  onEnd(): void;
  /** Over; err when it failed (refused, reset, timed out). */
  onClose(err?: { message: string }): void;
  onConnect(): void;
  write(bytes: Uint8Array): boolean;
  end(): void;
  destroy(): void;
}

/** The kubelet's side of port-forward for one pod. */
export interface PodPortForwarder {
  /** A connection to `port` from the pod's node; throws with the kubelet's reason when it cannot start. */
  dial(port: number): PodConnection;
  /** What the kubelet writes on the error stream for a connection that failed. */
  failure(port: number, err: { message: string }, connected: boolean): string;
}

/** Where one forwarded connection's events go. */
export interface PodConnectionSink {
  /** Bytes from the pod. */
  data(bytes: Uint8Array): void;
  /** The pod sent FIN. */
  end(): void;
  /** Over; with the kubelet's text when it failed (could not start, refused, reset). */
  close(failure?: string): void;
}

/**
 * Dial a pod's port as the kubelet does and report to `sink`; undefined (with
 * `sink.close` already called with the reason) when it could not start. The
 * one way into pods for both port-forwards: the apiserver's and podpath's own.
 */
export function dialPod(forwarder: PodPortForwarder, port: number, sink: PodConnectionSink): PodConnection | undefined {
  let conn: PodConnection;
  try {
    conn = forwarder.dial(port);
  } catch (err) {
    sink.close((err as Error).message);
    return undefined;
  }
  let connected = false;
  conn.onConnect = () => {
    connected = true;
  };
  conn.onData = (bytes) => sink.data(bytes);
  conn.onEnd = () => sink.end();
  conn.onClose = (err) => sink.close(err ? forwarder.failure(port, err, connected) : undefined);
  return conn;
}

/** The two streams of one forwarded connection. */
interface StreamPair {
  error?: SpdyStream;
  data?: SpdyStream;
}

/** Serve port-forward on an established SPDY session. */
export function servePortForward(transport: SpdyTransport, forwarder: PodPortForwarder): SpdyServerSession {
  const pairs = new Map<string, StreamPair>();
  const open = new Set<PodConnection>();
  const session = new SpdyServerSession(transport, {
    onStream: (stream) => {
      const type = headerValue(stream.headers, 'streamtype');
      const portText = headerValue(stream.headers, 'port') ?? '';
      const requestId = headerValue(stream.headers, 'requestid') ?? '';
      const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
      // The kubelet refuses a stream it cannot place (an unknown type, a port that is no port) by resetting it.
      if ((type !== 'error' && type !== 'data') || !(port >= 1 && port <= 65535) || requestId === '') {
        stream.reset(RstStatus.CANCEL);
        return;
      }
      const pair = pairs.get(requestId) ?? {};
      if (pair[type]) {
        stream.reset(RstStatus.CANCEL);
        return;
      }
      pair[type] = stream;
      pairs.set(requestId, pair);
      stream.reply();
      if (pair.error && pair.data) {
        pairs.delete(requestId);
        forward(pair.error, pair.data, port);
      }
    },
    onClose: () => {
      for (const c of [...open]) c.destroy();
      open.clear();
      pairs.clear();
    },
  });

  const forward = (errorStream: SpdyStream, dataStream: SpdyStream, port: number): void => {
    let podEnded = false;
    let closed = false;
    // dialPod may report a failure before it returns: the connection is known here once it has.
    const dialled: { conn?: PodConnection } = {};
    const conn = dialPod(forwarder, port, {
      data: (bytes) => dataStream.write(bytes),
      end: () => {
        podEnded = true;
        dataStream.end();
      },
      close: (failure) => {
        closed = true;
        if (dialled.conn) open.delete(dialled.conn);
        if (failure !== undefined) errorStream.write(new TextEncoder().encode(failure));
        dataStream.end();
        errorStream.end();
      },
    });
    if (!conn) return;
    dialled.conn = conn;
    open.add(conn);
    dataStream.onData = (bytes) => {
      if (!closed) conn.write(bytes);
    };
    dataStream.onFin = () => {
      if (!closed) conn.end();
    };
    // kubectl resets the data stream once the pod's side has ended (or its local client went away).
    dataStream.onReset = () => {
      if (closed) return;
      if (podEnded) conn.end();
      else conn.destroy();
    };
    errorStream.onReset = () => undefined;
  };

  return session;
}

/** Feed a raw upgraded socket to a session. */
function pipeSocket(socket: Duplex, head: Buffer, forwarder: PodPortForwarder): void {
  const session = servePortForward(
    {
      write: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      close: () => socket.end(),
    },
    forwarder,
  );
  if (head.length) session.receive(head);
  socket.on('data', (chunk: Buffer) => session.receive(chunk));
  socket.on('close', () => session.transportClosed());
  socket.on('error', () => socket.destroy());
}

/** Feed a WebSocket's binary messages to a session (each message is any slice of the SPDY byte stream). */
function pipeWebSocket(ws: WebSocket, forwarder: PodPortForwarder): void {
  const session = servePortForward(
    {
      write: (bytes) => {
        if (ws.readyState === ws.OPEN) ws.send(bytes, { binary: true });
      },
      close: () => ws.close(1000),
    },
    forwarder,
  );
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    // client-go's tunnelling connection sends binary messages only; anything else breaks the byte stream.
    if (!isBinary) {
      ws.close(1003, 'SPDY tunnel messages must be binary');
      return;
    }
    const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    session.receive(chunk);
  });
  ws.on('close', () => session.transportClosed());
  ws.on('error', () => ws.terminate());
}

const tunnelProtocol = SPDY_TUNNEL_PREFIX + PORT_FORWARD_PROTOCOL;
/**
 * ws refuses `SPDY/3.1+portforward.k8s.io` as a subprotocol ('/' is no RFC 7230
 * token character), so the offer is checked here, taken out of the request,
 * and the answer header added as the handshake is written.
 */
const tunnelRequests = new WeakSet<IncomingMessage>();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
wss.on('headers', (headers: string[], req: IncomingMessage) => {
  if (tunnelRequests.has(req)) headers.push(`Sec-WebSocket-Protocol: ${tunnelProtocol}`);
});

function listHeader(value: string | string[] | undefined): string[] {
  return (Array.isArray(value) ? value.join(',') : (value ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Take over an upgrade request for port-forward: the WebSocket tunnel or
 * plain SPDY. Answers why not (for the caller to send as a Status) when the
 * request asks for neither.
 */
export function upgradePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, forwarder: PodPortForwarder): string | undefined {
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  if (upgrade === 'websocket') {
    if (!listHeader(req.headers['sec-websocket-protocol']).includes(tunnelProtocol)) {
      return `unable to upgrade: the WebSocket subprotocol must be ${tunnelProtocol}`;
    }
    delete req.headers['sec-websocket-protocol'];
    tunnelRequests.add(req);
    wss.handleUpgrade(req, socket, head, (ws) => pipeWebSocket(ws, forwarder));
    return undefined;
  }
  if (upgrade === SPDY_UPGRADE.toLowerCase()) {
    const versions = listHeader(req.headers['x-stream-protocol-version']);
    if (versions.length && !versions.includes(PORT_FORWARD_PROTOCOL)) {
      return `unable to upgrade: unable to negotiate protocol: client supports [${versions.join(' ')}], server supports [${PORT_FORWARD_PROTOCOL}]`;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Connection: Upgrade\r\n' +
        `Upgrade: ${SPDY_UPGRADE}\r\n` +
        `X-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n` +
        `Date: ${new Date().toUTCString()}\r\n\r\n`,
    );
    pipeSocket(socket, head, forwarder);
    return undefined;
  }
  return 'unable to upgrade: missing upgrade headers in request';
}
