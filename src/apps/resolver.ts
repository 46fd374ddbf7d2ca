// A stub resolver that behaves like glibc's res_nsearch + getaddrinfo for A
// records: /etc/hosts first, then the search list and ndots from resolv.conf,
// UDP queries to each nameserver on port 53 with `timeout` per try and
// `attempts` rounds, no cache. The DNS traffic it makes is what a pod's libc
// really sends, so Hubble sees the same queries (ndots:5 and all).

import { DnsRcode, DnsType, dnsQuery, emitDns, parseDns, type DnsMessage } from '../packet/dns.js';
import { isParseFailure } from '../packet/error.js';
import { ipv4ToString, parseIpv4Addr } from '../packet/ip.js';
import type { NetStack } from '../net/stack/index.js';
import type { Clock } from '../util/clock.js';
import { Aborted, abortable } from './proc.js';
import type { PodEnv, ResolvConf } from './types.js';

export const DNS_PORT = 53;
/** glibc RES_TIMEOUT and RES_DFLRETRY. */
export const DEFAULT_DNS_TIMEOUT_MS = 5000;
export const DEFAULT_DNS_ATTEMPTS = 2;
const LOOPBACK = 0x7f000001;

/**
 * Why a lookup failed, in getaddrinfo's terms: NXDOMAIN (no such host,
 * HOST_NOT_FOUND), NODATA (the name exists but has no A record), SERVFAIL
 * (servers answered SERVFAIL/REFUSED), TIMEOUT (no answer), CONNREFUSED
 * (ICMP port unreachable from the server), UNREACHABLE (no route to the
 * server), BADNAME (not a valid host name).
 */
export type ResolveFailure = 'NXDOMAIN' | 'NODATA' | 'SERVFAIL' | 'TIMEOUT' | 'CONNREFUSED' | 'UNREACHABLE' | 'BADNAME';

export class ResolveError extends Error {
  constructor(
    readonly kind: ResolveFailure,
    readonly hostname: string,
    /** The last server asked, if any. */
    readonly server?: number,
    /** Local UDP port of the last query (Go prints it in "read udp a:p->s:53: i/o timeout"). */
    readonly localPort?: number,
  ) {
    super(`${hostname}: ${kind}`);
    this.name = 'ResolveError';
  }

  /** True for the "this name does not exist" answers, as opposed to not getting an answer. */
  get notFound(): boolean {
    return this.kind === 'NXDOMAIN' || this.kind === 'NODATA' || this.kind === 'BADNAME';
  }
}

export interface ResolveResult {
  /** The name as asked. */
  query: string;
  /** The fully qualified name that answered (search domain applied), without the trailing dot. */
  name: string;
  addresses: number[];
  /** Where the answer came from: 'literal', 'hosts' or 'dns'. */
  source: 'literal' | 'hosts' | 'dns';
  server?: number;
}

/** What the resolver needs from the pod. */
export type ResolverEnv = Pick<PodEnv, 'stack' | 'clock' | 'rng' | 'resolv'> & Partial<Pick<PodEnv, 'hostname' | 'ip'>>;

// ------------------------------------------------------------------ one exchange

export type DnsExchangeFailure = 'TIMEOUT' | 'CONNREFUSED' | 'UNREACHABLE';

export class DnsExchangeError extends Error {
  constructor(
    readonly kind: DnsExchangeFailure,
    readonly server: number,
    readonly localPort: number,
  ) {
    super(`dns exchange with ${ipv4ToString(server)}: ${kind}`);
    this.name = 'DnsExchangeError';
  }
}

export interface DnsExchangeResult {
  response: DnsMessage;
  /** Time from the (last) send to the answer, ms. */
  rttMs: number;
  server: number;
  port: number;
  localPort: number;
  /** Size of the answer in bytes (dig's "MSG SIZE rcvd"). */
  size: number;
}

export interface DnsExchangeOptions {
  port?: number;
  /** Wait this long for an answer before resending. */
  timeoutMs: number;
  /** Sends in total (1 = no retry). */
  tries: number;
  signal?: AbortSignal;
  /** Called with each datagram as it is sent (tries > 1 resends the same bytes). */
  onSend?(bytes: Uint8Array, attempt: number): void;
  /** Called when a try times out and another follows. */
  onRetry?(attempt: number): void;
}

interface StackClock {
  stack: NetStack;
  clock: Clock;
}

/**
 * Sends `query` over UDP to server:port from a fresh connected socket (as
 * glibc and BIND do: the kernel then drops datagrams from anyone else and
 * reports ICMP port unreachable as ECONNREFUSED) and waits for an answer with
 * the same id and question.
 */
export function dnsExchange(env: StackClock, server: number, query: DnsMessage, opts: DnsExchangeOptions): Promise<DnsExchangeResult> {
  const port = opts.port ?? DNS_PORT;
  const bytes = emitDns(query);
  const sock = env.stack.udpBind();
  const localPort = sock.localPort;
  return abortable<DnsExchangeResult>(opts.signal, (resolve, reject) => {
    let attempt = 0;
    let sentAt = 0;
    let timer: ReturnType<Clock['setTimer']> | undefined;
    const fail = (kind: DnsExchangeFailure): void => reject(new DnsExchangeError(kind, server, localPort));
    const send = (): void => {
      attempt++;
      sentAt = env.clock.now();
      opts.onSend?.(bytes, attempt);
      const rc = sock.send(bytes);
      if (rc < 0) {
        fail(rc === -111 ? 'CONNREFUSED' : 'UNREACHABLE');
        return;
      }
      timer = env.clock.setTimer(opts.timeoutMs, () => {
        timer = undefined;
        if (attempt >= opts.tries) {
          fail('TIMEOUT');
          return;
        }
        opts.onRetry?.(attempt);
        send();
      });
    };
    sock.onMessage = (payload) => {
      const msg = parseDns(payload);
      if (isParseFailure(msg) || !msg.qr || msg.id !== query.id || !sameQuestion(msg, query)) return;
      resolve({ response: msg, rttMs: env.clock.now() - sentAt, server, port, localPort, size: payload.length });
    };
    sock.onError = (err) => fail(err.code === 'ECONNREFUSED' ? 'CONNREFUSED' : 'UNREACHABLE');
    const rc = sock.connect(server, port);
    if (rc < 0) fail('UNREACHABLE');
    else send();
    return () => {
      if (timer) env.clock.clearTimer(timer);
      sock.close();
    };
  });
}

function sameQuestion(a: DnsMessage, b: DnsMessage): boolean {
  const qa = a.questions[0];
  const qb = b.questions[0];
  if (!qa || !qb) return a.questions.length === b.questions.length;
  return qa.type === qb.type && qa.class === qb.class && qa.name.toLowerCase() === qb.name.toLowerCase();
}

// ------------------------------------------------------------------ search logic

/** Splits a name into the candidates glibc tries, in order (without trailing dots). */
export function searchCandidates(name: string, resolv: Pick<ResolvConf, 'search' | 'ndots'>): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const dots = [...name].filter((c) => c === '.').length;
  const searched = resolv.search.filter((d) => d.length > 0 && d !== '.').map((d) => `${name}.${d.replace(/\.$/, '')}`);
  return dots >= resolv.ndots ? [name, ...searched] : [...searched, name];
}

/** A valid host name for a DNS query: labels of 1..63 letters, digits, '-' or '_', 255 bytes at most. */
export function isValidHostname(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n.length === 0 || n.length > 253) return false;
  return n.split('.').every((l) => l.length > 0 && l.length <= 63 && /^[A-Za-z0-9_-]+$/.test(l));
}

type QueryOutcome = { ok: true; addresses: number[]; server: number } | { ok: false; kind: ResolveFailure; server?: number; localPort?: number };

export class Resolver {
  private readonly hosts = new Map<string, number>();

  constructor(private readonly env: ResolverEnv) {
    // What kubelet writes into a pod's /etc/hosts.
    this.hosts.set('localhost', LOOPBACK);
    if (env.hostname && env.ip !== undefined) this.hosts.set(env.hostname.toLowerCase(), env.ip);
  }

  /** getaddrinfo(name, AF_INET): IPv4 addresses of `name`, or a ResolveError. Aborted when the signal fires. */
  async lookup(name: string, opts: { signal?: AbortSignal } = {}): Promise<ResolveResult> {
    const literal = parseIpv4Addr(name);
    if (literal !== null) return { query: name, name, addresses: [literal], source: 'literal' };
    const bare = name.endsWith('.') ? name.slice(0, -1) : name;
    const fromHosts = this.hosts.get(bare.toLowerCase());
    if (fromHosts !== undefined) return { query: name, name: bare, addresses: [fromHosts], source: 'hosts' };
    if (!isValidHostname(name)) throw new ResolveError('BADNAME', name);
    return this.search(name, opts.signal);
  }

  /** res_nsearch(): the candidates in glibc's order with its rules for when to stop. */
  private async search(name: string, signal: AbortSignal | undefined): Promise<ResolveResult> {
    const { resolv } = this.env;
    const absolute = name.endsWith('.');
    const bare = absolute ? name.slice(0, -1) : name;
    const dots = [...bare].filter((c) => c === '.').length;
    let triedAsIs = false;
    let savedFailure: QueryOutcome | undefined;
    let last: QueryOutcome | undefined;
    let gotNodata = false;
    let gotServfail = false;
    const found = (fqdn: string, o: QueryOutcome & { ok: true }): ResolveResult => ({
      query: name,
      name: fqdn,
      addresses: o.addresses,
      source: 'dns',
      server: o.server,
    });

    if (absolute || dots >= resolv.ndots) {
      const o = await this.queryAllServers(bare, signal);
      if (o.ok) return found(bare, o);
      if (absolute) throw this.errorFor(name, o);
      savedFailure = o;
      triedAsIs = true;
    }
    let done = false;
    for (const domain of resolv.search) {
      if (done) break;
      if (domain.length === 0 || domain === '.') continue;
      const fqdn = `${bare}.${domain.replace(/\.$/, '')}`;
      const o = await this.queryAllServers(fqdn, signal);
      if (o.ok) return found(fqdn, o);
      last = o;
      // A refused server ends everything at once (glibc returns TRY_AGAIN).
      if (o.kind === 'CONNREFUSED') throw this.errorFor(name, o);
      if (o.kind === 'NODATA') gotNodata = true;
      else if (o.kind === 'SERVFAIL') gotServfail = true;
      else if (o.kind !== 'NXDOMAIN') done = true;
    }
    if (!triedAsIs) {
      const o = await this.queryAllServers(bare, signal);
      if (o.ok) return found(bare, o);
      last = o;
    }
    if (savedFailure && !savedFailure.ok) throw this.errorFor(name, savedFailure);
    if (gotNodata) throw this.errorFor(name, { ok: false, kind: 'NODATA', server: last && !last.ok ? last.server : undefined });
    if (gotServfail) throw this.errorFor(name, { ok: false, kind: 'SERVFAIL', server: last && !last.ok ? last.server : undefined });
    throw this.errorFor(name, last ?? { ok: false, kind: 'NXDOMAIN' });
  }

  private errorFor(name: string, o: QueryOutcome): ResolveError {
    if (o.ok) return new ResolveError('NXDOMAIN', name);
    return new ResolveError(o.kind, name, o.server, o.localPort);
  }

  /**
   * res_nsend(): `attempts` rounds over the nameservers; the first server
   * waits `timeout`, later ones a share of it (glibc's retrans << ns / nscount).
   */
  private async queryAllServers(fqdn: string, signal: AbortSignal | undefined): Promise<QueryOutcome> {
    const { resolv, rng } = this.env;
    const servers = resolv.nameservers.length > 0 ? resolv.nameservers : [LOOPBACK];
    const timeout = resolv.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
    const attempts = resolv.attempts ?? DEFAULT_DNS_ATTEMPTS;
    let sawServfail = false;
    let last: QueryOutcome = { ok: false, kind: 'TIMEOUT' };
    for (let attempt = 0; attempt < attempts; attempt++) {
      for (let ns = 0; ns < servers.length; ns++) {
        const server = servers[ns]!;
        const wait = ns === 0 ? timeout : Math.max(1000, Math.floor((timeout * 2 ** ns) / servers.length));
        const query = dnsQuery(rng.u32() & 0xffff, fqdn, DnsType.A);
        let res: DnsExchangeResult;
        try {
          res = await dnsExchange(this.env, server, query, { timeoutMs: wait, tries: 1, signal });
        } catch (e) {
          if (e instanceof Aborted) throw e;
          if (e instanceof DnsExchangeError) {
            last = { ok: false, kind: e.kind, server, localPort: e.localPort };
            continue;
          }
          throw e;
        }
        const msg = res.response;
        if (msg.rcode === DnsRcode.SERVFAIL || msg.rcode === DnsRcode.REFUSED || msg.rcode === DnsRcode.NOTIMP || msg.rcode === DnsRcode.FORMERR) {
          sawServfail = true;
          last = { ok: false, kind: 'SERVFAIL', server, localPort: res.localPort };
          continue;
        }
        if (msg.rcode === DnsRcode.NXDOMAIN) return { ok: false, kind: 'NXDOMAIN', server, localPort: res.localPort };
        const addresses = msg.answers.filter((r) => r.type === DnsType.A && typeof r.data === 'number').map((r) => r.data as number);
        if (addresses.length === 0) return { ok: false, kind: 'NODATA', server, localPort: res.localPort };
        return { ok: true, addresses, server };
      }
    }
    if (sawServfail && !last.ok && last.kind !== 'SERVFAIL') return { ...last, kind: 'SERVFAIL' };
    return last;
  }
}

/** Convenience: one lookup with a pod's resolver. */
export function lookupHost(env: ResolverEnv, name: string, signal?: AbortSignal): Promise<ResolveResult> {
  return new Resolver(env).lookup(name, { signal });
}

/** The reverse-lookup name of an IPv4 address (1.2.3.4 → 4.3.2.1.in-addr.arpa). */
export function ptrName(addr: number): string {
  return ipv4ToString(addr).split('.').reverse().join('.') + '.in-addr.arpa';
}
