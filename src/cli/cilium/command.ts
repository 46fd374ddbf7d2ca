// `cilium` / `cilium-dbg` in the agent pod: the subset labs use, node-local,
// in Cilium 1.16/1.17's output shapes (reference §6–7), errors as cobra prints them.

import type { AppCommand, ProcessIO } from '../../apps/types.js';
import { formatBpfEndpointList, formatBpfPolicyGet, formatCtList, formatIpcacheList, formatLbList, formatMetricsList, formatRevNatList, formatTunnelList, readMetrics } from '../../datapath/dump.js';
import { dropReasonText } from '../../datapath/drop.js';
import { RESERVED_LABELS } from '../../datapath/identity.js';
import { policyMapName } from '../../datapath/maps.js';
import { formatMonitorLine, type DatapathEvent } from '../../datapath/monitor.js';
import { MSG_TYPE_NAMES } from '../../datapath/trace.js';
import { ipv4ToString } from '../../packet/ip.js';
import { tabwrite } from '../../util/tabwriter.js';
import type { CiliumNodeContext } from './context.js';

class CobraError extends Error {}

function usageError(msg: string): never {
  throw new CobraError(msg);
}

/** Split flags (`--x v`, `--x=v`, `-o json`, bool flags) from positional args, refusing unknown flags. */
function parseFlags(args: string[], known: Record<string, 'bool' | 'value'>, aliases: Record<string, string> = {}): { flags: Map<string, string | true>; rest: string[] } {
  const flags = new Map<string, string | true>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-') || a === '-') {
      rest.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    let name = eq > 0 ? a.slice(0, eq) : a;
    name = aliases[name] ?? name;
    const kind = known[name];
    if (!kind) usageError(a.startsWith('--') ? `unknown flag: ${name}` : `unknown shorthand flag: '${a.slice(1, 2)}' in ${a}`);
    if (kind === 'bool') flags.set(name, true);
    else if (eq > 0) flags.set(name, a.slice(eq + 1));
    else {
      const v = args[++i];
      if (v === undefined) usageError(`flag needs an argument: ${a}`);
      flags.set(name, v);
    }
  }
  return { flags, rest };
}

const reservedRows = (): { id: number; labels: string[] }[] =>
  [1, 2, 3, 4, 5, 6, 7, 8].map((id) => ({ id, labels: RESERVED_LABELS[id] ?? [] }));

function identityList(ctx: CiliumNodeContext): { id: number; labels: string[] }[] {
  const all = new Map<number, string[]>();
  for (const r of reservedRows()) all.set(r.id, r.labels);
  for (const r of ctx.agent.identityList()) all.set(r.id, r.labels);
  return [...all.entries()].sort((a, b) => a[0] - b[0]).map(([id, labels]) => ({ id, labels: [...labels].sort() }));
}

function labelsOf(ctx: CiliumNodeContext, id: number): string[] {
  return identityList(ctx).find((r) => r.id === id)?.labels ?? [String(id)];
}

function endpointList(ctx: CiliumNodeContext): string {
  const rows: string[][] = [
    ['ENDPOINT', 'POLICY (ingress)', 'POLICY (egress)', 'IDENTITY', 'LABELS (source:key[=value])', 'IPv6', 'IPv4', 'STATUS'],
    ['', 'ENFORCEMENT', 'ENFORCEMENT', '', '', '', '', ''],
  ];
  for (const ep of [...ctx.agent.endpointList()].sort((a, b) => a.id - b.id)) {
    const labels = ep.labels.length ? [...ep.labels].sort() : ['no labels'];
    rows.push([String(ep.id), ep.policyIngress, ep.policyEgress, ep.identity ? String(ep.identity) : '<no label id>', labels[0]!, '', ep.ipv4 ?? '', ep.state]);
    for (const l of labels.slice(1)) rows.push(['', '', '', '', l, '', '', '']);
  }
  return tabwrite(rows);
}

function serviceList(ctx: CiliumNodeContext): string {
  const rows: string[][] = [['ID', 'Frontend', 'Service Type', 'Backend']];
  for (const s of [...ctx.agent.serviceList()].sort((a, b) => a.id - b.id)) {
    const backends = s.backends.map((b, i) => `${i + 1} => ${b.address} (${b.state})`);
    rows.push([String(s.id), s.frontend, s.type, backends[0] ?? '']);
    for (const b of backends.slice(1)) rows.push(['', '', '', b]);
  }
  return tabwrite(rows);
}

function identityListText(ctx: CiliumNodeContext): string {
  const rows: string[][] = [['ID', 'LABELS']];
  for (const r of identityList(ctx)) {
    rows.push([String(r.id), r.labels[0] ?? '']);
    for (const l of r.labels.slice(1)) rows.push(['', l]);
  }
  return tabwrite(rows);
}

const onOff = (b: boolean): string => (b ? 'Enabled' : 'Disabled');

function configText(ctx: CiliumNodeContext, all: boolean): string {
  const s = ctx.settings;
  const lines: string[] = [];
  if (all) {
    lines.push('#### Read-only configurations ####');
    const ro: [string, string][] = [
      ['EnableIPv4', 'true'],
      ['EnableIPv6', 'false'],
      ['EnableSocketLB', String(s.socketLB)],
      ['KubeProxyReplacement', 'true'],
      ['RoutingMode', 'tunnel'],
      ['TunnelProtocol', 'vxlan'],
      ['TunnelPort', '8472'],
      ['ClusterName', s.clusterName],
      ['EnablePolicy', s.policyEnforcementMode],
      ['MonitorAggregation', s.monitorAggregation],
      ['EnableHubble', 'true'],
      ['EnableBPFMasquerade', 'true'],
      ['IdentityAllocationMode', 'crd'],
    ];
    for (const [k, v] of ro.sort((a, b) => a[0].localeCompare(b[0]))) lines.push(`${k.padEnd(34)}: ${v}`);
  }
  lines.push('##### Read-write configurations #####');
  const agg = s.monitorAggregation.charAt(0).toUpperCase() + s.monitorAggregation.slice(1);
  const rw: [string, string][] = [
    ['ConntrackAccounting', 'Disabled'],
    ['ConntrackLocal', 'Disabled'],
    ['Debug', 'Disabled'],
    ['DebugLB', 'Disabled'],
    ['DebugPolicy', 'Disabled'],
    ['DropNotification', 'Enabled'],
    ['MonitorAggregationLevel', agg],
    ['PolicyAccounting', 'Enabled'],
    ['PolicyAuditMode', onOff(s.policyAuditMode)],
    ['PolicyTracing', 'Disabled'],
    ['PolicyVerdictNotification', 'Enabled'],
    ['SourceIPVerification', 'Enabled'],
    ['TraceNotification', 'Enabled'],
  ];
  for (const [k, v] of rw) lines.push(`${k.padEnd(34)}: ${v}`);
  lines.push(`${'MonitorNumPages'.padEnd(34)}: 64`, `${'PolicyEnforcement'.padEnd(34)}: ${s.policyEnforcementMode}`);
  return lines.join('\n') + '\n';
}

function statusText(ctx: CiliumNodeContext, verbose: boolean): string {
  const s = ctx.settings;
  const a = ctx.agent;
  const eps = a.endpointList();
  const cidr = `${ipv4ToString(a.podCidr.addr)}/${a.podCidr.prefixLen}`;
  const used = eps.filter((e) => e.ipv4).length + 1;
  const size = 2 ** (32 - a.podCidr.prefixLen) - 2;
  const flows = ctx.hubbleFlows?.() ?? { current: 0, max: 4095 };
  const pct = flows.max ? ((100 * flows.current) / flows.max).toFixed(2) : '0.00';
  const kv = (k: string, v: string): string => `${(k + ':').padEnd(25)}${v}`;
  const lines = [
    kv('KVStore', 'Ok   Disabled'),
    kv('Kubernetes', `Ok   ${s.kubernetesVersion.replace(/^v/, '').split('.').slice(0, 2).join('.')} (${s.kubernetesVersion}) [linux/amd64]`),
    kv('Kubernetes APIs', '["EndpointSliceOrEndpoint", "cilium/v2::CiliumClusterwideNetworkPolicy", "cilium/v2::CiliumEndpoint", "cilium/v2::CiliumNetworkPolicy", "cilium/v2::CiliumNode", "cilium/v2alpha1::CiliumCIDRGroup", "core/v1::Namespace", "core/v1::Pods", "core/v1::Service", "networking.k8s.io/v1::NetworkPolicy"]'),
    kv('KubeProxyReplacement', `True   [eth0   ${ipv4ToString(a.nodeIp)} (Direct Routing)]`),
    kv('Host firewall', 'Disabled'),
    kv('SRv6', 'Disabled'),
    kv('CNI Chaining', 'none'),
    kv('CNI Config file', 'successfully wrote CNI configuration file to /host/etc/cni/net.d/05-cilium.conflist'),
    kv('Cilium', 'Ok   1.17.0 (v1.17.0-podpath)'),
    kv('NodeMonitor', 'Listening for events on 2 CPUs with 64x4096 of shared memory'),
    kv('Cilium health daemon', 'Ok   '),
    kv('IPAM', `IPv4: ${used}/${size} allocated from ${cidr}, `),
    kv('IPv4 BIG TCP', 'Disabled'),
    kv('IPv6 BIG TCP', 'Disabled'),
    kv('BandwidthManager', 'Disabled'),
    kv('Routing', 'Network: Tunnel [vxlan]   Host: Legacy'),
    kv('Attach Mode', 'TCX'),
    kv('Device Mode', 'veth'),
    kv('Masquerading', 'BPF   [eth0]   ' + cidr + ' [IPv4: Enabled, IPv6: Disabled]'),
    kv('Controller Status', `${20 + eps.length}/${20 + eps.length} healthy`),
    kv('Proxy Status', `OK, ip ${ipv4ToString(a.routerIp)}, 0 redirects active on ports 10000-20000, Envoy: external`),
    kv('Global Identity Range', 'min 256, max 65535'),
    kv('Hubble', `Ok              Current/Max Flows: ${flows.current}/${flows.max} (${pct}%), Flows/s: 0.00   Metrics: Disabled`),
    kv('Encryption', 'Disabled        '),
    kv('Cluster health', 'Probe disabled'),
    kv('Modules Health', 'Stopped(0) Degraded(0) OK(58)'),
  ];
  if (verbose) {
    lines.splice(
      5,
      0,
      'KubeProxyReplacement Details:',
      '  Status:                 True',
      `  Socket LB:              ${onOff(s.socketLB)}`,
      '  Socket LB Tracing:      Enabled',
      '  Socket LB Coverage:     Full',
      '  Devices:                eth0   ' + ipv4ToString(a.nodeIp) + ' (Direct Routing)',
      '  Mode:                   SNAT',
      '  Backend Selection:      Random',
      '  Session Affinity:       Enabled',
      '  Graceful Termination:   Enabled',
      '  NAT46/64 Support:       Disabled',
      '  XDP Acceleration:       Disabled',
      '  Services:',
      '  - ClusterIP:      Enabled',
      '  - NodePort:       Enabled (Range: 30000-32767) ',
      '  - LoadBalancer:   Enabled ',
      '  - externalIPs:    Enabled ',
      '  - HostPort:       Enabled',
    );
  }
  return lines.join('\n') + '\n';
}

function metricsListText(ctx: CiliumNodeContext, pattern?: string): string {
  const sums = new Map<string, number>();
  const add = (metric: string, labels: string, v: number): void => {
    const k = `${metric}\t${labels}`;
    sums.set(k, (sums.get(k) ?? 0) + v);
  };
  for (const r of readMetrics(ctx.dp.metrics)) {
    // Reason 0 is a forward; codes ≥ 130 are drops; the interface counters are neither.
    if (r.reason === 0) {
      add('cilium_forward_count_total', `direction="${r.direction}"`, r.packets);
      add('cilium_forward_bytes_total', `direction="${r.direction}"`, r.bytes);
    } else if (r.reason >= 130) {
      const labels = `direction="${r.direction}" reason="${dropReasonText(r.reason)}"`;
      add('cilium_drop_count_total', labels, r.packets);
      add('cilium_drop_bytes_total', labels, r.bytes);
    }
  }
  const eps = ctx.agent.endpointList();
  add('cilium_endpoint_state', 'endpoint_state="ready"', eps.filter((e) => e.state === 'ready').length);
  add('cilium_identity', 'type="cluster_local"', ctx.agent.identityList().length);
  add('cilium_policy', '', ctx.policy ? ctx.policy.rules().length : 0);
  add('cilium_policy_max_revision', '', ctx.policy?.revision ?? 1);
  add('cilium_services_events_total', '', ctx.agent.serviceList().length);
  add('cilium_version', 'version="1.17.0"', 1);
  let re: RegExp | null = null;
  if (pattern !== undefined) {
    try {
      re = new RegExp(pattern);
    } catch {
      usageError(`invalid regex pattern: ${pattern}`);
    }
  }
  const rows = [...sums.entries()]
    .map(([k, v]) => [...k.split('\t'), v.toFixed(6)] as string[])
    .filter((r) => !re || re.test(r[0]!))
    .sort((a, b) => (a[0]! + a[1]! < b[0]! + b[1]! ? -1 : 1));
  return tabwrite([['Metric', 'Labels', 'Value'], ...rows], { trailingTab: false });
}

function endpointGet(ctx: CiliumNodeContext, idArg: string | undefined): string {
  if (!idArg) usageError('accepts 1 arg(s), received 0');
  const id = Number(idArg);
  const ep = ctx.agent.endpointList().find((e) => e.id === id);
  if (!ep) throw new CobraError(`Cannot get endpoint ${idArg}: [GET /endpoint/{id}][404] getEndpointIdNotFound `);
  const enabled = (ep.policyIngress === 'Enabled' ? 1 : 0) | (ep.policyEgress === 'Enabled' ? 2 : 0);
  const policyEnabled = ['none', 'ingress', 'egress', 'both'][enabled]!;
  const obj = [
    {
      id: ep.id,
      spec: { 'label-configuration': {}, options: { ConntrackAccounting: 'Disabled', Debug: 'Disabled', DropNotification: 'Enabled', MonitorAggregationLevel: 'Medium', PolicyAuditMode: onOff(ctx.settings.policyAuditMode), PolicyVerdictNotification: 'Enabled', TraceNotification: 'Enabled' } },
      status: {
        'external-identifiers': ep.podName ? { 'k8s-namespace': ep.namespace, 'k8s-pod-name': ep.podName, 'pod-name': `${ep.namespace}/${ep.podName}` } : {},
        health: { bpf: 'OK', connected: true, overallHealth: 'OK', policy: 'OK' },
        identity: { id: ep.identity, labels: [...ep.labels].sort() },
        networking: { addressing: ep.ipv4 ? [{ ipv4: ep.ipv4 }] : [], 'host-mac': ep.hostMac, 'interface-index': ep.ifindex, 'interface-name': ep.ifName, mac: ep.mac },
        policy: { realized: { 'policy-enabled': policyEnabled, 'policy-revision': ctx.policy?.revision ?? 1 } },
        state: ep.state,
      },
    },
  ];
  return JSON.stringify(obj, null, 2) + '\n';
}

function policyGet(ctx: CiliumNodeContext, labels: string[]): string {
  const rules = ctx.policy ? ctx.policy.rules(labels.length ? labels : undefined) : [];
  if (labels.length && rules.length === 0) throw new CobraError('Cannot get policy: [GET /policy][404] getPolicyNotFound ');
  return `${JSON.stringify(rules, null, 2)}\nRevision: ${ctx.policy?.revision ?? 1}\n`;
}

function bpfPolicyGet(ctx: CiliumNodeContext, args: string[]): string {
  const { flags, rest } = parseFlags(args, { '-n': 'bool', '--numeric': 'bool', '--all': 'bool' });
  const numeric = flags.has('-n') || flags.has('--numeric');
  const ids = flags.has('--all') ? ctx.agent.endpointList().map((e) => e.id) : rest.map(Number);
  if (ids.length === 0) usageError('Need endpoint ID or --all');
  const out: string[] = [];
  for (const id of ids) {
    const map = ctx.dp.maps.get(policyMapName(id));
    if (!map) throw new CobraError(`Unable to open ${`/sys/fs/bpf/tc/globals/${policyMapName(id)}`}: no such file or directory`);
    if (flags.has('--all')) out.push(`/sys/fs/bpf/tc/globals/${policyMapName(id)}:\n`);
    out.push(formatBpfPolicyGet(map, (identity) => labelsOf(ctx, identity), numeric));
  }
  return out.join('\n');
}

async function monitor(ctx: CiliumNodeContext, args: string[], io: ProcessIO): Promise<number> {
  const { flags } = parseFlags(args, { '--type': 'value', '-v': 'bool', '--verbose': 'bool', '-n': 'bool', '--numeric': 'bool', '--related-to': 'value', '--from': 'value', '--to': 'value', '-j': 'bool', '--json': 'bool' }, { '-t': '--type' });
  const type = flags.get('--type');
  let typeNum: number | undefined;
  if (typeof type === 'string') {
    typeNum = MSG_TYPE_NAMES[type];
    if (typeNum === undefined) usageError(`Unknown type (${type}). Please use one of the following ones map[${Object.keys(MSG_TYPE_NAMES).sort().map((k) => `${k}:${MSG_TYPE_NAMES[k]}`).join(' ')}]`);
  }
  const verbose = flags.has('-v') || flags.has('--verbose');
  const numeric = flags.has('-n') || flags.has('--numeric');
  const related = flags.get('--related-to');
  if (!ctx.subscribeEvents) throw new CobraError('monitor is not available on this node');
  io.stderr('Listening for events on 2 CPUs with 64x4096 of shared memory\nPress Ctrl-C to quit\n');
  const typeOf = (e: DatapathEvent): number => (e.type === 'trace' ? 4 : e.type === 'drop' ? 1 : e.type === 'policy-verdict' ? 5 : e.type === 'access-log' ? 129 : 7);
  const unsubscribe = ctx.subscribeEvents((ev) => {
    if (typeNum !== undefined && typeOf(ev) !== typeNum) return;
    if (ev.type === 'trace-sock' && !verbose) return;
    if (typeof related === 'string' && ev.type !== 'trace-sock' && ev.type !== 'access-log') {
      const id = Number(related);
      const dst = ev.type === 'policy-verdict' ? ev.source : ev.dstId;
      if (ev.source !== id && dst !== id) return;
    }
    const line = formatMonitorLine(ev, { numeric, ifName: (i) => ctx.deviceName(i) });
    io.stdout((ev.type === 'trace-sock' ? 'CPU 00: ' : '') + line + '\n');
  });
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  unsubscribe();
  io.stderr('\nReceived an interrupt, disconnecting from monitor...\n\n');
  return 0;
}

async function dispatch(ctx: CiliumNodeContext, name: string, argv: string[], io: ProcessIO): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  const out = (s: string): void => io.stdout(s);
  switch (cmd) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      out(`CLI for interacting with the local Cilium Agent\n\nUsage:\n  ${name} [command]\n\nAvailable Commands:\n  bpf         Direct access to local BPF maps\n  config      Cilium configuration options\n  endpoint    Manage endpoints\n  identity    Manage security identities\n  metrics     Access metric status\n  monitor     Display BPF program events\n  policy      Manage security policies\n  service     Manage services & loadbalancers\n  status      Display status of daemon\n\nUse "${name} [command] --help" for more information about a command.\n`);
      return 0;
    case 'status': {
      const { flags } = parseFlags(argv.slice(1), { '--verbose': 'bool', '--brief': 'bool', '--all-controllers': 'bool', '--all-health': 'bool', '--all-nodes': 'bool', '--all-redirects': 'bool', '--all-addresses': 'bool', '--all-clusters': 'bool' });
      if (flags.has('--brief')) out('OK\n');
      else out(statusText(ctx, flags.has('--verbose')));
      return 0;
    }
    case 'config': {
      const { flags, rest: settings } = parseFlags(argv.slice(1), { '--all': 'bool', '--read-only': 'bool', '--list-options': 'bool' }, { '-a': '--all', '-r': '--read-only' });
      if (settings.length) usageError(`podpath: changing configuration (${settings.join(' ')}) is not supported`);
      const text = configText(ctx, flags.has('--all') || flags.has('--read-only'));
      out(flags.has('--read-only') ? text.split('##### Read-write')[0]! : text);
      return 0;
    }
    case 'endpoint':
    case 'endpoints':
      if (sub === 'list' || sub === 'ls') {
        parseFlags(rest, { '--no-headers': 'bool' });
        out(endpointList(ctx));
        return 0;
      }
      if (sub === 'get') {
        out(endpointGet(ctx, rest[0]));
        return 0;
      }
      return unknownSub(name, cmd, sub);
    case 'identity':
      if (sub === 'list') {
        out(identityListText(ctx));
        return 0;
      }
      if (sub === 'get') {
        const id = Number(rest[0]);
        const r = identityList(ctx).find((x) => x.id === id);
        if (!r) throw new CobraError(`Cannot get identity for given ID ${rest[0] ?? ''}: [GET /identity/{id}][404] getIdentityIdNotFound `);
        out(tabwrite([['ID', 'LABELS'], [String(r.id), r.labels[0] ?? ''], ...r.labels.slice(1).map((l) => ['', l])]));
        return 0;
      }
      return unknownSub(name, cmd, sub);
    case 'service':
      if (sub === 'list') {
        out(serviceList(ctx));
        return 0;
      }
      return unknownSub(name, cmd, sub);
    case 'policy':
      if (sub === 'get') {
        out(policyGet(ctx, rest.filter((a) => !a.startsWith('-'))));
        return 0;
      }
      if (sub === 'trace' && ctx.policyTrace) {
        const r = ctx.policyTrace(rest);
        if (r.stdout) out(r.stdout);
        if (r.stderr) io.stderr(r.stderr);
        return r.code;
      }
      return unknownSub(name, cmd, sub);
    case 'metrics':
      if (sub === 'list') {
        const { flags } = parseFlags(rest, { '--match-pattern': 'value' }, { '-p': '--match-pattern' });
        const p = flags.get('--match-pattern');
        out(metricsListText(ctx, typeof p === 'string' ? p : undefined));
        return 0;
      }
      return unknownSub(name, cmd, sub);
    case 'monitor':
      return monitor(ctx, argv.slice(1), io);
    case 'version':
      out('Client: 1.17.0 podpath go version go1.23.5 linux/amd64\nDaemon: 1.17.0 podpath go version go1.23.5 linux/amd64\n');
      return 0;
    case 'bpf':
      return bpf(ctx, name, sub, rest, io);
    default:
      throw new CobraError(`unknown command "${cmd}" for "${name}"\nRun '${name} --help' for usage.`);
  }
}

function unknownSub(name: string, cmd: string, sub: string | undefined): never {
  if (sub === undefined) throw new CobraError(`"${name} ${cmd}" requires a subcommand\nRun '${name} ${cmd} --help' for usage.`);
  throw new CobraError(`unknown command "${sub}" for "${name} ${cmd}"\nRun '${name} ${cmd} --help' for usage.`);
}

function bpf(ctx: CiliumNodeContext, name: string, sub: string | undefined, rest: string[], io: ProcessIO): number {
  const dp = ctx.dp;
  const [verb, ...args] = rest;
  const out = (s: string): void => io.stdout(s);
  switch (sub) {
    case 'ct':
      if (verb === 'list') {
        const { flags, rest: r } = parseFlags(args, { '--time-diff': 'bool', '-o': 'value' }, { '-d': '--time-diff' });
        if (r[0] !== 'global') usageError(r[0] === undefined ? 'Please specify conntrack table: global, endpoint or cluster' : `unknown conntrack table "${r[0]}": use global`);
        out(formatCtList(dp.ct4, dp.ctAny4, { timeDiff: flags.has('--time-diff'), nowSec: dp.monoNow() }));
        return 0;
      }
      break;
    case 'lb':
      if (verb === 'list') {
        const { flags } = parseFlags(args, { '--revnat': 'bool', '--frontends': 'bool', '--backends': 'bool' });
        out(flags.has('--revnat') ? formatRevNatList(dp.lbRevNat) : formatLbList(dp.lbServices, dp.lbBackends));
        return 0;
      }
      break;
    case 'endpoint':
      if (verb === 'list') {
        out(formatBpfEndpointList(dp.lxc, [dp.cfg.nodeIp, dp.cfg.routerIp]));
        return 0;
      }
      break;
    case 'ipcache':
      if (verb === 'list') {
        out(formatIpcacheList(dp.ipcache));
        return 0;
      }
      break;
    case 'tunnel':
      if (verb === 'list') {
        out(formatTunnelList(dp.tunnelMap));
        return 0;
      }
      break;
    case 'metrics':
      if (verb === 'list') {
        const text = formatMetricsList(dp.metrics);
        if (text === null) io.stderr('No entries found.\n');
        else out(text);
        return 0;
      }
      break;
    case 'policy':
      if (verb === 'get') {
        out(bpfPolicyGet(ctx, args));
        return 0;
      }
      break;
    case undefined:
      throw new CobraError(`"${name} bpf" requires a subcommand\nRun '${name} bpf --help' for usage.`);
    default:
      throw new CobraError(`unknown command "${sub}" for "${name} bpf"\nRun '${name} bpf --help' for usage.`);
  }
  if (verb === undefined) throw new CobraError(`"${name} bpf ${sub}" requires a subcommand\nRun '${name} bpf ${sub} --help' for usage.`);
  throw new CobraError(`unknown command "${verb}" for "${name} bpf ${sub}"\nRun '${name} bpf ${sub} --help' for usage.`);
}

/** The `cilium` / `cilium-dbg` program of one agent pod. */
export function ciliumCommand(ctx: CiliumNodeContext): AppCommand {
  return async (_env, argv, io) => {
    const name = (argv[0] ?? 'cilium-dbg').slice((argv[0] ?? '').lastIndexOf('/') + 1);
    try {
      return await dispatch(ctx, name, argv.slice(1), io);
    } catch (err) {
      if (err instanceof CobraError) {
        io.stderr(`Error: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  };
}
