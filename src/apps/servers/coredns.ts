// CoreDNS as the cluster runs it: the kubernetes plugin answers for the
// cluster zone from a record source the cluster layer injects (Services and
// Pods), authoritatively (AA), TTL 30, SOA in the authority section of
// negative answers; UDP and TCP on 53, /health on 8080 and /ready on 8181.

import { DnsClass, DnsOpcode, DnsRcode, DnsType, dnsResponseFor, emitDns, parseDns, type DnsMessage, type DnsRecord } from '../../packet/dns.js';
import { isParseFailure } from '../../packet/error.js';
import type { TcpSocket, UdpSocket } from '../../net/stack/index.js';
import { HttpServer, Router, textReply, TcpStream } from '../http.js';
import { concatBytes } from '../proc.js';
import { CLUSTER_DOMAIN, type PodEnv, type ServerApp, type ServerHandle, type ServerHooks, type ServerSpec } from '../types.js';

/** Answers for a name (lower-case, no trailing dot): its IPv4 addresses (and PTR targets), or NXDOMAIN. */
export type DnsRecordSource = (name: string, qtype: number) => { ips: number[]; names?: string[] } | 'NXDOMAIN';

export interface CoreDnsOptions {
  zone?: string;
  ttl?: number;
  /** ClusterIP of default/kubernetes (always answered). */
  kubernetesServiceIp?: number;
  /** The version it reports in its logs and CHAOS answers. */
  version?: string;
}

export const COREDNS_TTL = 30;
const KUBERNETES_SERVICE_IP = (10 << 24) | (96 << 16) | 1;
/** EDNS0 buffer size CoreDNS advertises (its "bufsize" default). */
const EDNS_UDP_SIZE = 1232;
const CLASSIC_UDP_MAX = 512;

export class CoreDnsServer implements ServerApp {
  private readonly zone: string;
  private readonly ttl: number;
  private readonly kubernetesIp: number;
  readonly version: string;
  /** SOA serial: CoreDNS uses the time of the last change; fixed at start here. */
  private serial = 0;

  constructor(
    private readonly lookup: DnsRecordSource = () => 'NXDOMAIN',
    opts: CoreDnsOptions = {},
  ) {
    this.zone = (opts.zone ?? CLUSTER_DOMAIN).toLowerCase();
    this.ttl = opts.ttl ?? COREDNS_TTL;
    this.kubernetesIp = opts.kubernetesServiceIp ?? KUBERNETES_SERVICE_IP;
    this.version = opts.version ?? '1.11.1';
  }

  start(env: PodEnv, spec: ServerSpec, hooks: ServerHooks = {}): ServerHandle {
    this.serial = Math.floor(env.clock.wallNow() / 1000);
    const port = spec.ports.find((p) => p.name === 'dns' || p.containerPort === 53)?.containerPort ?? 53;
    const udp = env.stack.udpBind(port);
    udp.onMessage = (bytes, fromIp, fromPort) => this.onUdp(udp, bytes, fromIp, fromPort);
    const tcpConns = new Set<TcpStream>();
    const tcp = env.stack.tcpListen(port, (sock) => this.onTcp(sock, tcpConns));
    const health = new HttpServer(env.stack, 8080, new Router().get('/health', () => textReply(200, 'OK')).handle, env.clock);
    const ready = new HttpServer(env.stack, 8181, new Router().get('/ready', () => textReply(200, 'OK')).handle, env.clock);
    for (const line of [`.:${port}`, `CoreDNS-${this.version}`, 'linux/amd64, go1.20.7, ae2bbc2']) hooks.log?.(line);
    return {
      stop: () => {
        udp.close();
        tcp.close();
        for (const c of tcpConns) c.close();
        health.close();
        ready.close();
      },
    };
  }

  private onUdp(sock: UdpSocket, bytes: Uint8Array, fromIp: number, fromPort: number): void {
    const query = parseDns(bytes);
    if (isParseFailure(query) || query.qr) return;
    const reply = this.answer(query);
    const opt = query.additional.find((r) => r.type === DnsType.OPT);
    const limit = opt ? Math.max(CLASSIC_UDP_MAX, Math.min(opt.class, EDNS_UDP_SIZE)) : CLASSIC_UDP_MAX;
    sock.sendTo(fromIp, fromPort, emitDns(reply, { maxSize: limit }));
  }

  /** DNS over TCP: each message has a two-byte length prefix (RFC 1035 4.2.2). */
  private onTcp(sock: TcpSocket, conns: Set<TcpStream>): void {
    const stream = new TcpStream(sock);
    conns.add(stream);
    let buf: Uint8Array = new Uint8Array(0);
    const pump = async (): Promise<void> => {
      for (;;) {
        let chunk: Uint8Array | null;
        try {
          chunk = await stream.read();
        } catch {
          return;
        }
        if (chunk === null) {
          stream.close();
          return;
        }
        buf = concatBytes([buf, chunk]);
        while (buf.length >= 2) {
          const len = (buf[0]! << 8) | buf[1]!;
          if (buf.length < 2 + len) break;
          const query = parseDns(buf, 2, len);
          buf = buf.slice(2 + len);
          if (isParseFailure(query) || query.qr) continue;
          const out = emitDns(this.answer(query));
          const framed = new Uint8Array(2 + out.length);
          framed[0] = out.length >> 8;
          framed[1] = out.length & 0xff;
          framed.set(out, 2);
          stream.write(framed);
        }
      }
    };
    void pump().finally(() => conns.delete(stream));
  }

  /** The response to one query (exposed for tests and for `dig` against a bare server). */
  answer(query: DnsMessage): DnsMessage {
    const q = query.questions[0];
    const withOpt = (m: DnsMessage): DnsMessage => {
      if (query.additional.some((r) => r.type === DnsType.OPT)) {
        m.additional.push({ name: '', type: DnsType.OPT, class: EDNS_UDP_SIZE, ttl: 0, data: new Uint8Array(0) });
      }
      return m;
    };
    if (query.opcode !== DnsOpcode.QUERY) return withOpt(dnsResponseFor(query, DnsRcode.NOTIMP, [], false));
    if (!q || query.questions.length !== 1) return withOpt(dnsResponseFor(query, DnsRcode.FORMERR, [], false));
    const name = q.name.toLowerCase().replace(/\.$/, '');
    const inZone = name === this.zone || name.endsWith(`.${this.zone}`) || name.endsWith('.in-addr.arpa');
    if (q.class !== DnsClass.IN) return withOpt(dnsResponseFor(query, DnsRcode.REFUSED, [], false));

    let result = this.lookup(name, q.type);
    if (name === `kubernetes.default.svc.${this.zone}`) {
      result = result !== 'NXDOMAIN' && result.ips.length > 0 ? result : { ips: [this.kubernetesIp] };
    }
    const soa = (): DnsRecord[] => (inZone ? [this.soaRecord(name)] : []);
    if (result === 'NXDOMAIN') {
      const res = dnsResponseFor(query, DnsRcode.NXDOMAIN, [], inZone);
      res.authority = soa();
      return withOpt(res);
    }
    const answers: DnsRecord[] = [];
    if (q.type === DnsType.A || q.type === DnsType.ANY) {
      for (const ip of result.ips) answers.push({ name: q.name, type: DnsType.A, class: DnsClass.IN, ttl: this.ttl, data: ip >>> 0 });
    }
    if (q.type === DnsType.PTR) {
      for (const target of result.names ?? []) answers.push({ name: q.name, type: DnsType.PTR, class: DnsClass.IN, ttl: this.ttl, data: target });
    }
    const res = dnsResponseFor(query, DnsRcode.NOERROR, answers, inZone);
    if (answers.length === 0) res.authority = soa(); // NODATA: the name exists, not this type
    return withOpt(res);
  }

  private soaRecord(name: string): DnsRecord {
    const zone = name.endsWith('.in-addr.arpa') ? name.split('.').slice(-3).join('.') : this.zone;
    return {
      name: zone,
      type: DnsType.SOA,
      class: DnsClass.IN,
      ttl: this.ttl,
      data: { mname: `ns.dns.${this.zone}`, rname: `hostmaster.${this.zone}`, serial: this.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }
}
