// Text output of `podpath trace`: a header naming both ends, one block per
// step (where · program, then what it found and decided), the outcome of
// each direction and the verdict; with -v the `cilium monitor` line of each
// event step too.

import type { TraceOutcome, TracePeer, TraceResult, TraceStep } from './model.js';
import { tupleText } from './trace.js';

function peerText(p: TracePeer): string {
  const bits: string[] = [];
  if (p.ip) bits.push(p.ip);
  if (p.identity !== undefined) bits.push(`identity ${p.identity}`);
  if (p.endpointId !== undefined) bits.push(`endpoint ${p.endpointId}`);
  if (p.node && p.kind === 'pod') bits.push(`on ${p.node}`);
  return `${p.name}${bits.length ? ` (${bits.join(', ')})` : ''}`;
}

function where(s: TraceStep): string {
  const node = s.node ?? (s.kind === 'dns' ? 'cluster DNS' : s.kind === 'wire' ? 'underlay' : s.hook.startsWith('host/') ? s.hook.split(' ')[0]! : '-');
  return `[${node}] ${s.hook}${s.program ? ` · ${s.program}` : ''}`;
}

function outcomeText(o: TraceOutcome): string {
  return o.text;
}

export interface FormatOptions {
  /** -v: the monitor line of every event step. */
  verbose?: boolean;
}

export function formatTrace(r: TraceResult, opts: FormatOptions = {}): string {
  const out: string[] = [];
  const port = r.request.protocol === 'ICMP' ? 'ICMP echo' : `${r.request.port}/${r.request.protocol}`;
  out.push(`Tracing ${peerText(r.source)}`);
  out.push(`     to ${peerText(r.destination)} ${port}${r.request.httpMethod || r.request.httpPath ? ` (${r.request.httpMethod ?? 'GET'} ${r.request.httpPath ?? '/'})` : ''}`);
  out.push(`  packet ${tupleText(r.forward.tuple)}${r.service ? ` (after socket LB of ${r.service.namespace}/${r.service.name} ${r.service.frontend})` : ''}`);
  if (r.whatIf) {
    const w = r.whatIf;
    const changes = [...w.added.map((a) => `+${a}`), ...w.removed.map((a) => `-${a}`)];
    out.push(`  what-if ${changes.join(' ') || '(nothing)'} (in the fork only; the cluster is unchanged)`);
    for (const p of w.problems) out.push(`  problem: ${p}`);
  }
  out.push('');
  let dir: string | undefined;
  const width = String(r.steps.length).length;
  for (const s of r.steps) {
    if (s.direction !== dir) {
      if (dir !== undefined) out.push('');
      out.push(s.direction === 'forward' ? 'Request:' : 'Reply:');
      dir = s.direction;
    }
    out.push(`${String(s.seq).padStart(width + 2)}. ${where(s)}${s.point ? ` (${s.point})` : ''}`);
    const pad = ' '.repeat(width + 4);
    out.push(`${pad}${s.summary}`);
    if (s.packet && (s.kind === 'trace' || s.kind === 'drop' || s.kind === 'deliver')) out.push(`${pad}${tupleText(s.packet)}`);
    if (opts.verbose && s.monitor) for (const l of s.monitor.split('\n')) out.push(`${pad}> ${l}`);
  }
  out.push('');
  out.push(`Request: ${outcomeText(r.forward.outcome)}`);
  if (r.reply) out.push(`Reply:   ${'outcome' in r.reply ? outcomeText(r.reply.outcome) : `not traced: ${r.reply.skipped}`}`);
  if (r.whatIf) {
    const b = r.whatIf.before;
    out.push(`Before:  ${b.verdict} (${b.forward.text}${b.reply ? `; reply ${b.reply.text}` : ''})`);
    out.push(`After:   ${r.verdict}`);
  }
  out.push(`Verdict: ${r.verdict}`);
  return out.join('\n') + '\n';
}
