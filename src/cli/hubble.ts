// The `hubble` CLI: `observe` (flows), `status`, `list nodes`, `version`.
// Flags are parsed with commander, but filter flags are applied in the order
// they appear (as pflag calls Set()), because `--not` and the left/right
// trackers depend on it. Errors read like Hubble's (cobra/pflag wording,
// `Error: ...` on stderr, exit code 1). The backend is the in-process relay,
// one node's observer (inside a cilium pod), or the daemon over its socket.

import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Command, CommanderError, Option } from 'commander';
import type { AppCommand, ProcessIO } from '../apps/types.js';
import { flowFromJson, parseTimestamp, timeFromMillis, type Flow, type Timestamp } from '../hubble/flow.js';
import { compileFilters, FILTER_FLAGS, FilterError, ObserveFilterBuilder, type FlowFilter } from '../hubble/filter.js';
import type { GetFlowsRequest } from '../hubble/observer.js';
import { FlowPrinter, TIME_FORMATS, type OutputFormat, type TimeFormat } from '../hubble/printer.js';
import type { FlowSink, HubbleBackend, NodeInfo, ServerStatus } from '../hubble/relay.js';
import { onJsonLines } from '../util/http.js';

export interface HubbleCliContext {
  /** Where to send requests (resolved lazily: a bad flag never needs a server). */
  backend: () => HubbleBackend | Promise<HubbleBackend>;
  io: ProcessIO;
  /** Environment (HUBBLE_COMPAT=legacy-json-output). */
  env?: Record<string, string | undefined>;
  /** The cluster's wall-clock now (ms), for `--since 5m`; default: ask the backend or Date.now(). */
  now?: () => number;
}

class HubbleCliError extends Error {}

/** Go's time.ParseDuration. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(s);
  if (!m) return undefined;
  const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const part of s.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * unitMs[part[2]!]!;
  return m[1] === '-' ? -total : total;
}

/** Go's Duration.String() for whole seconds and above (`1h2m3s`, `16m40s`, `0s`). */
export function formatGoDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/** --since/--until: a Go duration ago, or one of Hubble's absolute layouts. */
export function parseTimeArg(v: string, nowMs: number): Timestamp | undefined {
  const d = parseGoDuration(v);
  if (d !== undefined) return timeFromMillis(nowMs - d);
  const rfc = parseTimestamp(v);
  if (rfc) return rfc;
  let m = /^(\d{4}-\d\d-\d\d)$/.exec(v);
  if (m) return timeFromMillis(Date.parse(`${m[1]}T00:00:00Z`));
  m = /^(\d{4}-\d\d-\d\dT\d\d)(Z|[+-]\d\d:\d\d)$/.exec(v);
  if (m) return timeFromMillis(Date.parse(`${m[1]}:00:00${m[2]}`));
  m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d)(Z|[+-]\d\d:\d\d)$/.exec(v);
  if (m) return timeFromMillis(Date.parse(`${m[1]}:00${m[2]}`));
  // RFC1123Z: Mon, 02 Jan 2006 15:04:05 -0700
  m = /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/.exec(v);
  if (m) {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms)) return timeFromMillis(ms);
  }
  return undefined;
}

function withCommas(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

// ---- flags --------------------------------------------------------------------------------

const SHORT: Record<string, string> = { namespace: 'n', label: 'l', type: 't', 'all-namespaces': 'A', ipv4: '4', ipv6: '6' };
const BOOLEAN_FILTERS = new Set(['not', 'ipv4', 'ipv6', 'all-namespaces', 'from-all-namespaces', 'to-all-namespaces', 'encrypted', 'unencrypted']);

function flagLabel(name: string): string {
  return SHORT[name] ? `-${SHORT[name]}, --${name}` : `--${name}`;
}

interface ObserveOptions {
  last?: string;
  first?: string;
  all?: boolean;
  follow?: boolean;
  since?: string;
  until?: string;
  output?: string;
  timeFormat?: string;
  printNodeName?: boolean;
  printPolicyNames?: boolean;
  numeric?: boolean;
  ipTranslation?: string | boolean;
  fieldMask?: string;
  printRawFilters?: boolean;
  allowlist?: string[];
  denylist?: string[];
  inputFile?: string;
  json?: boolean;
  dict?: boolean;
  compact?: boolean;
}

function observeCommand(): { cmd: Command; builder: ObserveFilterBuilder } {
  const builder = new ObserveFilterBuilder();
  const cmd = new Command('observe');
  cmd.description('Observe flows of a Hubble server').allowExcessArguments(false);
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  cmd
    .option('--last <n>', 'Get last N flows stored in Hubble\'s buffer')
    .option('--first <n>', 'Get first N flows stored in Hubble\'s buffer')
    .option('--all', 'Get all flows stored in Hubble\'s buffer')
    .option('-f, --follow', 'Follow flows output')
    .option('--since <time>', 'Filter flows since a specific date (relative or RFC3339)')
    .option('--until <time>', 'Filter flows until a specific date (relative or RFC3339)')
    .option('-o, --output <format>', 'Specify the output format, one of: compact, dict, json, jsonpb, table', 'compact')
    .option('--time-format <format>', 'Specify the time format for printing', 'StampMilli')
    .option('--print-node-name', 'Print node name in output')
    .option('--print-policy-names', 'Print names of the policies that allowed/denied traffic')
    .option('--numeric', 'Display all information in numeric form')
    .option('--ip-translation [bool]', 'Translate IP addresses to logical names such as pod name, FQDN, ...')
    .option('--color <when>', 'Colorize the output when the output format is one of \'compact\' or \'dict\'', 'auto')
    .option('--field-mask <fields>', 'Comma-separated list of fields for mask (JSON output only)')
    .option('--print-raw-filters', 'Print allowlist/denylist filters and exit without sending the request')
    .option('--allowlist <filter>', 'Specify allowlist as JSON encoded FlowFilters', collect)
    .option('--denylist <filter>', 'Specify denylist as JSON encoded FlowFilters', collect)
    .option('--input-file <path>', 'Query flows from this file instead of the server. Use \'-\' to read from stdin')
    .option('-s, --silent-errors', 'Silently ignores errors and warnings')
    .option('-D, --debug', 'Enable debug messages')
    .option('-j, --json', 'Deprecated. Use \'--output json\' instead')
    .option('--dict', 'Deprecated. Use \'--output dict\' instead')
    .option('--compact', 'Deprecated. Use \'--output compact\' instead')
    .option('--server <address>', 'Address of a Hubble server')
    .option('-P, --port-forward', 'Automatically forward the relay port to the local machine')
    .option('--port-forward-port <port>', 'Local port to forward to')
    .option('--timeout <duration>', 'Hubble server dialing timeout')
    .option('--request-timeout <duration>', 'Unary Request timeout')
    .option('--tls', 'Specify that TLS must be used')
    .option('--tls-allow-insecure', 'Allow insecure TLS connections')
    .option('--tls-ca-cert-files <files>', 'Paths to custom CA certificates')
    .option('--tls-client-cert-file <file>', 'Path to the public key file')
    .option('--tls-client-key-file <file>', 'Path to the private key file')
    .option('--tls-server-name <name>', 'Server name for TLS')
    .option('--basic-auth-username <user>', 'Basic auth username')
    .option('--basic-auth-password <password>', 'Basic auth password')
    .option('--kube-context <ctx>', 'Kubernetes configuration context')
    .option('--kube-namespace <ns>', 'Namespace Cilium is running in')
    .option('--kubeconfig <path>', 'Path to the kubeconfig file')
    .option('--config <file>', 'Optional config file');
  for (const name of FILTER_FLAGS) {
    const short = SHORT[name];
    const flags = `${short ? `-${short}, ` : ''}--${name}${BOOLEAN_FILTERS.has(name) ? '' : ` <${name === 'type' ? 'filter' : 'value'}>`}`;
    cmd.addOption(new Option(flags, `filter: ${name}`));
    cmd.on(`option:${name}`, (v: unknown) => {
      try {
        builder.set(name, typeof v === 'string' ? v : 'true');
      } catch (e) {
        if (e instanceof FilterError) {
          if (name === 'not') throw new HubbleCliError(e.message);
          throw new HubbleCliError(`invalid argument ${JSON.stringify(typeof v === 'string' ? v : 'true')} for ${JSON.stringify(flagLabel(name))} flag: ${e.message}`);
        }
        throw e;
      }
    });
  }
  return { cmd, builder };
}

function pflagMessage(e: CommanderError): string {
  const m = /'(-[^' ]+)/.exec(e.message);
  const flag = m?.[1] ?? '';
  switch (e.code) {
    case 'commander.unknownOption':
      if (/^-[^-]/.test(flag)) return `unknown shorthand flag: '${flag[1]}' in ${flag}`;
      return `unknown flag: ${flag}`;
    case 'commander.optionMissingArgument': {
      const long = /--([a-z0-9-]+)/.exec(e.message)?.[1] ?? flag;
      return `flag needs an argument: --${long}`;
    }
    case 'commander.excessArguments': {
      const arg = /Received (\d+)/.exec(e.message);
      return arg ? `unknown command for "hubble observe"` : e.message;
    }
    default:
      return e.message.replace(/^error: /, '');
  }
}

function parseCount(flag: string, v: string | undefined): number {
  if (v === undefined) return 0;
  if (!/^\d+$/.test(v)) throw new HubbleCliError(`invalid argument ${JSON.stringify(v)} for ${JSON.stringify(`--${flag}`)} flag: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

function parseRawFilters(list: string[] | undefined, flag: string): FlowFilter[] {
  return (list ?? []).map((s) => {
    try {
      const v = JSON.parse(s) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      return v as FlowFilter;
    } catch (e) {
      throw new HubbleCliError(`invalid argument ${JSON.stringify(s)} for "--${flag}" flag: ${(e as Error).message}`);
    }
  });
}

function yamlFilters(name: string, list: FlowFilter[]): string {
  if (!list.length) return `${name}: []\n`;
  return `${name}:\n${list.map((f) => `    - '${JSON.stringify(f).replace(/'/g, "''")}'`).join('\n')}\n`;
}

/**
 * Parse a subcommand's arguments as hubble's cobra does: help goes to stdout
 * (exit 0), a flag error is `Error: ...` on stderr (exit 1). Undefined means
 * parsed: go on.
 */
function parseArgs(cmd: Command, argv: string[], io: HubbleCliContext['io']): number | undefined {
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: (s) => io.stdout(s), writeErr: () => {} });
  try {
    cmd.parse(argv, { from: 'user' });
    return undefined;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return 0;
      io.stderr(`Error: ${pflagMessage(e)}\n`);
      return 1;
    }
    if (e instanceof HubbleCliError) {
      io.stderr(`Error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function runObserve(argv: string[], ctx: HubbleCliContext): Promise<number> {
  const { io } = ctx;
  const { cmd, builder } = observeCommand();
  const refused = parseArgs(cmd, argv[0] === 'flows' ? argv.slice(1) : argv, io);
  if (refused !== undefined) return refused;
  const o = cmd.opts<ObserveOptions>();
  let output: OutputFormat;
  let first = 0;
  let last = 0;
  let filters: { whitelist: FlowFilter[]; blacklist: FlowFilter[] };
  try {
    filters = builder.finish();
    filters.whitelist.push(...parseRawFilters(o.allowlist, 'allowlist'));
    filters.blacklist.push(...parseRawFilters(o.denylist, 'denylist'));
    last = parseCount('last', o.last);
    first = parseCount('first', o.first);
    if (first > 0 && last > 0) throw new HubbleCliError('cannot set both --first and --last');
    if (first > 0 && o.all) throw new HubbleCliError('cannot set both --first and --all');
    if (first > 0 && o.follow) throw new HubbleCliError('cannot set both --first and --follow');
    if (last > 0 && o.all) throw new HubbleCliError('cannot set both --last and --all');
    const out = o.json ? 'json' : o.dict ? 'dict' : o.compact ? 'compact' : (o.output ?? 'compact');
    if (!['compact', 'dict', 'json', 'jsonpb', 'table', 'tab'].includes(out)) throw new HubbleCliError(`invalid output format: ${out}`);
    output = out as OutputFormat;
    if ((output === 'table' || output === 'tab') && o.follow) throw new HubbleCliError('table output format is not compatible with follow mode');
    if (o.fieldMask && output !== 'json' && output !== 'jsonpb') throw new HubbleCliError('not compatible with output format: field-mask is only supported with JSON output');
    if (!TIME_FORMATS.includes(o.timeFormat as TimeFormat)) throw new HubbleCliError(`invalid time format: ${o.timeFormat}`);
    if (builder.httpFlags.length && builder.types.length && !builder.types.includes(129)) {
      throw new HubbleCliError(`filter --${builder.httpFlags[0]} requires --type l7: only L7 flows carry HTTP fields`);
    }
  } catch (e) {
    if (e instanceof HubbleCliError || e instanceof FilterError) {
      io.stderr(`Error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }

  if (o.printRawFilters) {
    io.stdout(yamlFilters('allowlist', filters.whitelist) + yamlFilters('denylist', filters.blacklist));
    return 0;
  }

  const numeric = o.numeric || o.ipTranslation === 'false' || o.ipTranslation === false;
  const printer = new FlowPrinter({
    output,
    timeFormat: o.timeFormat as TimeFormat,
    printNodeName: !!o.printNodeName,
    printPolicyNames: !!o.printPolicyNames,
    numeric,
    legacyJson: ctx.env?.['HUBBLE_COMPAT'] === 'legacy-json-output',
    ...(o.fieldMask ? { fieldMask: o.fieldMask.split(',').map((x) => x.trim()).filter(Boolean) } : {}),
    write: (s) => io.stdout(s),
  });

  if (o.inputFile) return readInputFile(o.inputFile, filters, printer, ctx);

  let backend: HubbleBackend;
  try {
    backend = await ctx.backend();
  } catch (e) {
    io.stderr(`Error: failed to connect to the Hubble server: ${(e as Error).message}\n`);
    return 1;
  }
  const nowMs = ctx.now ? ctx.now() : await (backend as HubbleBackend & { now?: () => Promise<number> }).now?.() ?? Date.now();
  const req: GetFlowsRequest = { whitelist: filters.whitelist, blacklist: filters.blacklist };
  try {
    if (o.since !== undefined) {
      const t = parseTimeArg(o.since, nowMs);
      if (!t) throw new HubbleCliError(`failed to parse the since time: ${JSON.stringify(o.since)} is neither a duration nor a supported time format`);
      req.since = t;
    }
    if (o.until !== undefined && !o.follow) {
      const t = parseTimeArg(o.until, nowMs);
      if (!t) throw new HubbleCliError(`failed to parse the until time: ${JSON.stringify(o.until)} is neither a duration nor a supported time format`);
      req.until = t;
    }
  } catch (e) {
    io.stderr(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  if (o.all) req.number = Infinity;
  else if (last > 0) req.number = last;
  else if (first > 0) {
    req.number = first;
    req.first = true;
  }
  if (o.follow) req.follow = true;
  if (!o.follow && o.since === undefined && o.until === undefined && !req.first && !req.number) req.number = 20;

  const sink: FlowSink = { flow: (f) => printer.flow(f), notice: (m) => io.stderr(`${m}\n`) };
  try {
    await backend.getFlows(req, sink, io.signal);
  } catch (e) {
    io.stderr(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  printer.close();
  return 0;
}

async function readInputFile(path: string, filters: { whitelist: FlowFilter[]; blacklist: FlowFilter[] }, printer: FlowPrinter, ctx: HubbleCliContext): Promise<number> {
  let text = '';
  try {
    if (path === '-') {
      const dec = new TextDecoder();
      for await (const chunk of ctx.io.stdin ?? []) text += dec.decode(chunk, { stream: true });
    } else text = readFileSync(path, 'utf8');
  } catch (e) {
    ctx.io.stderr(`Error: failed to open ${path}: ${(e as Error).message}\n`);
    return 1;
  }
  const match = compileFilters(filters.whitelist, filters.blacklist);
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let f: Flow;
    try {
      const obj = JSON.parse(line) as Record<string, unknown>;
      if (obj['flow'] === undefined && obj['time'] === undefined) continue;
      f = flowFromJson(obj);
    } catch {
      ctx.io.stderr(`Error: failed to decode line: ${line.slice(0, 80)}\n`);
      return 1;
    }
    if (match(f)) printer.flow(f);
  }
  printer.close();
  return 0;
}

// ---- status, list nodes ---------------------------------------------------------------------

async function runStatus(argv: string[], ctx: HubbleCliContext): Promise<number> {
  const cmd = new Command('status').option('-o, --output <format>', 'output format: compact, dict, json, table', 'compact').allowUnknownOption(false);
  for (const f of ['--server <address>', '-P, --port-forward', '--timeout <d>', '--request-timeout <d>', '--tls', '--kube-context <c>', '--kube-namespace <ns>', '--kubeconfig <p>', '--config <f>']) cmd.option(f);
  const refused = parseArgs(cmd, argv, ctx.io);
  if (refused !== undefined) return refused;
  const output = cmd.opts<{ output: string }>().output;
  let backend: HubbleBackend;
  let st: ServerStatus;
  try {
    backend = await ctx.backend();
    st = await backend.serverStatus();
  } catch (e) {
    ctx.io.stderr(`Error: failed to connect to the Hubble server: ${(e as Error).message}\n`);
    return 1;
  }
  const rate = st.flows_rate > 0 ? st.flows_rate.toFixed(2) : st.uptime_ns > 0 ? (st.seen_flows / (st.uptime_ns / 1e9)).toFixed(2) : 'N/A';
  switch (output) {
    case 'json': {
      const parts = [`"num_flows":"${st.num_flows}"`, `"max_flows":"${st.max_flows}"`, `"seen_flows":"${st.seen_flows}"`, `"uptime_ns":"${st.uptime_ns}"`];
      if (st.num_connected_nodes !== undefined) parts.push(`"num_connected_nodes":${st.num_connected_nodes}`);
      if (st.num_unavailable_nodes !== undefined) parts.push(`"num_unavailable_nodes":${st.num_unavailable_nodes}`);
      parts.push(`"version":${JSON.stringify(st.version)}`);
      if (st.flows_rate) parts.push(`"flows_rate":${Number(st.flows_rate.toFixed(6))}`);
      ctx.io.stdout(`{${parts.join(',')}}\n`);
      return 0;
    }
    case 'dict': {
      const rows: [string, string][] = [
        ['NUM FLOWS', withCommas(st.num_flows)],
        ['MAX FLOWS', withCommas(st.max_flows)],
        ['SEEN FLOWS', withCommas(st.seen_flows)],
        ['FLOWS PER SECOND', rate],
        ['UPTIME', formatGoDuration(st.uptime_ns / 1e6)],
      ];
      if (st.num_connected_nodes !== undefined) rows.push(['NUM CONNECTED NODES', String(st.num_connected_nodes)], ['NUM UNAVAIL. NODES', String(st.num_unavailable_nodes ?? 0)]);
      rows.push(['VERSION', st.version]);
      const w = Math.max(...rows.map((r) => r[0].length));
      ctx.io.stdout(rows.map(([k, v]) => `${k.padStart(w)}: ${v}`).join('\n') + '\n');
      return 0;
    }
    case 'table': {
      const head = ['NUM FLOWS', 'MAX FLOWS', 'SEEN FLOWS', 'FLOWS PER SECOND', 'UPTIME', 'NUM CONNECTED NODES', 'NUM UNAVAILABLE NODES', 'VERSION'];
      const row = [withCommas(st.num_flows), withCommas(st.max_flows), withCommas(st.seen_flows), rate, formatGoDuration(st.uptime_ns / 1e6), String(st.num_connected_nodes ?? 'N/A'), String(st.num_unavailable_nodes ?? 'N/A'), st.version];
      const { tabwrite } = await import('../hubble/printer.js');
      ctx.io.stdout(tabwrite([head, row]));
      return 0;
    }
    case 'compact':
      break;
    default:
      ctx.io.stderr(`Error: unknown output format: ${output}\n`);
      return 1;
  }
  const pct = st.max_flows ? ((st.num_flows / st.max_flows) * 100).toFixed(2) : '0.00';
  const lines = [`Healthcheck (via ${backend.address}): Ok`, `Current/Max Flows: ${withCommas(st.num_flows)}/${withCommas(st.max_flows)} (${pct}%)`, `Flows/s: ${rate}`];
  if (st.num_connected_nodes !== undefined) lines.push(`Connected Nodes: ${st.num_connected_nodes}/${st.num_connected_nodes + (st.num_unavailable_nodes ?? 0)}`);
  if (st.num_unavailable_nodes) {
    lines.push(`Unavailable Nodes: ${st.num_unavailable_nodes}`);
    for (const n of [...(st.unavailable_nodes ?? [])].sort()) lines.push(`  - ${n}`);
  }
  ctx.io.stdout(lines.join('\n') + '\n');
  return 0;
}

async function runListNodes(argv: string[], ctx: HubbleCliContext): Promise<number> {
  const cmd = new Command('nodes').option('-o, --output <format>', 'output format: json, table, wide', 'table');
  for (const f of ['--server <address>', '-P, --port-forward', '--timeout <d>', '--kube-context <c>', '--kube-namespace <ns>', '--kubeconfig <p>']) cmd.option(f);
  const refused = parseArgs(cmd, argv, ctx.io);
  if (refused !== undefined) return refused;
  const output = cmd.opts<{ output: string }>().output;
  let nodes: NodeInfo[];
  try {
    nodes = await (await ctx.backend()).nodes();
  } catch (e) {
    ctx.io.stderr(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  nodes = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (output === 'json') {
    const items = nodes.map((n) => {
      const o: Record<string, unknown> = { name: n.name, version: n.version, address: n.address, state: n.state, tls: n.tls.enabled ? n.tls : {} };
      if (n.uptime_ns) o['uptime_ns'] = String(n.uptime_ns);
      if (n.num_flows) o['num_flows'] = String(n.num_flows);
      if (n.max_flows) o['max_flows'] = String(n.max_flows);
      if (n.seen_flows) o['seen_flows'] = String(n.seen_flows);
      return o;
    });
    ctx.io.stdout(JSON.stringify(items, null, 2) + '\n');
    return 0;
  }
  if (output !== 'table' && output !== 'wide') {
    ctx.io.stderr(`Error: unknown output format: ${output}\n`);
    return 1;
  }
  const wide = output === 'wide';
  const head = ['NAME', 'STATUS', 'AGE', 'FLOWS/S', 'CURRENT/MAX-FLOWS', ...(wide ? ['VERSION', 'ADDRESS', 'TLS'] : [])];
  const rows = nodes.map((n) => {
    const upMs = Math.round(n.uptime_ns / 1e9) * 1000;
    const age = upMs > 0 ? formatGoDuration(upMs) : 'N/A';
    const fps = upMs > 0 ? (n.seen_flows / (upMs / 1000)).toFixed(2) : 'N/A';
    const ratio = n.max_flows > 0 ? `${n.num_flows}/${n.max_flows} (${((n.num_flows / n.max_flows) * 100).toFixed(2).padStart(6)}%)` : 'N/A';
    const status = n.state === 'NODE_CONNECTED' ? 'Connected' : 'Unavailable';
    return [n.name, status, age, fps, ratio, ...(wide ? [n.version || 'N/A', n.address, n.tls.enabled ? 'Enabled' : 'Disabled'] : [])];
  });
  const { tabwrite } = await import('../hubble/printer.js');
  ctx.io.stdout(tabwrite([head, ...rows]));
  return 0;
}

const HELP = `Hubble is a utility to observe and inspect recent Cilium routed traffic in a cluster.

Usage:
  hubble [command]

Available Commands:
  help        Help about any command
  list        List Hubble objects
  observe     Observe flows and events of a Hubble server
  status      Display status of Hubble server
  version     Display detailed version information

Flags:
  -h, --help   help for hubble

Use "hubble [command] --help" for more information about a command.
`;

/** `hubble ARGS...`: resolves to the exit code. */
export async function runHubble(argv: string[], ctx: HubbleCliContext): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      ctx.io.stdout(HELP);
      return 0;
    case 'observe':
      return runObserve(rest, ctx);
    case 'status':
      return runStatus(rest, ctx);
    case 'list':
      if (rest[0] === 'nodes') return runListNodes(rest.slice(1), ctx);
      ctx.io.stderr(rest[0] ? `Error: unknown command "${rest[0]}" for "hubble list"\n` : 'Error: a subcommand is required: nodes, namespaces\n');
      return 1;
    case 'version':
      ctx.io.stdout('hubble v1.19.4@HEAD-podpath compiled with node\n');
      return 0;
    default:
      ctx.io.stderr(`Error: unknown command "${sub}" for "hubble"\nRun 'hubble --help' for usage.\n`);
      return 1;
  }
}

/** `hubble` as a program inside a cilium agent pod: that node's observer only. */
/**
 * `hubble` inside an agent pod: that node's flows only, as in a real cluster.
 * When a one-shot `observe` finds nothing here but other nodes hold matching
 * flows (`cluster` is the relay), one hint line on stderr says where they are.
 */
export function hubbleCommand(backend: () => HubbleBackend, hint?: { nodeName: string; cluster: () => HubbleBackend }): AppCommand {
  return async (_env, argv, io) => {
    const args = argv.slice(1);
    let printed = false;
    const code = await runHubble(args, {
      backend,
      io: {
        ...io,
        stdout: (c) => {
          if (String(c).length) printed = true;
          io.stdout(c);
        },
      },
    });
    const oneShot = args[0] === 'observe' && !args.some((a) => a === '-f' || a === '--follow' || a.startsWith('-o') || a === '--output');
    if (code !== 0 || printed || !hint || !oneShot) return code;
    const nodes = new Set<string>();
    await runHubble([...args, '--print-node-name'], {
      backend: hint.cluster,
      io: {
        ...io,
        stdout: (c) => {
          for (const line of String(c).split('\n')) {
            const m = /^\S+ \d+ \S+ \[([^\]]+)\]:/.exec(line) ?? /^[A-Z][a-z]{2} +\d+ [\d:.]+ \[([^\]]+)\]:/.exec(line);
            if (m && m[1] !== hint.nodeName) nodes.add(m[1]!);
          }
        },
        stderr: () => {},
      },
    });
    if (nodes.size) io.stderr(`hint: no matching flows on this node (${hint.nodeName}); matching flows are on ${[...nodes].sort().join(', ')}: run hubble in the cilium pod there, or through the relay (podpath hubble observe ...)\n`);
    return code;
  };
}

// ---- the daemon over its socket ---------------------------------------------------------------

export const HUBBLE_PATH_PREFIX = '/podpath/v1/hubble/';

function getJson<T>(socketPath: string, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          const v = JSON.parse(body) as T & { error?: string };
          if (res.statusCode !== 200) reject(new Error(v.error ?? `HTTP ${res.statusCode}`));
          else resolve(v);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A HubbleBackend served by the daemon's /podpath/v1/hubble/ routes. */
export class DaemonHubbleBackend implements HubbleBackend {
  readonly address: string;
  readonly isRelay: boolean;

  constructor(
    private readonly socketPath: string,
    private readonly node?: string,
  ) {
    this.isRelay = node === undefined;
    this.address = node === undefined ? 'localhost:4245' : 'unix:///var/run/cilium/hubble.sock';
  }

  private query(): string {
    return this.node ? `?node=${encodeURIComponent(this.node)}` : '';
  }

  async now(): Promise<number> {
    return (await getJson<{ now: number }>(this.socketPath, `${HUBBLE_PATH_PREFIX}status${this.query()}`)).now;
  }

  async serverStatus(): Promise<ServerStatus> {
    return (await getJson<{ status: ServerStatus }>(this.socketPath, `${HUBBLE_PATH_PREFIX}status${this.query()}`)).status;
  }

  nodes(): Promise<NodeInfo[]> {
    return getJson<NodeInfo[]>(this.socketPath, `${HUBBLE_PATH_PREFIX}nodes${this.query()}`);
  }

  getFlows(req: GetFlowsRequest, sink: FlowSink, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify({ ...req, number: req.number === Infinity ? 'all' : req.number, node: this.node });
      const r = request({ socketPath: this.socketPath, path: `${HUBBLE_PATH_PREFIX}flows`, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let failed: string | undefined;
        onJsonLines(res, (value) => {
          const m = value as { flow?: Flow; notice?: string; error?: string };
          if (m.flow) sink.flow(m.flow);
          else if (m.notice) sink.notice?.(m.notice);
          else if (m.error) failed = m.error;
        });
        res.on('end', () => (failed ? reject(new Error(failed)) : resolve()));
        res.on('error', reject);
      });
      r.on('error', (e) => (signal?.aborted ? resolve() : reject(e)));
      signal?.addEventListener('abort', () => {
        r.destroy();
        resolve();
      }, { once: true });
      r.end(body);
    });
  }
}

/** `podpath hubble ...` (and the `hubble` front end on PATH): the cluster's relay through the daemon. */
export async function hubbleFromDaemon(argv: string[], clusterName?: string): Promise<number> {
  const { resolveCluster } = await import('./daemon-client.js');
  const ctl = new AbortController();
  const onSigint = (): void => ctl.abort('SIGINT');
  process.once('SIGINT', onSigint);
  const stdin = process.stdin.isTTY ? undefined : (process.stdin as AsyncIterable<Uint8Array>);
  try {
    return await runHubble(argv, {
      backend: async () => new DaemonHubbleBackend((await resolveCluster(clusterName)).socket),
      io: { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), signal: ctl.signal, ...(stdin ? { stdin } : {}) },
      env: process.env,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}
