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
  // Commands "in a separate terminal" write to a file of their own; at the end each is judged: still
  // running is a success (a port-forward serves until stopped), having exited is judged by its status.
  const script: string[] = ['__pp_bg=()', '__pp_bgi=()', '__pp_dir=$(mktemp -d)'];
  cmds.forEach((c, i) => {
    const mode = modeOf(c.text);
    script.push(`printf '\\n${MARK} start ${i}\\n'`);
    if (mode === 'interrupted') script.push(`timeout -s INT -k 5 ${watch} ${c.text}`);
    else if (mode === 'separate-terminal') script.push(`: > "$__pp_dir/${i}"; ${c.text} > "$__pp_dir/${i}" 2>&1 & __pp_bg+=($!); __pp_bgi+=(${i})`);
    else script.push(c.text);
    script.push(`printf '\\n${MARK} end ${i} %d\\n' $?`);
  });
  script.push(
    'for k in "${!__pp_bg[@]}"; do p=${__pp_bg[$k]}; i=${__pp_bgi[$k]}',
    '  if kill -0 "$p" 2>/dev/null; then kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; rc=0; else wait "$p"; rc=$?; fi',
    `  printf '\\n${MARK} separate %d %d\\n' "$i" "$rc"; cat "$__pp_dir/$i"; printf '\\n${MARK} separate-end %d\\n' "$i"`,
    'done; rm -rf "$__pp_dir"; wait 2>/dev/null; exit 0',
  );
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
      const separate = new RegExp(`\\n${MARK} separate (\\d+) (\\d+)\\n([\\s\\S]*?)\\n${MARK} separate-end \\1\\n`, 'g');
      while ((m = separate.exec(all))) {
        const run = runs.find((r) => r.cmd === cmds[Number(m![1])]);
        if (run) Object.assign(run, { rc: Number(m[2]), output: m[3]! });
      }
      resolve(runs);
    });
  });
}
