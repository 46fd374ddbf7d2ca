// `podpath lab check 01`: bring up a fresh demo cluster, run every command of
// the shipped lab as a person would, and report step by step whether each
// produced what the lab expects. The test suite runs the same checker.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterPaths, ensurePrivateDir } from '../cluster/paths.js';
import { up, down } from '../cli/cluster-commands.js';
import { ensureFrontEnds } from '../cli/env.js';
import { kubeconfigPath } from '../cluster/kubeconfig.js';
import { labCommands } from './markdown.js';
import { runLabCommands, type CommandRun } from './runner.js';
import { LAB_CHECKS, type LabExpectation } from './lab-checks.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (dist/src/lab → ../../..). */
export const REPO_ROOT = join(here, '..', '..', '..');

export interface StepVerdict {
  heading: string;
  command: string;
  ok: boolean;
  problems: string[];
  run: CommandRun;
}

export function labReadme(lab: string): string {
  const dirs: Record<string, string> = { '01': '01-packet-flow' };
  const d = dirs[lab];
  if (!d) throw new Error(`no lab "${lab}" (labs: ${Object.keys(dirs).join(', ')})`);
  return join(REPO_ROOT, 'labs', d, 'README.md');
}

/** Judge each command's run against the lab's expectations. */
export function judge(lab: string, runs: CommandRun[]): StepVerdict[] {
  const checks = LAB_CHECKS[lab] ?? [];
  return runs.map((run) => {
    const problems: string[] = [];
    const exp: LabExpectation | undefined = checks.find((c) => c.command.test(run.cmd.text));
    // Ctrl-C decides how a --follow ends; a port-forward still serving at the lab's end counts as 0 (runner.ts).
    const wantRc = exp?.rc ?? (run.mode === 'interrupted' ? undefined : 0);
    // A port the lab names (12000) that another program holds is the machine's business, not the cluster's.
    const portBusy = run.mode === 'separate-terminal' && /bind: address already in use/.test(run.output);
    if (wantRc !== undefined && run.rc !== wantRc && !portBusy) problems.push(`exit status ${run.rc}, expected ${wantRc}`);
    for (const re of exp?.output ?? []) if (!re.test(run.output)) problems.push(`output does not match ${re}`);
    for (const re of exp?.notOutput ?? []) if (re.test(run.output)) problems.push(`output should not match ${re}`);
    if (/\n\s+at .*\(.*:\d+:\d+\)/.test(run.output)) problems.push('a stack trace was printed');
    return { heading: run.cmd.heading, command: run.cmd.text, ok: problems.length === 0, problems, run };
  });
}

export interface LabCheckOptions {
  /** Keep the cluster running afterwards (for a look around). */
  keep?: boolean;
  out?: (s: string) => void;
  /** Stop early (Ctrl-C): the lab's commands are ended and the cluster is taken down as on a normal finish. */
  signal?: AbortSignal;
  /** Another kubectl (the real one) to run the lab with, first on PATH with the cluster's KUBECONFIG; podpath's cilium and hubble stay. */
  kubectl?: string;
}

/** Which signal ended the check, when one did. */
export class LabInterrupted extends Error {
  constructor(readonly signal: string) {
    super(`lab check interrupted (${signal}); its cluster was stopped`);
  }
}

/** The whole check: fresh cluster, run, judge, report. Resolves to the number of failed steps. */
export async function checkLab(lab: string, opts: LabCheckOptions = {}): Promise<{ failed: number; verdicts: StepVerdict[] }> {
  const out = opts.out ?? ((s: string) => process.stdout.write(s));
  const readme = labReadme(lab);
  const cmds = labCommands(readFileSync(readme, 'utf8'));
  const home = mkdtempSync(join(tmpdir(), 'podpath-lab-'));
  const name = `lab${lab}`;
  const saved = process.env['PODPATH_HOME'];
  process.env['PODPATH_HOME'] = home;
  try {
    ensurePrivateDir(home);
    await up({ name, demo: true, clock: 'fast' }, () => undefined);
    if (opts.signal?.aborted) throw new LabInterrupted(String(opts.signal.reason ?? 'aborted'));
    const paths = clusterPaths(name, home);
    let bin = ensureFrontEnds(paths);
    const extra: NodeJS.ProcessEnv = {};
    if (opts.kubectl) {
      const own = join(home, 'kubectl-bin');
      mkdirSync(own, { mode: 0o700 });
      symlinkSync(opts.kubectl, join(own, 'kubectl'));
      bin = `${own}:${bin}`;
      // Its discovery cache stays with the lab's cluster, not in the user's ~/.kube.
      extra['KUBECACHEDIR'] = join(home, 'kube-cache');
    }
    const env = { ...process.env, ...extra, PODPATH_HOME: home, PODPATH_CLUSTER: name, KUBECONFIG: kubeconfigPath(paths), PATH: `${bin}:${process.env['PATH'] ?? ''}` };
    const runs = await runLabCommands(cmds, { cwd: REPO_ROOT, env, ...(opts.signal ? { signal: opts.signal } : {}) });
    if (opts.signal?.aborted) throw new LabInterrupted(String(opts.signal.reason ?? 'aborted'));
    const verdicts = judge(lab, runs);
    let lastHeading = '';
    for (const v of verdicts) {
      if (v.heading !== lastHeading) out(`\n${v.heading}\n`);
      lastHeading = v.heading;
      out(`  ${v.ok ? 'ok  ' : 'FAIL'}  ${v.command.length > 100 ? v.command.slice(0, 97) + '...' : v.command}\n`);
      for (const p of v.problems) out(`        ${p}\n`);
    }
    const failed = verdicts.filter((v) => !v.ok).length + (runs.length < cmds.length ? cmds.length - runs.length : 0);
    out(`\n${verdicts.length - verdicts.filter((v) => !v.ok).length}/${cmds.length} lab commands behaved as the lab expects\n`);
    return { failed, verdicts };
  } finally {
    if (!opts.keep) {
      await down({ name }, () => undefined).catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    }
    if (saved === undefined) delete process.env['PODPATH_HOME'];
    else process.env['PODPATH_HOME'] = saved;
  }
}
