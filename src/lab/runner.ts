// Runs a lab's commands the way a person would, in one real bash session (so
// variables like FRONTEND_POD carry over), recording each command's output
// and exit status. Commands a person leaves running and stops with Ctrl-C
// (--follow, cilium monitor) get SIGINT after a few seconds; port-forwards
// "in a separate terminal" run in the background until the lab ends.

import { spawn } from 'node:child_process';
import type { LabCommand } from './markdown.js';

export type RunMode = 'normal' | 'interrupted' | 'separate-terminal';

export interface CommandRun {
  cmd: LabCommand;
  mode: RunMode;
  rc: number;
  /** stdout and stderr interleaved, as a terminal shows them. */
  output: string;
}

export function modeOf(text: string): RunMode {
  if (/\bport-forward\b/.test(text)) return 'separate-terminal';
  if (/--follow\b|\bcilium(-dbg)? monitor\b/.test(text) && !/&\s*$/.test(text)) return 'interrupted';
  return 'normal';
}

const MARK = '\u001e@@podpath-lab@@';

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Seconds an interrupted command runs before its Ctrl-C. */
  watchSeconds?: number;
  /** Abort: the bash session (and what it started) gets SIGTERM; the runs so far are returned. */
  signal?: AbortSignal;
}

/** Run the commands in order; resolves with one record per command. */
export function runLabCommands(cmds: LabCommand[], opts: RunOptions): Promise<CommandRun[]> {
  const watch = opts.watchSeconds ?? 3;
  const script: string[] = ['__pp_bg=()'];
  cmds.forEach((c, i) => {
    const mode = modeOf(c.text);
    script.push(`printf '\\n${MARK} start ${i}\\n'`);
    if (mode === 'interrupted') script.push(`timeout -s INT -k 5 ${watch} ${c.text}`);
    else if (mode === 'separate-terminal') script.push(`${c.text} & __pp_bg+=($!)`);
    else script.push(c.text);
    script.push(`printf '\\n${MARK} end ${i} %d\\n' $?`);
  });
  script.push('for p in "${__pp_bg[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; exit 0');
  return new Promise((resolve, reject) => {
    // detached: bash leads its own process group, so an abort reaches the commands it runs too.
    const child = spawn('bash', ['-c', script.join('\n')], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stop = (): void => {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    };
    if (opts.signal?.aborted) stop();
    opts.signal?.addEventListener('abort', stop, { once: true });
    let all = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (all += d));
    child.stderr.on('data', (d: string) => (all += d));
    child.on('error', reject);
    child.on('close', () => {
      opts.signal?.removeEventListener('abort', stop);
      const runs: CommandRun[] = [];
      const re = new RegExp(`\\n?${MARK} start (\\d+)\\n([\\s\\S]*?)\\n${MARK} end \\1 (\\d+)\\n`, 'g');
      let m: RegExpExecArray | null;
      while ((m = re.exec(all))) {
        const i = Number(m[1]);
        runs.push({ cmd: cmds[i]!, mode: modeOf(cmds[i]!.text), rc: Number(m[3]), output: m[2]! });
      }
      resolve(runs);
    });
  });
}
