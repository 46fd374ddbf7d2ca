// `cilium-dbg policy trace` (removed from Cilium in 1.14, back in podpath):
// the classic output ("Tracing From: … Final verdict: ALLOWED|DENIED", the
// reference §7.4), computed from a packet trace through the real programs
// rather than a second evaluator of the rules. Each --dport is one traced
// packet (TCP for ANY); each direction's section shows the rules the
// deciding policy map entry names, or those that put the endpoint into
// default deny, and the map key that was looked up.

import type { ClusterRuntime } from '../cluster/runtime.js';
import type { EndpointInfo } from '../agent/agent.js';
import type { TracePolicyDecision, TraceResult, TraceRule } from './model.js';
import { trace, TraceError, tupleText } from './trace.js';

export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

const DASHES = '-'.repeat(64);

type FlagKind = 'bool' | 'value' | 'multi';
const FLAGS: Record<string, FlagKind> = {
  '--src': 'multi',
  '--dst': 'multi',
  '--src-identity': 'value',
  '--dst-identity': 'value',
  '--src-endpoint': 'value',
  '--dst-endpoint': 'value',
  '--src-k8s-pod': 'value',
  '--dst-k8s-pod': 'value',
  '--dport': 'multi',
  '--verbose': 'bool',
  '--output': 'value',
};
const ALIASES: Record<string, string> = { '-s': '--src', '-d': '--dst', '-v': '--verbose', '-o': '--output' };

class UsageError extends Error {}

function parse(args: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) throw new UsageError(`unknown command "${a}" for "cilium-dbg policy trace"`);
    const eq = a.indexOf('=');
    const raw = eq > 0 ? a.slice(0, eq) : a;
    const name = ALIASES[raw] ?? raw;
    const kind = FLAGS[name];
    if (!kind) throw new UsageError(raw.startsWith('--') ? `unknown flag: ${raw}` : `unknown shorthand flag: '${raw.slice(1, 2)}' in ${a}`);
    let v = 'true';
    if (kind !== 'bool') {
      if (eq > 0) v = a.slice(eq + 1);
      else {
        const next = args[++i];
        if (next === undefined) throw new UsageError(`flag needs an argument: ${a}`);
        v = next;
      }
    }
    const list = out.get(name) ?? [];
    // -s/-d and --dport take comma-separated lists too (string slices).
    if (kind === 'multi') list.push(...v.split(',').filter((x) => x));
    else list.push(v);
    out.set(name, list);
  }
  return out;
}

function allEndpoints(rt: ClusterRuntime): EndpointInfo[] {
  return rt.nodes.flatMap((n) => n.agent.endpointList()).filter((e) => !e.isHost && e.ipv4 && e.namespace && e.podName);
}

function labelMatches(have: readonly string[], want: string): boolean {
  // `app=frontend` matches `k8s:app=frontend`; `k8s:app=frontend` must match exactly; `any:` any source.
  const w = want.startsWith('any:') ? want.slice(4) : want;
  if (w.includes(':') && !want.startsWith('any:')) return have.includes(w);
  return have.some((l) => l === w || l.slice(l.indexOf(':') + 1) === w);
}

/** One end: what the trace is told (ns/pod, node/NAME, host/NAME) and the labels to print. */
function end(rt: ClusterRuntime, f: Map<string, string[]>, side: 'src' | 'dst', other?: string): { spec: string; labels: string[] } {
  const pod = f.get(`--${side}-k8s-pod`)?.[0];
  if (pod) {
    const m = /^(?:([^:/]+)[:/])?([^:/]+)$/.exec(pod);
    if (!m) throw new UsageError(`invalid --${side}-k8s-pod "${pod}": use [namespace:]pod`);
    const ns = m[1] ?? 'default';
    const ep = allEndpoints(rt).find((e) => e.namespace === ns && e.podName === m[2]);
    if (!ep) throw new TraceError(`Unable to get endpoint for pod ${ns}:${m[2]}: pod not found or has no endpoint`);
    return { spec: `${ns}/${m[2]}`, labels: [...ep.labels].sort() };
  }
  const epId = f.get(`--${side}-endpoint`)?.[0];
  if (epId) {
    const ep = allEndpoints(rt).find((e) => e.id === Number(epId));
    if (!ep) throw new TraceError(`Unable to get endpoint ${epId}: [GET /endpoint/{id}][404] getEndpointIdNotFound`);
    return { spec: `${ep.namespace}/${ep.podName}`, labels: [...ep.labels].sort() };
  }
  const idText = f.get(`--${side}-identity`)?.[0];
  if (idText) {
    const id = Number(idText);
    if (!Number.isInteger(id) || id <= 0) throw new UsageError(`invalid --${side}-identity "${idText}"`);
    if (id === 1 || id === 6) {
      // host: the destination's own node; remote-node: another node.
      const otherNode = other ? rt.pod(...(other.split('/') as [string, string]))?.node.name : undefined;
      const node = id === 1 ? (rt.node(otherNode ?? '') ?? rt.nodes[0]!) : (rt.nodes.find((n) => n.name !== otherNode) ?? rt.nodes[0]!);
      return { spec: `node/${node.name}`, labels: id === 1 ? ['reserved:host'] : ['reserved:remote-node'] };
    }
    if (id === 2) {
      const h = rt.externalHosts[0];
      if (!h) throw new TraceError('identity 2 (world): the cluster has no external host to send from');
      return { spec: `host/${h.name}`, labels: ['reserved:world'] };
    }
    const ep = allEndpoints(rt).find((e) => e.identity === id);
    if (!ep) throw new TraceError(`no endpoint has identity ${id}: podpath traces a real packet, so it needs an endpoint with that identity`);
    return { spec: `${ep.namespace}/${ep.podName}`, labels: [...ep.labels].sort() };
  }
  const labels = f.get(`--${side}`);
  if (labels?.length) {
    const ep = allEndpoints(rt)
      .sort((a, b) => a.id - b.id)
      .find((e) => labels.every((l) => labelMatches(e.labels, l)));
    if (!ep) throw new TraceError(`no endpoint has the labels [${labels.join(' ')}]: podpath traces a real packet, so it needs an endpoint with them`);
    return { spec: `${ep.namespace}/${ep.podName}`, labels: [...ep.labels].sort() };
  }
  throw new UsageError(`missing ${side === 'src' ? 'source' : 'destination'}: use --${side}-k8s-pod, --${side}-identity, --${side}-endpoint or -${side === 'src' ? 's' : 'd'}`);
}

function ruleLine(r: TraceRule): string {
  return `* Rule ${r.text}: selected`;
}

function section(d: TracePolicyDecision | undefined, labels: string[], dir: 'ingress' | 'egress', out: string[]): 'allowed' | 'denied' | undefined {
  // A direction without default deny still has a say when an explicit deny rule matched (enableDefaultDeny: false).
  if (!d || (!d.enforced && d.verdict !== 'deny')) return undefined;
  const Dir = dir === 'ingress' ? 'Ingress' : 'Egress';
  out.push(`Resolving ${dir} policy for [${labels.join(' ')}]`);
  const rules = d.verdict === 'deny' && !d.rules.length ? (d.selectedBy ?? []) : [...(d.selectedBy ?? []), ...d.rules];
  for (const r of rules) out.push(ruleLine(r));
  for (const r of d.overridden ?? []) out.push(`${ruleLine(r)} (allow overridden by the deny)`);
  const proto = d.key.protocol === 6 ? 'TCP' : d.key.protocol === 17 ? 'UDP' : d.key.protocol === 1 ? 'ICMP' : d.key.protocol === 132 ? 'SCTP' : String(d.key.protocol);
  const key = `{identity ${d.key.identity}, ${dir}, ${proto}, ${d.key.protocol === 1 ? 'type' : 'port'} ${d.key.port}}`;
  out.push(`  Policy map key ${key} of endpoint ${d.endpointId}: ${d.cookie ? `entry matched (${d.match}${d.implicit ? `, ${d.implicit}` : ''})` : 'no entry'}`);
  if (d.verdict === 'redirect') out.push(`  L7 rules apply: redirected to the proxy on port ${d.proxyPort}`);
  const allowed = d.verdict !== 'deny';
  out.push(allowed ? 'Found allow rule' : 'Found no allow rule');
  out.push(d.verdict === 'deny' && d.dropReason?.code === 181 ? 'Found deny rule' : 'Found no deny rule');
  out.push(`${Dir} verdict: ${allowed ? 'allowed' : 'denied'}`);
  out.push('');
  return allowed ? 'allowed' : 'denied';
}

function dportList(f: Map<string, string[]>): { port: number; proto: string; label: string }[] {
  const list = f.get('--dport') ?? [];
  return list.map((d) => {
    const [p, proto = 'ANY'] = d.split('/') as [string, string | undefined];
    const port = Number(p);
    const u = proto.toUpperCase();
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid destination port "${d}"`);
    if (!['ANY', 'TCP', 'UDP', 'SCTP', 'ICMP', 'ICMPV6'].includes(u)) throw new UsageError(`invalid protocol "${proto}" in --dport ${d}: use tcp, udp, sctp, icmp or any`);
    return { port, proto: u === 'ANY' ? 'TCP' : u === 'ICMPV6' ? 'ICMP' : u, label: `${port}/${u}` };
  });
}

/** Run `policy trace ARGS` against the cluster. */
export function policyTraceCommand(rt: ClusterRuntime, args: string[]): CommandOutput {
  try {
    const f = parse(args);
    const dst = end(rt, f, 'dst');
    const src = end(rt, f, 'src', dst.spec);
    const ports = dportList(f);
    const out: string[] = [DASHES];
    out.push(`Tracing From: [${src.labels.join(', ')}] => To: [${dst.labels.join(', ')}] Ports: [${ports.map((p) => p.label).join(' ')}]`, '');
    const traces: TraceResult[] = [];
    for (const p of ports.length ? ports : [{ port: 0, proto: 'TCP', label: '' }]) {
      traces.push(trace(rt, { src: src.spec, dst: dst.spec, ...(p.port ? { port: p.port } : {}), protocol: p.proto.toLowerCase() as 'tcp' }));
    }
    let denied = false;
    let anySection = false;
    for (const t of traces) {
      if (traces.length > 1) out.push(`Port ${t.request.port ?? 'ICMP'}/${t.request.protocol}:`);
      const eg = t.steps.find((s) => s.kind === 'policy' && s.policy?.direction === 'egress' && s.direction === 'forward')?.policy;
      const ing = t.steps.find((s) => s.kind === 'policy' && s.policy?.direction === 'ingress' && s.direction === 'forward')?.policy;
      const e = section(eg, src.labels, 'egress', out);
      if (e === 'denied' && !ing) out.push('Ingress policy not reached: the packet was dropped on egress', '');
      const i = section(ing, dst.labels, 'ingress', out);
      if (e || i) anySection = true;
      if (e === 'denied' || i === 'denied') denied = true;
      const o = t.forward.outcome;
      if (!e && !i && o.result === 'dropped') {
        out.push(`Datapath: ${o.text}`, '');
        denied = true;
      }
    }
    if (!anySection && !denied) {
      out.push('Policy enforcement is disabled because no rules in the policy repository match any endpoint selector from the provided destination sets of labels.', 'Label verdict: allowed', '');
    }
    out.push(`Final verdict: ${denied ? 'DENIED' : 'ALLOWED'}`);
    if (f.get('--verbose')) {
      out.push('');
      for (const t of traces) out.push(`Packet ${tupleText(t.forward.tuple)}: ${t.forward.outcome.text}`);
    }
    return { code: 0, stdout: out.join('\n') + '\n', stderr: '' };
  } catch (err) {
    if (err instanceof UsageError) return { code: 1, stdout: '', stderr: `Error: ${err.message}\n` };
    if (err instanceof TraceError) return { code: 1, stdout: '', stderr: `Error: ${err.message}\n` };
    throw err;
  }
}
