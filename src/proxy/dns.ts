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
import type { UdpSocket } from '../net/stack/index.js';
import type { AccessLogDns, AccessLogRecord } from '../datapath/accesslog.js';
import { decideDns, fqdn } from './l7-policy.js';
import type { ProxyContext, Redirect } from './types.js';

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
      sock.sendTo(r.client.ip, r.client.port, emitDns(rcodeResponse(q, this.rejectCode === 'refused' ? DnsRcode.REFUSED : DnsRcode.NXDOMAIN)));
      return;
    }
    this.stats.forwarded++;
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
      this.stats.failed++;
      sock.sendTo(r.client.ip, r.client.port, emitDns(rcodeResponse(q, DnsRcode.SERVFAIL)));
    });
    up.onMessage = (data, fromIp, fromPort) => {
      if (done || fromIp !== r.server.ip || fromPort !== r.server.port) return;
      const res = parseDns(data);
      if (isParseFailure(res) || res.id !== q.id) return;
      finish();
      this.answer(sock, r, res, data, name, qtypes);
    };
    up.sendTo(r.server.ip, r.server.port, bytes);
  }

  /** Learn the answer's addresses (waiting for the agent when it asks to), then hand the answer to the client unchanged. */
  private answer(sock: UdpSocket, r: Redirect, res: DnsMessage, raw: Uint8Array, name: string, qtypes: number[]): void {
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
      sock.sendTo(r.client.ip, r.client.port, raw);
    };
    if (pending.length) void Promise.all(pending).then(release, release);
    else release();
  }

  private record(r: Redirect, type: 'Request' | 'Response', verdict: AccessLogRecord['Verdict'], dns: AccessLogDns): AccessLogRecord {
    const ctx = this.ctx;
    const client = ctx.endpoint(r.client);
    const server = ctx.endpoint(r.server);
    return {
      Type: type,
      Timestamp: ctx.timestamp(),
      ObservationPoint: r.direction === 'ingress' ? 'Ingress' : 'Egress',
      SourceEndpoint: type === 'Request' ? client : server,
      DestinationEndpoint: type === 'Request' ? server : client,
      IPVersion: 'IPv4',
      Verdict: verdict,
      TransportProtocol: IpProto.UDP,
      DNS: dns,
    };
  }
}
