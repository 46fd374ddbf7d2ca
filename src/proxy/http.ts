// The HTTP proxy (Envoy with Cilium's cilium.l7policy filter, as far as a
// redirected HTTP/1.1 connection sees it). Each downstream connection gets
// its requests parsed in order; each request is matched against the L7 rules
// covering the flow: a request no rule allows is answered locally with 403
// `Access denied`, an allowed one goes out on an upstream connection from the
// client's own address to the original destination, and the answer comes
// back with Envoy's headers. Every request and every response is an access
// log record.

import { HttpHeaders, HttpRequestParser, HttpResponseParser, httpRequestUrl, httpStatusText, serializeRequest, serializeResponse, type HttpRequest, type HttpResponse } from '../packet/http.js';
import { IpProto } from '../packet/ipv4.js';
import { ipv4ToString } from '../packet/ip.js';
import type { TcpSocket } from '../net/stack/index.js';
import type { TimerHandle } from '../util/clock.js';
import type { AccessLogRecord } from '../datapath/accesslog.js';
import { isParseFailure } from '../packet/error.js';
import { applyHeaderEdits, decideHttp } from './l7-policy.js';
import { accessLogRecord, canonicalHeaderKey, uuid4, type ProxyContext, type Redirect } from './types.js';

/** Cilium's Envoy 403 body (the go proxy's, kept for compatibility): `Access denied` and CRLF. */
export const ACCESS_DENIED_BODY = 'Access denied\r\n';

/** Hop-by-hop headers a proxy does not forward. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'trailer']);

const encoder = new TextEncoder();

/** Envoy's HTTP date header: IMF-fixdate. */
function httpDate(wallMs: number): string {
  return new Date(wallMs).toUTCString();
}

interface InFlight {
  req: HttpRequest;
  /** The request as forwarded (its headers are what the access log shows). */
  headers: HttpHeaders;
  url: string;
  startedMs: number;
  /** The response went out (locally generated or forwarded). */
  answered: boolean;
}

export class HttpProxySession {
  private readonly reqParser = new HttpRequestParser();
  private resParser = new HttpResponseParser();
  private readonly queue: HttpRequest[] = [];
  private current: InFlight | null = null;
  private up: TcpSocket | null = null;
  private upConnected = false;
  private upTimer: TimerHandle | null = null;
  private downEnded = false;
  private closing = false;
  private closed = false;

  constructor(
    private readonly ctx: ProxyContext,
    readonly redirect: Redirect,
    private readonly down: TcpSocket,
    private readonly onDone: () => void,
  ) {
    down.onData = (b) => this.onDownData(b);
    down.onEnd = () => {
      this.downEnded = true;
      this.maybeFinish();
    };
    down.onClose = () => this.teardown();
  }

  // ---- downstream ----------------------------------------------------------------------

  private onDownData(bytes: Uint8Array): void {
    if (this.closing) return;
    const r = this.reqParser.feed(bytes);
    if (isParseFailure(r)) {
      // Envoy's codec error: 400 and the connection is closed.
      this.localReply(this.current?.req.version ?? 'HTTP/1.1', 400, 'Bad Request', true);
      return;
    }
    this.queue.push(...r);
    this.next();
  }

  private next(): void {
    if (this.closing || this.current || this.queue.length === 0) {
      this.maybeFinish();
      return;
    }
    const req = this.queue.shift()!;
    const ctx = this.ctx;
    const rules = ctx.rules(this.redirect);
    const decision = decideHttp(rules, req);
    const headers = this.upstreamHeaders(req);
    if (decision.allowed) applyHeaderEdits(headers, decision.edits);
    const url = httpRequestUrl(req);
    this.current = { req, headers, url, startedMs: ctx.clock.now(), answered: false };
    if (!decision.allowed) {
      this.logRequest('Denied');
      this.localReply(req.version, 403, ACCESS_DENIED_BODY, !req.keepAlive);
      return;
    }
    this.logRequest('Forwarded');
    this.sendUpstream(req, headers);
  }

  /** The request's headers as Envoy forwards them: lower-case names, host first, no hop-by-hop, x-forwarded-proto and x-request-id added. */
  private upstreamHeaders(req: HttpRequest): HttpHeaders {
    const h = new HttpHeaders();
    const host = req.headers.get('host');
    if (host !== undefined) h.append('host', host);
    const conn = new Set(req.headers.tokens('connection'));
    for (const [n, v] of req.headers) {
      const k = n.toLowerCase();
      if (k === 'host' || HOP_BY_HOP.has(k) || conn.has(k)) continue;
      h.append(k, v);
    }
    if (!h.has('x-forwarded-proto')) h.append('x-forwarded-proto', 'http');
    if (!h.has('x-request-id')) h.append('x-request-id', uuid4(this.ctx.rng));
    return h;
  }

  /** A response Envoy generates itself (403 denied, 503 upstream failure, 400 bad request). */
  private localReply(version: string, status: number, body: string, close: boolean): void {
    const cur = this.current;
    const bytes = encoder.encode(body);
    const headers: [string, string][] = [
      ['content-length', String(bytes.length)],
      ['content-type', 'text/plain'],
      ['date', httpDate(this.ctx.clock.wallNow())],
      ['server', 'envoy'],
    ];
    if (close) headers.push(['connection', 'close']);
    this.down.write(serializeResponse({ version: version === 'HTTP/1.0' ? 'HTTP/1.0' : 'HTTP/1.1', status, reason: httpStatusText(status), headers, body: bytes }, { headRequest: cur?.req.method === 'HEAD' }));
    if (cur) {
      cur.answered = true;
      this.logResponse(status);
    }
    this.finishExchange(close);
  }

  private finishExchange(close: boolean): void {
    this.current = null;
    if (close) {
      this.closing = true;
      this.queue.length = 0;
      this.closeUpstream();
      this.down.end();
      return;
    }
    this.next();
  }

  /** The client is done and nothing is in flight: close both sides. */
  private maybeFinish(): void {
    if (!this.downEnded || this.current || this.queue.length > 0) return;
    if (!this.closing) {
      this.closing = true;
      this.closeUpstream();
      this.down.end();
    }
  }

  // ---- upstream ------------------------------------------------------------------------

  private sendUpstream(req: HttpRequest, headers: HttpHeaders): void {
    const bytes = serializeRequest({ method: req.method, target: req.target, version: req.version, headers, body: req.body });
    if (!this.up) this.openUpstream();
    this.resParser.expectResponseTo(req.method);
    this.up!.write(bytes);
  }

  private openUpstream(): void {
    const r = this.redirect;
    const ctx = this.ctx;
    const up = ctx.netns.connect(r.client.ip, r.server.ip, r.server.port, r.upstreamMark);
    this.up = up;
    this.upConnected = false;
    this.resParser = new HttpResponseParser();
    this.upTimer = ctx.clock.setTimer(ctx.connectTimeoutMs, () => {
      this.upTimer = null;
      if (this.up === up && !this.upConnected) {
        up.destroy();
        this.upstreamFailed(up, 'connection timeout');
      }
    });
    up.onConnect = () => {
      this.upConnected = true;
      this.clearUpTimer();
    };
    up.onData = (b) => {
      if (this.up === up) this.onUpData(b);
    };
    up.onEnd = () => {
      if (this.up !== up) return;
      const r2 = this.resParser.finish();
      if (!isParseFailure(r2)) for (const res of r2) this.respond(res);
      this.upstreamFailed(up, 'connection termination');
      up.end();
    };
    up.onClose = (err) => {
      ctx.netns.clearMark({ proto: IpProto.TCP, srcIp: up.localIp, srcPort: up.localPort, dstIp: up.remoteIp, dstPort: up.remotePort });
      if (this.up === up) this.upstreamFailed(up, this.upConnected ? 'connection termination' : err?.code === 'ETIMEDOUT' ? 'connection timeout' : 'connection failure');
    };
  }

  private clearUpTimer(): void {
    if (this.upTimer) this.ctx.clock.clearTimer(this.upTimer);
    this.upTimer = null;
  }

  /** The upstream connection is gone: a request still waiting gets Envoy's 503. */
  private upstreamFailed(up: TcpSocket, reason: string): void {
    if (this.up !== up) return;
    this.up = null;
    this.clearUpTimer();
    const cur = this.current;
    if (cur && !cur.answered && !this.closing) {
      this.localReply(cur.req.version, 503, `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`, false);
    }
  }

  private onUpData(bytes: Uint8Array): void {
    const r = this.resParser.feed(bytes);
    if (isParseFailure(r)) {
      const up = this.up!;
      up.destroy();
      this.upstreamFailed(up, 'protocol error');
      return;
    }
    for (const res of r) this.respond(res);
  }

  /** An upstream response: logged, then passed on with Envoy's header treatment. */
  private respond(res: HttpResponse): void {
    const cur = this.current;
    if (!cur || cur.answered) return;
    if (res.status >= 100 && res.status < 200) return;
    cur.answered = true;
    const ctx = this.ctx;
    const elapsed = ctx.clock.now() - cur.startedMs;
    this.logResponse(res.status);
    const closeDown = !cur.req.keepAlive || this.downEnded;
    const h = new HttpHeaders();
    const conn = new Set(res.headers.tokens('connection'));
    for (const [n, v] of res.headers) {
      const k = n.toLowerCase();
      if (k === 'server' || HOP_BY_HOP.has(k) || conn.has(k)) continue;
      h.append(k, v);
    }
    h.append('x-envoy-upstream-service-time', String(Math.round(elapsed)));
    h.append('server', 'envoy');
    if (closeDown) h.append('connection', 'close');
    this.down.write(serializeResponse({ version: cur.req.version === 'HTTP/1.0' ? 'HTTP/1.0' : 'HTTP/1.1', status: res.status, reason: res.reason, headers: h, body: res.body }, { headRequest: cur.req.method === 'HEAD' }));
    if (!res.keepAlive) this.closeUpstream();
    this.finishExchange(closeDown);
  }

  private closeUpstream(): void {
    const up = this.up;
    this.up = null;
    this.clearUpTimer();
    if (up) {
      if (this.upConnected) up.end();
      else up.destroy();
    }
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    const up = this.up;
    this.up = null;
    this.clearUpTimer();
    up?.destroy();
    this.onDone();
  }

  // ---- access log ----------------------------------------------------------------------

  private record(type: 'Request' | 'Response', verdict: AccessLogRecord['Verdict'], code: number): AccessLogRecord {
    const r = this.redirect;
    const cur = this.current!;
    const headers: Record<string, string[]> = {};
    for (const [n, v] of cur.headers) {
      if (n.toLowerCase() === 'host') continue;
      (headers[canonicalHeaderKey(n)] ??= []).push(v);
    }
    // HTTP sessions are accepted TCP connections only (proxy.ts), so r.proto is TCP.
    return { ...accessLogRecord(this.ctx, r, type, verdict), HTTP: { Code: code, Method: cur.req.method, URL: cur.url, Protocol: cur.req.version, Headers: headers } };
  }

  private logRequest(verdict: 'Forwarded' | 'Denied'): void {
    this.ctx.log(this.record('Request', verdict, 0));
  }

  private logResponse(code: number): void {
    const rec = this.record('Response', 'Forwarded', code);
    rec.LatencyNs = Math.round((this.ctx.clock.now() - this.current!.startedMs) * 1e6);
    this.ctx.log(rec);
  }

  /** For tests and status: where this session stands. */
  describe(): string {
    const r = this.redirect;
    return `${ipv4ToString(r.client.ip)}:${r.client.port} -> ${ipv4ToString(r.server.ip)}:${r.server.port} (${r.direction}, proxy port ${r.proxyPort})`;
  }
}
