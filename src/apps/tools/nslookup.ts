// busybox nslookup (the musl-compatible one from OpenWrt that busybox ships):
// it applies the search list itself (only to names without a dot), sends an
// A and an AAAA query per candidate at once, and prints every reply as it
// arrives, "** server can't find" included, so `nslookup backend` in a pod
// shows the NXDOMAINs of the other search domains and exits 1. That is the
// real behaviour people meet in Kubernetes.

import { DnsType, dnsQuery, emitDns, parseDns, type DnsMessage, type DnsRecord, type DnsSoaData, type DnsSrvData, type DnsMxData } from '../../packet/dns.js';
import { isParseFailure } from '../../packet/error.js';
import { ipv4ToString, parseIpv4Addr } from '../../packet/ip.js';
import type { TimerHandle } from '../../util/clock.js';
import { Aborted } from '../proc.js';
import { Resolver, ptrName } from '../resolver.js';
import { signalExitCode, type AppCommand, type PodEnv } from '../types.js';
import { BUSYBOX_BANNER } from './getopt.js';

const USAGE = `${BUSYBOX_BANNER}

Usage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]

Query DNS about HOST

QUERY_TYPE: soa,ns,a,aaaa,cname,mx,txt,ptr,srv,any
`;

const QTYPES: Record<string, number> = {
  soa: DnsType.SOA,
  ns: DnsType.NS,
  a: DnsType.A,
  aaaa: DnsType.AAAA,
  cname: DnsType.CNAME,
  mx: DnsType.MX,
  txt: DnsType.TXT,
  srv: DnsType.SRV,
  ptr: DnsType.PTR,
  any: DnsType.ANY,
};

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

function ipv6Text(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}

/** The answer lines busybox's parse_reply() prints. */
function replyLines(msg: DnsMessage, debug: boolean): string {
  let out = '';
  if (!msg.aa) out += 'Non-authoritative answer:\n';
  else if (debug) out += 'authoritative answer:\n';
  for (const rr of msg.answers) out += recordLine(rr);
  return out;
}

function recordLine(rr: DnsRecord): string {
  switch (rr.type) {
    case DnsType.A:
      return `Name:\t${rr.name}\nAddress: ${ipv4ToString(rr.data as number)}\n`;
    case DnsType.AAAA:
      return `Name:\t${rr.name}\nAddress: ${ipv6Text(rr.data as Uint8Array)}\n`;
    case DnsType.NS:
      return `${rr.name}\tnameserver = ${rr.data as string}\n`;
    case DnsType.CNAME:
      return `${rr.name}\tcanonical name = ${rr.data as string}\n`;
    case DnsType.PTR:
      return `${rr.name}\tname = ${rr.data as string}\n`;
    case DnsType.MX: {
      const mx = rr.data as DnsMxData;
      return `${rr.name}\tmail exchanger = ${mx.preference} ${mx.exchange}\n`;
    }
    case DnsType.TXT:
      return `${rr.name}\ttext = "${(rr.data as string[]).join('')}"\n`;
    case DnsType.SRV: {
      const srv = rr.data as DnsSrvData;
      return `${rr.name}\tservice = ${srv.priority} ${srv.weight} ${srv.port} ${srv.target}\n`;
    }
    case DnsType.SOA: {
      const soa = rr.data as DnsSoaData;
      return `${rr.name}\n\torigin = ${soa.mname}\n\tmail addr = ${soa.rname}\n\tserial = ${soa.serial}\n\trefresh = ${soa.refresh}\n\tretry = ${soa.retry}\n\texpire = ${soa.expire}\n\tminimum = ${soa.minimum}\n`;
    }
    default:
      return '';
  }
}

interface PendingQuery {
  name: string;
  msg: DnsMessage;
  bytes: Uint8Array;
  answered: boolean;
}

export const nslookup: AppCommand = async (env, argv, io) => {
  let args = argv.slice(1);
  const types: number[] = [];
  let port = 53;
  let retry = 2;
  let timeoutS = 5;
  let debug = false;
  // Options come first, "-name=value" style.
  while (args.length > 0 && args[0]!.startsWith('-')) {
    const [rawName, value = ''] = args[0]!.slice(1).split(/=(.*)/s);
    const name = rawName!;
    args = args.slice(1);
    if (['type', 'querytype', 'query', 'q', 'ty'].includes(name)) {
      const t = QTYPES[value.toLowerCase()];
      if (t === undefined) {
        io.stderr(`nslookup: invalid query type "${value}"\n`);
        return 1;
      }
      types.push(t);
    } else if (name === 'port' || name === 'po') port = Number(value) || 53;
    else if (name === 'retry' || name === 'ret') retry = Math.max(1, Number(value) || 1);
    else if (name === 'timeout' || name === 't') timeoutS = Math.max(1, Number(value) || 1);
    else if (name === 'debug' || name === 'd2') debug = true;
    else {
      io.stderr(USAGE);
      return 1;
    }
  }
  if (args.length < 1 || args.length > 2) {
    io.stderr(USAGE);
    return 1;
  }
  const target = args[0]!;
  const serverArg = args[1];

  // The server: as given on the command line, else each resolv.conf nameserver in turn.
  const servers: { name: string; ip: number }[] = [];
  if (serverArg !== undefined) {
    let ip = parseIpv4Addr(serverArg);
    if (ip === null) {
      try {
        ip = (await new Resolver(env).lookup(serverArg, { signal: io.signal })).addresses[0]!;
      } catch (e) {
        if (e instanceof Aborted) return signalExitCode(io.signal);
        io.stderr(`nslookup: bad address '${serverArg}'\n`);
        return 1;
      }
    }
    servers.push({ name: serverArg, ip });
  } else {
    for (const ns of env.resolv.nameservers) servers.push({ name: ipv4ToString(ns), ip: ns });
    if (servers.length === 0) servers.push({ name: '127.0.0.1', ip: 0x7f000001 });
  }

  // The queries: PTR for an address, else A and AAAA with the search list for dotless names.
  const queries: PendingQuery[] = [];
  const add = (type: number, name: string): void => {
    const msg = dnsQuery(env.rng.u32() & 0xffff, name, type);
    queries.push({ name, msg, bytes: emitDns(msg), answered: false });
  };
  const withSearch = (type: number): void => {
    if (type === DnsType.PTR || env.resolv.search.length === 0 || target.includes('.')) add(type, target);
    else for (const d of env.resolv.search) add(type, `${target}.${d}`);
  };
  const addr = parseIpv4Addr(target);
  if (types.length === 0) {
    if (addr !== null) add(DnsType.PTR, ptrName(addr));
    else {
      withSearch(DnsType.A);
      withSearch(DnsType.AAAA);
    }
  } else {
    for (const t of types) withSearch(t);
  }

  let exitCode = 0;
  for (let s = 0; s < servers.length; s++) {
    const server = servers[s]!;
    let replies: number;
    try {
      replies = await sendQueries(
        env,
        server,
        port,
        queries,
        { timeoutMs: timeoutS * 1000, retry },
        {
          header: () => io.stdout(`Server:\t\t${server.name}\nAddress:\t${ipv4ToString(server.ip)}:${port}\n\n`),
          reply: (q, reply) => {
            if (reply.rcode !== 0) {
              io.stdout(`** server can't find ${q.name}: ${RCODES[reply.rcode] ?? String(reply.rcode)}\n\n`);
              exitCode = 1;
            } else {
              io.stdout(replyLines(reply, debug) + '\n');
            }
          },
        },
        io.signal,
      );
    } catch (e) {
      if (e instanceof Aborted) return signalExitCode(io.signal);
      throw e;
    }
    if (replies > 0) break;
    if (s === servers.length - 1) {
      io.stdout(';; connection timed out; no servers could be reached\n\n');
      return 1;
    }
  }
  let unanswered = false;
  for (const q of queries) {
    if (!q.answered) {
      io.stdout(`*** Can't find ${q.name}: No answer\n`);
      unanswered = true;
    }
  }
  if (unanswered) io.stdout('\n');
  return exitCode;
};

/**
 * busybox send_queries(): all queries on one connected socket, the
 * unanswered ones resent every timeout/retry, for `timeout` in total.
 * `onHeader` runs on the first reply (busybox prints "Server:" then).
 * Returns the number of replies seen.
 */
function sendQueries(
  env: PodEnv,
  server: { name: string; ip: number },
  port: number,
  queries: PendingQuery[],
  timing: { timeoutMs: number; retry: number },
  on: { header(): void; reply(q: PendingQuery, reply: DnsMessage): void },
  signal: AbortSignal,
): Promise<number> {
  const clock = env.clock;
  const sock = env.stack.udpBind();
  return new Promise<number>((resolve, reject) => {
    let replies = 0;
    let headerShown = false;
    let servfailRetries = 2 * queries.length;
    const timers: TimerHandle[] = [];
    const done = (err?: unknown): void => {
      for (const t of timers) clock.clearTimer(t);
      signal.removeEventListener('abort', onAbort);
      sock.close();
      if (err) reject(err);
      else resolve(replies);
    };
    const onAbort = (): void => done(new Aborted(signal.reason));
    if (signal.aborted) {
      done(new Aborted(signal.reason));
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const sendUnanswered = (): void => {
      for (const q of queries) if (!q.answered) sock.send(q.bytes);
    };
    sock.onMessage = (payload) => {
      const reply = parseDns(payload);
      if (isParseFailure(reply)) return;
      if (!headerShown) {
        headerShown = true;
        on.header();
      }
      const q = queries.find((x) => x.msg.id === reply.id);
      if (!q || q.answered) return;
      // SERVFAIL is retried at once, a few times.
      if (reply.rcode === 2 && servfailRetries > 0) {
        servfailRetries--;
        sock.send(q.bytes);
        return;
      }
      q.answered = true;
      replies++;
      on.reply(q, reply);
      if (queries.every((x) => x.answered)) done();
    };
    if (sock.connect(server.ip, port) < 0) {
      done();
      return;
    }
    sendUnanswered();
    const interval = timing.timeoutMs / timing.retry;
    for (let t = interval; t < timing.timeoutMs; t += interval) timers.push(clock.setTimer(t, sendUnanswered));
    timers.push(clock.setTimer(timing.timeoutMs, () => done()));
  });
}
