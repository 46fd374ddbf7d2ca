// The agent's DNS proxy: queries redirected by a port rule with `rules.dns`
// arrive on its transparent UDP socket. A name the rules allow is forwarded
// from the client's address to the original DNS server; the answer's
// addresses go into the FQDN cache (and to the agent, which turns toFQDNs
// selectors into identities) before the answer is released to the pod. A
// name no rule allows is answered REFUSED at once. Every query and answer is
// an access-log record.

import { DnsRcode, emitDns, parseDns, type DnsMessage } from '../packet/dns.js';
import { isParseFailure } from '../packet/error.js';
import { IpProto } from '../packet/ipv4.js';
import { ipv4ToString } from '../packet/ip.js';
import type { TcpSocket, UdpSocket } from '../net/stack/index.js';
import type { AccessLogDns, AccessLogRecord } from '../datapath/accesslog.js';
import { decideDns, fqdn } from './l7-policy.js';
import { accessLogRecord, type ProxyContext, type Redirect } from './types.js';

/** How long the proxy waits for the upstream server before answering SERVFAIL. */
export const DNS_UPSTREAM_TIMEOUT_MS = 10_000;

/** --tofqdns-dns-reject-response-code */
export type DnsRejectCode = 'refused' | 'nameError';

const A = 1;
const CNAME = 5;

/** A response carrying only an rcode (miekg/dns SetRcode on the request). */
function rcodeResponse(q: DnsMessage, rcode: number): DnsMessage {
  return { id: q.id, qr: true, opcode: q.opcode, aa: false, tc: false, rd: q.rd, ra: false, rcode, questions: q.questions.map((x) => ({ ...x })), answers: [], authority: [], additional: [] };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A DNS message with its TCP length prefix. */
function frame(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(msg.length + 2);
  out[0] = msg.length >>> 8;
  out[1] = msg.length & 255;
  out.set(msg, 2);
  return out;
}

/** The first complete length-prefixed message, or null while it is still arriving. */
function unframe(buf: Uint8Array): { msg: Uint8Array; rest: Uint8Array } | null {
  if (buf.length < 2) return null;
  const n = (buf[0]! << 8) | buf[1]!;
  if (buf.length < 2 + n) return null;
  return { msg: buf.slice(2, 2 + n), rest: buf.subarray(2 + n) };
}

export class DnsProxy {
  /** Queries answered, forwarded, refused, failed. */
  readonly stats = { refused: 0, forwarded: 0, answered: 0, failed: 0, malformed: 0 };

  constructor(
    private readonly ctx: ProxyContext,
    private readonly rejectCode: DnsRejectCode = 'refused',
  ) {}

  /** A datagram on the listener socket `sock` (bound to the original server's ip:port) from the client. */
  onQuery(sock: UdpSocket, r: Redirect, bytes: Uint8Array): void {
    const ctx = this.ctx;
    const send = (b: Uint8Array): void => void sock.sendTo(r.client.ip, r.client.port, b);
    this.query(r, bytes, send, (raw, q, answer) => {
      // From the client's own address (IP_TRANSPARENT), a port of its own.
      const up = ctx.netns.udpFrom(r.client.ip, r.server.ip, r.server.port, r.upstreamMark);
      const t = { proto: IpProto.UDP, srcIp: r.client.ip, srcPort: up.localPort, dstIp: r.server.ip, dstPort: r.server.port };
      let done = false;
      const finish = (): void => {
        done = true;
        ctx.clock.clearTimer(timer);
        ctx.netns.clearMark(t);
        up.close();
      };
      const timer = ctx.clock.setTimer(DNS_UPSTREAM_TIMEOUT_MS, () => {
        if (done) return;
        finish();
        answer(null);
      });
      up.onMessage = (data, fromIp, fromPort) => {
        if (done || fromIp !== r.server.ip || fromPort !== r.server.port) return;
        const res = parseDns(data);
        if (isParseFailure(res) || res.id !== q.id) return;
        finish();
        answer(data);
      };
      up.sendTo(r.server.ip, r.server.port, raw);
    });
  }

  /**
   * DNS over TCP (RFC 7766 framing): the client's connection to the server,
   * accepted by the proxy; each query is decided alone, allowed ones go out
   * on one upstream connection from the client's address, answers in order.
   */
  onTcpConnection(down: TcpSocket, r: Redirect, done: () => void): void {
    const ctx = this.ctx;
    let buf: Uint8Array = new Uint8Array(0);
    let up: TcpSocket | null = null;
    let upBuf: Uint8Array = new Uint8Array(0);
    /** Answers owed to the client, in order; null = still waiting. */
    const order: { bytes: Uint8Array | null }[] = [];
    const waiting: ((answer: Uint8Array | null) => void)[] = [];
    const flush = (): void => {
      while (order.length && order[0]!.bytes) down.write(frame(order.shift()!.bytes!));
    };
    const slot = (): ((b: Uint8Array) => void) => {
      const s: { bytes: Uint8Array | null } = { bytes: null };
      order.push(s);
      return (b) => {
        s.bytes = b;
        flush();
      };
    };
    const upstream = (): TcpSocket => {
      if (up) return up;
      const sock = ctx.netns.connect(r.client.ip, r.server.ip, r.server.port, r.upstreamMark);
      up = sock;
      sock.onData = (b) => {
        upBuf = concat(upBuf, b);
        for (;;) {
          const m = unframe(upBuf);
          if (!m) break;
          upBuf = m.rest;
          waiting.shift()?.(m.msg);
        }
      };
      const fail = (): void => {
        if (up !== sock) return;
        up = null;
        for (const w of waiting.splice(0)) w(null);
      };
      sock.onEnd = () => {
        fail();
        sock.end();
      };
      sock.onClose = () => {
        ctx.netns.clearMark({ proto: IpProto.TCP, srcIp: sock.localIp, srcPort: sock.localPort, dstIp: sock.remoteIp, dstPort: sock.remotePort });
        fail();
      };
      return sock;
    };
    down.onData = (b) => {
      buf = concat(buf, b);
      for (;;) {
        const m = unframe(buf);
        if (!m) break;
        buf = m.rest;
        const reply = slot();
        this.query(r, m.msg, reply, (raw, _q, answer) => {
          waiting.push(answer);
          upstream().write(frame(raw));
        });
      }
    };
    down.onEnd = () => {
      up?.end();
      down.end();
    };
    down.onClose = () => {
      up?.destroy();
      done();
    };
  }

  /**
   * One query: decided by the rules and logged; refused at once, or handed
   * to `forward`, whose answer (null: none came) is learned from, logged and
   * sent with `send`.
   */
  private query(r: Redirect, bytes: Uint8Array, send: (b: Uint8Array) => void, forward: (raw: Uint8Array, q: DnsMessage, answer: (data: Uint8Array | null) => void) => void): void {
    const ctx = this.ctx;
    const q = parseDns(bytes);
    if (isParseFailure(q) || q.qr || q.questions.length === 0) {
      this.stats.malformed++;
      return;
    }
    const name = fqdn(q.questions[0]!.name);
    const qtypes = q.questions.map((x) => x.type);
    const allowed = decideDns(ctx.rules(r), name);
    const dnsReq: AccessLogDns = { Query: name, ObservationSource: 'proxy', QTypes: qtypes };
    ctx.log(this.record(r, 'Request', allowed ? 'Forwarded' : 'Denied', dnsReq));
    if (!allowed) {
      this.stats.refused++;
      send(emitDns(rcodeResponse(q, this.rejectCode === 'refused' ? DnsRcode.REFUSED : DnsRcode.NXDOMAIN)));
      return;
    }
    this.stats.forwarded++;
    forward(bytes, q, (data) => {
      const res = data ? parseDns(data) : null;
      if (!data || !res || isParseFailure(res)) {
        this.stats.failed++;
        send(emitDns(rcodeResponse(q, DnsRcode.SERVFAIL)));
        return;
      }
      this.answer(send, r, res, data, name, qtypes);
    });
  }

  /** Learn the answer's addresses (waiting for the agent when it asks to), then hand the answer to the client unchanged. */
  private answer(send: (b: Uint8Array) => void, r: Redirect, res: DnsMessage, raw: Uint8Array, name: string, qtypes: number[]): void {
    const ctx = this.ctx;
    const ips: number[] = [];
    const cnames: string[] = [];
    const types: number[] = [];
    let ttl = Number.MAX_SAFE_INTEGER;
    for (const a of res.answers) {
      types.push(a.type);
      if (a.type === A && typeof a.data === 'number') {
        ips.push(a.data >>> 0);
        ttl = Math.min(ttl, a.ttl);
      } else if (a.type === CNAME && typeof a.data === 'string') {
        cnames.push(fqdn(a.data));
        ttl = Math.min(ttl, a.ttl);
      }
    }
    if (ttl === Number.MAX_SAFE_INTEGER) ttl = 0;
    const pending: Promise<void>[] = [];
    if (res.rcode === DnsRcode.NOERROR && ips.length > 0) {
      // Names reached through CNAMEs are learned too: a toFQDNs rule may name either.
      for (const n of [name, ...cnames]) {
        const p = ctx.learn({ endpointId: r.endpointId, name: n, ips, ttl, timeMs: ctx.clock.now() });
        if (p) pending.push(p);
      }
    }
    const release = (): void => {
      const dns: AccessLogDns = { Query: name, IPs: ips.map(ipv4ToString), TTL: ttl, ObservationSource: 'proxy', RCode: res.rcode, QTypes: qtypes, AnswerTypes: types };
      if (cnames.length) dns.CNAMEs = cnames;
      ctx.log(this.record(r, 'Response', 'Forwarded', dns));
      this.stats.answered++;
      send(raw);
    };
    if (pending.length) void Promise.all(pending).then(release, release);
    else release();
  }

  private record(r: Redirect, type: 'Request' | 'Response', verdict: AccessLogRecord['Verdict'], dns: AccessLogDns): AccessLogRecord {
    return { ...accessLogRecord(this.ctx, r, type, verdict), DNS: dns };
  }
}
