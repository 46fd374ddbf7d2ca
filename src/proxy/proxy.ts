// One node's L7 proxy: the Envoy listeners (HTTP) and the agent's DNS proxy
// behind the proxy ports the policy map entries name. The datapath hands a
// redirected packet over with its proxy port (to-proxy, skb mark
// MARK_MAGIC_TO_PROXY | port << 16), or port 0 for a reply to one of the
// proxy's own upstream sockets. The proxy reads the endpoint and identity of
// each end from cilium_lxc and cilium_ipcache (as Envoy's bpf_metadata
// does), asks the policy for the L7 rules per request, and sends its packets
// back into the datapath marked with whom they speak for.

import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { IpProto } from '../packet/ipv4.js';
import { ipv4ToString } from '../packet/ip.js';
import type { TcpSocket, UdpSocket } from '../net/stack/index.js';
import type { NodeDatapath } from '../datapath/sim/node-datapath.js';
import { ENDPOINT_INFO } from '../datapath/maps.js';
import { ReservedIdentity } from '../datapath/identity.js';
import { IpcacheResult, lookupEndpoint, lookupIpcache } from '../datapath/sim/lib/maps.js';
import { identityMark, MARK_MAGIC_PROXY_EGRESS, MARK_MAGIC_PROXY_EGRESS_EPID, MARK_MAGIC_PROXY_INGRESS } from '../datapath/sim/calls.js';
import { writeAccessLog, type AccessLogEndpoint, type AccessLogRecord } from '../datapath/accesslog.js';
import { FqdnCache, type FqdnCacheOptions, type FqdnUpdate } from './fqdn.js';
import type { L7PolicyLookup, L7PolicyRules } from './l7-policy.js';
import { DnsProxy, type DnsRejectCode } from './dns.js';
import { HttpProxySession } from './http.js';
import { listenerOf } from './ports.js';
import { frameTuple, reverseTuple, TransparentNetns, tupleKey, type Tuple } from './tproxy.js';
import { rfc3339Nano, type L7Parser, type Peer, type ProxyContext, type Redirect } from './types.js';

/** --proxy-connect-timeout (seconds in Cilium; 2 by default). */
export const DEFAULT_PROXY_CONNECT_TIMEOUT_MS = 2000;
/** How long a UDP flow's redirect is remembered after its last datagram. */
const UDP_REDIRECT_IDLE_MS = 60_000;
/** Access-log records kept in memory for `recentAccessLog()`. */
const RECENT_RECORDS = 1000;
/** The MAC of the proxy's sockets' interface (they live in the host namespace). */
const PROXY_MAC = 0x02_00_c1_1f_00_01;

export interface L7ProxyOptions {
  /** The node's datapath: cilium_lxc and cilium_ipcache to read, cilium_events to log into. */
  dp: NodeDatapath;
  /** Where the proxy's packets enter the datapath (the node kernel's cilium_host). */
  kernel: { proxyTransmit(frame: Uint8Array, mark: number): void };
  rng: Rng;
  clock?: Clock;
  /** The L7 rules of a redirected flow (the policy engine); without it every request is denied. */
  policy?: L7PolicyLookup;
  /** Security labels of an identity, for the access log's endpoint labels. */
  labelsOf?: (identity: number) => readonly string[] | undefined;
  /** DNS answers the rules allowed; a returned promise holds the answer back until it settles. */
  onFqdnUpdate?: (u: FqdnUpdate) => void | Promise<void>;
  fqdn?: FqdnCacheOptions;
  connectTimeoutMs?: number;
  dnsRejectCode?: DnsRejectCode;
}

export interface L7ProxyStats {
  /** New connections and UDP flows redirected, by parser. */
  redirects: Record<L7Parser, number>;
  /** Packets for a proxy port no listener owns. */
  unknownPort: number;
  /** HTTP connections open now. */
  activeSessions: number;
  accessLogLost: number;
}

export class L7Proxy {
  readonly netns: TransparentNetns;
  readonly fqdn: FqdnCache;
  readonly dns: DnsProxy;
  readonly clock: Clock;
  private policy: L7PolicyLookup | null;
  private readonly dp: NodeDatapath;
  private readonly redirects = new Map<string, Redirect>();
  private readonly udpTimers = new Map<string, ReturnType<Clock['setTimer']>>();
  private readonly sessions = new Set<HttpProxySession>();
  private readonly udpListeners = new WeakSet<UdpSocket>();
  private readonly recent: AccessLogRecord[] = [];
  private readonly ipc = new IpcacheResult();
  private readonly ctx: ProxyContext;
  readonly stats: L7ProxyStats = { redirects: { http: 0, dns: 0 }, unknownPort: 0, activeSessions: 0, accessLogLost: 0 };

  constructor(private readonly opts: L7ProxyOptions) {
    this.dp = opts.dp;
    this.clock = opts.clock ?? opts.dp.clock;
    this.policy = opts.policy ?? null;
    const cfg = opts.dp.cfg;
    this.netns = new TransparentNetns({
      clock: this.clock,
      rng: opts.rng.fork(),
      mac: PROXY_MAC,
      gatewayMac: cfg.routerMac,
      gatewayIp: cfg.routerIp,
      transmit: (f, mark) => opts.kernel.proxyTransmit(f, mark),
      fallbackMark: (ip) => identityMark(MARK_MAGIC_PROXY_INGRESS, this.peer(ip, 0).identity),
    });
    this.fqdn = new FqdnCache(this.clock, opts.fqdn);
    this.ctx = {
      clock: this.clock,
      rng: opts.rng.fork(),
      netns: this.netns,
      connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_PROXY_CONNECT_TIMEOUT_MS,
      rules: (r) => this.rulesFor(r),
      log: (rec) => this.log(rec),
      endpoint: (p) => this.endpointInfo(p),
      timestamp: () => rfc3339Nano(this.clock.wallNow()),
      learn: (u) => {
        this.fqdn.update(u);
        return this.opts.onFqdnUpdate?.(u);
      },
    };
    this.dns = new DnsProxy(this.ctx, opts.dnsRejectCode);
  }

  /** Become the kernel's proxy: packets marked for a proxy port come here. */
  attach(kernel: { proxyReceive: ((frame: Uint8Array, proxyPort: number) => void) | null }): this {
    kernel.proxyReceive = (frame, port) => this.receive(frame, port);
    return this;
  }

  /** Plug in (or replace) the policy engine's L7 lookup. */
  setPolicyLookup(lookup: L7PolicyLookup | null): void {
    this.policy = lookup;
  }

  /** A packet from the datapath: proxyPort names the listener; 0 = a reply for one of the proxy's sockets. */
  receive(frame: Uint8Array, proxyPort: number): void {
    if (proxyPort !== 0) {
      const ft = frameTuple(frame);
      if (!ft) return;
      const l = listenerOf(proxyPort);
      if (!l || (l.parser !== 'http' && l.parser !== 'dns')) {
        this.stats.unknownPort++;
        return;
      }
      const t = ft.t;
      if ((t.proto === IpProto.TCP && ft.syn) || t.proto === IpProto.UDP) this.redirectFlow(t, proxyPort, l.parser, l.direction);
    }
    this.netns.receive(frame);
  }

  /** The endpoint and identity of an address, as the proxy reads them from the maps. */
  peer(ip: number, port: number): Peer {
    const dp = this.dp;
    const off = lookupEndpoint(dp, ip);
    if (off >= 0) {
      const v = dp.lxc.view;
      return { ip, port, endpointId: v.getUint16(off + ENDPOINT_INFO.LXC_ID, true), identity: v.getUint32(off + ENDPOINT_INFO.SEC_ID, true) };
    }
    const identity = lookupIpcache(dp, ip, this.ipc) ? this.ipc.identity : ReservedIdentity.WORLD;
    return { ip, port, endpointId: 0, identity };
  }

  private redirectFlow(t: Tuple, proxyPort: number, parser: L7Parser, direction: 'ingress' | 'egress'): void {
    const key = tupleKey(t);
    if (t.proto === IpProto.UDP) this.touchUdp(key, t);
    if (this.redirects.has(key)) return;
    const client = this.peer(t.srcIp, t.srcPort);
    const server = this.peer(t.dstIp, t.dstPort);
    const ep = direction === 'ingress' ? server : client;
    const remote = direction === 'ingress' ? client : server;
    const r: Redirect = {
      proxyPort,
      parser,
      direction,
      proto: t.proto,
      client,
      server,
      endpointId: ep.endpointId,
      endpointIdentity: ep.identity,
      remoteIdentity: remote.identity,
      // Egress: the client endpoint's own egress program sees the upstream (by endpoint ID). Ingress: the client's identity.
      upstreamMark: direction === 'egress' ? (MARK_MAGIC_PROXY_EGRESS_EPID | (ep.endpointId << 16)) >>> 0 : identityMark(MARK_MAGIC_PROXY_INGRESS, client.identity),
      downstreamMark: identityMark(direction === 'egress' ? MARK_MAGIC_PROXY_EGRESS : MARK_MAGIC_PROXY_INGRESS, server.identity),
    };
    this.redirects.set(key, r);
    this.stats.redirects[parser]++;
    this.netns.setMark(reverseTuple(t), r.downstreamMark);
    if (t.proto === IpProto.TCP) {
      this.netns.listen(t.dstIp, t.dstPort, (sock) => this.accept(sock));
    } else {
      const sock = this.netns.udpSocket(t.dstIp, t.dstPort);
      if (!this.udpListeners.has(sock)) {
        this.udpListeners.add(sock);
        sock.onMessage = (bytes, fromIp, fromPort) => this.datagram(sock, bytes, fromIp, fromPort);
      }
    }
  }

  private touchUdp(key: string, t: Tuple): void {
    const old = this.udpTimers.get(key);
    if (old) this.clock.clearTimer(old);
    this.udpTimers.set(
      key,
      this.clock.setTimer(UDP_REDIRECT_IDLE_MS, () => {
        this.udpTimers.delete(key);
        this.forget(t);
      }),
    );
  }

  private forget(t: Tuple): void {
    this.redirects.delete(tupleKey(t));
    this.netns.clearMark(reverseTuple(t));
  }

  private accept(sock: TcpSocket): void {
    const t: Tuple = { proto: IpProto.TCP, srcIp: sock.remoteIp, srcPort: sock.remotePort, dstIp: sock.localIp, dstPort: sock.localPort };
    const r = this.redirects.get(tupleKey(t));
    if (!r) {
      sock.destroy();
      return;
    }
    if (r.parser === 'dns') {
      this.dns.onTcpConnection(sock, r, () => this.forget(t));
      return;
    }
    const s = new HttpProxySession(this.ctx, r, sock, () => {
      this.sessions.delete(s);
      this.stats.activeSessions = this.sessions.size;
      this.forget(t);
    });
    this.sessions.add(s);
    this.stats.activeSessions = this.sessions.size;
  }

  private datagram(sock: UdpSocket, bytes: Uint8Array, fromIp: number, fromPort: number): void {
    const r = this.redirects.get(tupleKey({ proto: IpProto.UDP, srcIp: fromIp, srcPort: fromPort, dstIp: sock.localIp, dstPort: sock.localPort }));
    if (r?.parser === 'dns') this.dns.onQuery(sock, r, bytes);
  }

  private rulesFor(r: Redirect): L7PolicyRules | null {
    const lookup = this.policy;
    if (!lookup) return null;
    return lookup({ endpointId: r.endpointId, endpointIdentity: r.endpointIdentity, direction: r.direction, proto: r.proto, port: r.server.port, remoteIdentity: r.remoteIdentity });
  }

  private endpointInfo(p: Peer): AccessLogEndpoint {
    const e: AccessLogEndpoint = { ID: p.endpointId, IPv4: ipv4ToString(p.ip), Port: p.port, Identity: p.identity };
    const labels = this.opts.labelsOf?.(p.identity);
    if (labels?.length) e.Labels = [...labels];
    return e;
  }

  private log(rec: AccessLogRecord): void {
    if (!writeAccessLog(this.dp.events, this.clock.now(), rec)) this.stats.accessLogLost++;
    this.recent.push(rec);
    if (this.recent.length > RECENT_RECORDS) this.recent.shift();
  }

  /** The newest access-log records (also in cilium_events for Hubble and `cilium monitor -t l7`). */
  recentAccessLog(): readonly AccessLogRecord[] {
    return this.recent;
  }

  /** Redirected flows the proxy tracks now. */
  get activeRedirects(): number {
    return this.redirects.size;
  }

  /** The node goes away: every proxied connection is reset. */
  shutdown(): void {
    for (const t of this.udpTimers.values()) this.clock.clearTimer(t);
    this.udpTimers.clear();
    this.netns.shutdown();
    this.redirects.clear();
    this.sessions.clear();
  }
}
