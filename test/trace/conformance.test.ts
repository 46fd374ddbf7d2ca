// The property Cilium's old `policy trace` lacked: for every probe of the
// policy conformance suite (test/policy: Star Wars, the Kubernetes
// NetworkPolicy e2e classics, CNP/CCNP semantics with the deny table,
// entities/CIDR/toServices, incremental updates), the trace's outcome equals
// what real traffic did. Every exec of the suite's cluster (curl, agnhost
// connect, ping, from pods and nodes) is traced first on a fork of the live
// maps, then run for real; the two answers are compared here.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterRuntime, type ExecTarget } from '../../src/cluster/runtime.js';
import type { ProcessIO } from '../../src/apps/types.js';
import { trace, TraceError, type TraceRequest } from '../../src/trace/trace.js';
import type { TraceResult } from '../../src/trace/model.js';

interface Probe {
  req: TraceRequest;
  tool: 'curl' | 'agnhost' | 'ping';
  line: string;
}

function targetText(t: ExecTarget): string {
  return t.kind === 'pod' ? `${t.namespace}/${t.name}` : `${t.kind}/${t.name}`;
}

const CURL_VALUE_FLAGS = new Set(['-m', '--max-time', '--connect-timeout', '-X', '--request', '-H', '--header', '-d', '--data', '-o', '--output', '-w', '--write-out', '-A', '-u']);

/** What a probe of the suite asks, as a trace request; null for commands that are not probes. */
function probeOf(target: ExecTarget, argv: string[]): Probe | null {
  const src = targetText(target);
  if (target.kind === 'host') return null;
  const line = `${src}: ${argv.join(' ')}`;
  if (argv[0] === 'curl') {
    let url: string | undefined;
    let method = 'GET';
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '-X' || a === '--request') method = argv[i + 1] ?? method;
      else if (a.startsWith('-X')) method = a.slice(2);
      if (CURL_VALUE_FLAGS.has(a)) {
        i++;
        continue;
      }
      if (a.startsWith('-')) continue;
      url = a;
    }
    if (!url) return null;
    const m = /^(?:https?:\/\/)?([^/:]+)(?::(\d+))?(\/[^?#]*)?/.exec(url);
    if (!m) return null;
    return { tool: 'curl', line, req: { src, dst: m[1]!, port: m[2] ? Number(m[2]) : 80, protocol: 'tcp', reply: true, httpMethod: method, httpPath: m[3] ?? '/' } };
  }
  if (argv[0] === 'agnhost' && argv[1] === 'connect') {
    const dest = argv.slice(2).find((a) => !a.startsWith('-'));
    if (!dest) return null;
    const proto = argv.find((a) => a.startsWith('--protocol='))?.slice('--protocol='.length) ?? 'tcp';
    const [host, port] = dest.split(':') as [string, string];
    return { tool: 'agnhost', line, req: { src, dst: host, port: Number(port), protocol: proto === 'udp' ? 'udp' : 'tcp', reply: true } };
  }
  if (argv[0] === 'ping') {
    let dst: string | undefined;
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '-c' || a === '-W' || a === '-i' || a === '-s' || a === '-w') i++;
      else if (!a.startsWith('-')) dst = a;
    }
    if (!dst) return null;
    return { tool: 'ping', line, req: { src, dst, protocol: 'icmp', reply: true } };
  }
  return null;
}

/** Real traffic's answer as one word: reached (answered or refused by the peer), dropped, unresolved. */
function realOutcome(p: Probe, code: number, stdout: string, stderr: string): string {
  if (p.tool === 'curl' && code === 0 && stdout.startsWith('Access denied')) return 'denied by the proxy (403)';
  if (p.tool === 'curl') return code === 0 || code === 7 ? 'reached' : code === 28 ? 'dropped' : code === 6 ? 'unresolved' : `exit ${code}`;
  if (p.tool === 'agnhost') return code === 0 || stderr.startsWith('REFUSED') ? 'reached' : stderr.startsWith('TIMEOUT') ? 'dropped' : `error ${stderr.trim()}`;
  return code === 0 ? 'reached' : 'dropped';
}

function traceOutcome(t: TraceResult): string {
  if (t.forward.outcome.result === 'unresolved') return 'unresolved';
  if (t.forward.outcome.result === 'denied-by-proxy') return 'denied by the proxy (403)';
  return t.verdict === 'ALLOWED' ? 'reached' : 'dropped';
}

const compared: { line: string; real: string; traced: string }[] = [];
const mismatches: string[] = [];
const skipped: string[] = [];

const realExec = ClusterRuntime.prototype.exec;
ClusterRuntime.prototype.exec = function (this: ClusterRuntime, target: ExecTarget, argv: string[], io: ProcessIO): Promise<number> {
  const probe = probeOf(target, argv);
  let traced: TraceResult | string | undefined;
  if (probe) {
    try {
      traced = trace(this, probe.req);
    } catch (err) {
      traced = err instanceof TraceError ? `trace error: ${err.message}` : `trace crashed: ${(err as Error).stack}`;
    }
  }
  let stdout = '';
  let stderr = '';
  const text = (c: string | Uint8Array): string => (typeof c === 'string' ? c : new TextDecoder().decode(c));
  const tee: ProcessIO = { ...io, stdout: (c) => ((stdout += text(c)), io.stdout(c)), stderr: (c) => ((stderr += text(c)), io.stderr(c)) };
  return realExec.call(this, target, argv, tee).then((code) => {
    if (probe && traced !== undefined) {
      const real = realOutcome(probe, code, stdout, stderr);
      if (typeof traced === 'string') mismatches.push(`${probe.line}: real ${real}, ${traced}`);
      else {
        const t = traceOutcome(traced);
        compared.push({ line: probe.line, real, traced: t });
        if (real !== t) mismatches.push(`${probe.line}: real ${real}, trace ${t} (${traced.forward.outcome.text}${traced.reply && 'outcome' in traced.reply ? `; reply ${traced.reply.outcome.text}` : ''})`);
      }
    } else if (!probe && ['curl', 'agnhost', 'ping'].includes(argv[0] ?? '')) skipped.push(`${targetText(target)}: ${argv.join(' ')}`);
    return code;
  });
};

// The conformance suite itself, unchanged: its tests register here and run with the tap above.
await import('../policy/starwars.test.js');
await import('../policy/knp.test.js');
await import('../policy/cnp.test.js');
await import('../policy/entities-cidr.test.js');
await import('../policy/incremental.test.js');
// L7: the running cluster's HTTP proxy (Access denied answers) and DNS proxy.
await import('../proxy/runtime.test.js');

after(() => {
  ClusterRuntime.prototype.exec = realExec;
});

test('trace == traffic: every probe of the policy conformance suite', () => {
  const byTool = { curl: 0, agnhost: 0, ping: 0 };
  for (const c of compared) byTool[c.line.includes(': curl') ? 'curl' : c.line.includes(': agnhost') ? 'agnhost' : 'ping']++;
  const dropped = compared.filter((c) => c.real === 'dropped').length;
  const l7 = compared.filter((c) => c.real.startsWith('denied by the proxy')).length;
  console.log(`# trace vs traffic: ${compared.length} probes compared (${byTool.curl} curl, ${byTool.agnhost} agnhost connect, ${byTool.ping} ping; ${dropped} dropped, ${l7} answered 403 by the proxy, ${compared.length - dropped - l7} reached), ${mismatches.length} mismatches, ${skipped.length} not probes`);
  assert.deepEqual(mismatches, []);
  assert.ok(compared.length >= 150, `only ${compared.length} probes compared`);
  assert.ok(dropped >= 40 && compared.length - dropped >= 40, 'both outcomes are exercised');
});
