// dig (BIND 9.18): one query (EDNS0, no search list unless +search) to the
// resolv.conf nameserver or @server, and the full presentation: header,
// flags, OPT pseudosection, sections aligned on BIND's tab columns, stats.
// +short prints only the data. Exit 9 when no server answered.

import { DnsClass, DnsRcode, DnsType, dnsQuery, dnsRcodeName, dnsTypeName, type DnsMessage, type DnsRecord, type DnsMxData, type DnsSoaData, type DnsSrvData } from '../../packet/dns.js';
import { ipv4ToString, parseIpv4Addr } from '../../packet/ip.js';
import { Aborted } from '../proc.js';
import { DnsExchangeError, Resolver, dnsExchange, ptrName, searchCandidates } from '../resolver.js';
import { signalExitCode, type AppCommand } from '../types.js';

export const DIG_VERSION = '9.18.24';
const EDNS_UDP_SIZE = 1232;

interface DigOptions {
  name: string | undefined;
  type: number;
  server: string | undefined;
  port: number;
  short: boolean;
  search: boolean;
  timeS: number;
  tries: number;
  recurse: boolean;
  edns: boolean;
  ndots: number | undefined;
  show: { cmd: boolean; comments: boolean; question: boolean; answer: boolean; authority: boolean; additional: boolean; stats: boolean };
}

const TYPE_NAMES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 };

function parseDigArgs(args: string[]): DigOptions | string {
  const o: DigOptions = {
    name: undefined,
    type: DnsType.A,
    server: undefined,
    port: 53,
    short: false,
    search: false,
    timeS: 5,
    tries: 3,
    recurse: true,
    edns: true,
    ndots: undefined,
    show: { cmd: true, comments: true, question: true, answer: true, authority: true, additional: true, stats: true },
  };
  let typeSet = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('@')) {
      o.server = a.slice(1);
      continue;
    }
    if (a.startsWith('+')) {
      const [flag, value] = a.slice(1).split('=') as [string, string | undefined];
      const no = flag.startsWith('no');
      const base = no ? flag.slice(2) : flag;
      const on = !no;
      switch (base) {
        case 'short':
          o.short = on;
          break;
        case 'search':
          o.search = on;
          break;
        case 'time':
          o.timeS = Math.max(1, Number(value) || 1);
          break;
        case 'tries':
          o.tries = Math.max(1, Number(value) || 1);
          break;
        case 'retry':
          o.tries = Math.max(0, Number(value) || 0) + 1;
          break;
        case 'recurse':
          o.recurse = on;
          break;
        case 'edns':
          o.edns = on;
          break;
        case 'ndots':
          o.ndots = Number(value) || 0;
          break;
        case 'all':
          for (const k of Object.keys(o.show) as (keyof DigOptions['show'])[]) o.show[k] = on;
          break;
        case 'cmd':
        case 'comments':
        case 'question':
        case 'answer':
        case 'authority':
        case 'additional':
        case 'stats':
          o.show[base] = on;
          break;
        case 'cookie':
        case 'tcp':
        case 'vc':
        case 'ttlid':
        case 'cl':
        case 'class':
        case 'identify':
        case 'multiline':
          break;
        default:
          return `Invalid option: +${flag}`;
      }
      continue;
    }
    if (a === '-x' && i + 1 < args.length) {
      const ip = parseIpv4Addr(args[++i]!);
      if (ip === null) return `';; Invalid IP address ${args[i]}'`;
      o.name = ptrName(ip);
      o.type = DnsType.PTR;
      typeSet = true;
      continue;
    }
    if (a === '-t' && i + 1 < args.length) {
      const t = TYPE_NAMES[args[++i]!.toUpperCase()];
      if (t === undefined) return `invalid type: ${args[i]}`;
      o.type = t;
      typeSet = true;
      continue;
    }
    if (a === '-p' && i + 1 < args.length) {
      o.port = Number(args[++i]) || 53;
      continue;
    }
    if (a === '-4' || a === '-6') continue;
    if (a.startsWith('-')) return `Invalid option: ${a}`;
    const asType = TYPE_NAMES[a.toUpperCase()];
    if (asType !== undefined && o.name !== undefined && !typeSet) {
      o.type = asType;
      typeSet = true;
      continue;
    }
    if (a.toUpperCase() === 'IN') continue;
    o.name = a;
  }
  return o;
}

/** The display column after `line`, with tab stops every 8. */
function column(line: string): number {
  let col = 0;
  for (const c of line) col = c === '\t' ? (Math.floor(col / 8) + 1) * 8 : col + 1;
  return col;
}

/** BIND's column alignment: tabs to the next stop, or one space when already past it. */
function indent(line: string, to: number): string {
  let col = column(line);
  if (col >= to) return line + ' ';
  let out = line;
  while (col < to) {
    col = (Math.floor(col / 8) + 1) * 8;
    out += '\t';
  }
  return out;
}

function rdataText(rr: DnsRecord): string {
  const d = rr.data;
  switch (rr.type) {
    case DnsType.A:
      return ipv4ToString(d as number);
    case DnsType.CNAME:
    case DnsType.PTR:
    case DnsType.NS:
      return `${d as string}.`;
    case DnsType.MX: {
      const mx = d as DnsMxData;
      return `${mx.preference} ${mx.exchange}.`;
    }
    case DnsType.SRV: {
      const s = d as DnsSrvData;
      return `${s.priority} ${s.weight} ${s.port} ${s.target}.`;
    }
    case DnsType.SOA: {
      const s = d as DnsSoaData;
      return `${s.mname}. ${s.rname}. ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    case DnsType.TXT:
      return (d as string[]).map((t) => JSON.stringify(t)).join(' ');
    case DnsType.AAAA: {
      const b = d as Uint8Array;
      const words: string[] = [];
      for (let i = 0; i < 16; i += 2) words.push(((b[i]! << 8) | b[i + 1]!).toString(16));
      return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
    }
    default:
      return `\\# ${(d as Uint8Array).length}`;
  }
}

function recordLine(rr: DnsRecord): string {
  let line = `${rr.name}.`;
  line = indent(line, 24) + String(rr.ttl);
  line = indent(line, 32) + (rr.class === DnsClass.IN ? 'IN' : `CLASS${rr.class}`);
  line = indent(line, 40) + dnsTypeName(rr.type);
  line = indent(line, 48) + rdataText(rr);
  return line;
}

function flagsText(m: DnsMessage): string {
  const f: string[] = [];
  if (m.qr) f.push('qr');
  if (m.aa) f.push('aa');
  if (m.tc) f.push('tc');
  if (m.rd) f.push('rd');
  if (m.ra) f.push('ra');
  if (m.ad) f.push('ad');
  if (m.cd) f.push('cd');
  return f.join(' ');
}

/** "Thu Jan 01 00:02:44 UTC 2026" */
function whenText(wallMs: number): string {
  const d = new Date(wallMs);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

function fullOutput(o: DigOptions, argsText: string, res: { response: DnsMessage; rttMs: number; server: number; port: number; size: number }, serverName: string, wallMs: number): string {
  const m = res.response;
  let s = '';
  if (o.show.cmd) s += `\n; <<>> DiG ${DIG_VERSION} <<>> ${argsText}\n;; global options: +cmd\n`;
  if (o.show.comments) {
    const opt = m.additional.find((r) => r.type === DnsType.OPT);
    const additional = m.additional.length;
    s += ';; Got answer:\n';
    s += `;; ->>HEADER<<- opcode: QUERY, status: ${dnsRcodeName(m.rcode)}, id: ${m.id}\n`;
    s += `;; flags: ${flagsText(m)}; QUERY: ${m.questions.length}, ANSWER: ${m.answers.length}, AUTHORITY: ${m.authority.length}, ADDITIONAL: ${additional}\n`;
    if (m.rd && !m.ra) s += ';; WARNING: recursion requested but not available\n';
    if (opt) s += `\n;; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: ${opt.class}\n`;
  }
  if (o.show.question) {
    if (o.show.comments) s += ';; QUESTION SECTION:\n';
    for (const q of m.questions) s += indent(indent(`;${q.name}.`, 32) + 'IN', 40) + dnsTypeName(q.type) + '\n';
    if (o.show.comments) s += '\n';
  }
  const section = (title: string, list: DnsRecord[], shown: boolean): void => {
    const records = list.filter((r) => r.type !== DnsType.OPT);
    if (!shown || records.length === 0) return;
    if (o.show.comments) s += `;; ${title} SECTION:\n`;
    for (const r of records) s += recordLine(r) + '\n';
    if (o.show.comments) s += '\n';
  };
  section('ANSWER', m.answers, o.show.answer);
  section('AUTHORITY', m.authority, o.show.authority);
  section('ADDITIONAL', m.additional, o.show.additional);
  if (o.show.stats) {
    s += `;; Query time: ${Math.floor(res.rttMs)} msec\n`;
    s += `;; SERVER: ${ipv4ToString(res.server)}#${res.port}(${serverName}) (UDP)\n`;
    s += `;; WHEN: ${whenText(wallMs)}\n`;
    s += `;; MSG SIZE  rcvd: ${res.size}\n\n`;
  }
  return s;
}

export const dig: AppCommand = async (env, argv, io) => {
  const parsed = parseDigArgs(argv.slice(1));
  if (typeof parsed === 'string') {
    io.stderr(`${parsed}\n`);
    return 1;
  }
  const o = parsed;
  const argsText = argv.slice(1).join(' ');
  // No name: dig asks for the root NS records.
  const name = o.name ?? '';
  const type = o.name === undefined ? DnsType.NS : o.type;

  let serverIp: number;
  let serverName: string;
  if (o.server !== undefined) {
    const literal = parseIpv4Addr(o.server);
    if (literal !== null) serverIp = literal;
    else {
      try {
        serverIp = (await new Resolver(env).lookup(o.server, { signal: io.signal })).addresses[0]!;
      } catch (e) {
        if (e instanceof Aborted) return signalExitCode(io.signal);
        io.stderr(`dig: couldn't get address for '${o.server}': not found\n`);
        return 10;
      }
    }
    serverName = o.server;
  } else {
    serverIp = env.resolv.nameservers[0] ?? 0x7f000001;
    serverName = ipv4ToString(serverIp);
  }

  const candidates = o.search && name !== '' ? searchCandidates(name, { search: env.resolv.search, ndots: o.ndots ?? env.resolv.ndots }) : [name.replace(/\.$/, '')];
  let last: Awaited<ReturnType<typeof dnsExchange>> | undefined;
  for (const candidate of candidates) {
    const query = dnsQuery(env.rng.u32() & 0xffff, candidate, type);
    query.rd = o.recurse;
    if (o.edns) query.additional.push({ name: '', type: DnsType.OPT, class: EDNS_UDP_SIZE, ttl: 0, data: new Uint8Array(0) });
    try {
      last = await dnsExchange(env, serverIp, query, {
        port: o.port,
        timeoutMs: o.timeS * 1000,
        tries: o.tries,
        signal: io.signal,
        onRetry: () => io.stdout(`;; communications error to ${ipv4ToString(serverIp)}#${o.port}: timed out\n`),
      });
    } catch (e) {
      if (e instanceof Aborted) return signalExitCode(io.signal);
      if (e instanceof DnsExchangeError) {
        const why = e.kind === 'TIMEOUT' ? 'timed out' : e.kind === 'CONNREFUSED' ? 'connection refused' : 'host unreachable';
        let s = `;; communications error to ${ipv4ToString(serverIp)}#${o.port}: ${why}\n`;
        if (!o.short) s += `\n; <<>> DiG ${DIG_VERSION} <<>> ${argsText}\n;; global options: +cmd\n;; no servers could be reached\n\n`;
        else s += ';; no servers could be reached\n';
        io.stdout(s);
        return 9;
      }
      throw e;
    }
    if (last.response.rcode !== DnsRcode.NXDOMAIN) break;
  }
  const res = last!;
  if (o.short) {
    io.stdout(res.response.answers.filter((r) => r.type !== DnsType.OPT).map((r) => rdataText(r) + '\n').join(''));
    return 0;
  }
  io.stdout(fullOutput(o, argsText, res, serverName, env.clock.wallNow()));
  return 0;
};
