// The small busybox applets a pod shell has: echo, sleep, hostname, true,
// false, cat.

import { podFile } from '../files.js';
import { sleep as clockSleep } from '../proc.js';
import { signalExitCode, type AppCommand } from '../types.js';

export const echo: AppCommand = async (_env, argv, io) => {
  let args = argv.slice(1);
  let newline = true;
  let escapes = false;
  // busybox echo: leading -n/-e/-E flags (combinable), the rest is text.
  while (args.length > 0 && /^-[neE]+$/.test(args[0]!)) {
    for (const c of args[0]!.slice(1)) {
      if (c === 'n') newline = false;
      else if (c === 'e') escapes = true;
      else escapes = false;
    }
    args = args.slice(1);
  }
  let out = args.join(' ');
  if (escapes) {
    const cut = out.indexOf('\\c');
    if (cut >= 0) {
      out = out.slice(0, cut);
      newline = false;
    }
    out = out.replace(/\\([\\abfnrtv]|0[0-7]{0,3})/g, (_m, e: string) => {
      const map: Record<string, string> = { '\\': '\\', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
      return map[e] ?? String.fromCharCode(parseInt(e.slice(1) || '0', 8));
    });
  }
  io.stdout(out + (newline ? '\n' : ''));
  return 0;
};

/** busybox sleep: seconds with an optional fraction and s/m/h/d suffix; several arguments add up. */
export function parseSleepArg(s: string): number | null {
  const m = /^([0-9]*\.?[0-9]+)([smhd]?)$/.exec(s);
  if (!m) return null;
  const mult: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  return Number(m[1]) * mult[m[2]!]!;
}

export const sleep: AppCommand = async (env, argv, io) => {
  const args = argv.slice(1);
  if (args.length === 0) {
    io.stderr('BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: sleep [N]...\n\nPause for a time equal to the total of the args given, where each arg can\nhave an optional suffix of (s)econds, (m)inutes, (h)ours, or (d)ays\n');
    return 1;
  }
  let total = 0;
  for (const a of args) {
    const ms = parseSleepArg(a);
    if (ms === null) {
      io.stderr(`sleep: invalid number '${a}'\n`);
      return 1;
    }
    total += ms;
  }
  const finished = await clockSleep(env.clock, total, io.signal);
  return finished ? 0 : signalExitCode(io.signal);
};

export const hostname: AppCommand = async (env, argv, io) => {
  const flag = argv[1];
  if (flag === '-i') io.stdout(`${[env.ip >>> 24, (env.ip >>> 16) & 255, (env.ip >>> 8) & 255, env.ip & 255].join('.')}\n`);
  else if (flag === '-s') io.stdout(`${env.hostname.split('.')[0]}\n`);
  else io.stdout(`${env.hostname}\n`);
  return 0;
};

export const trueCommand: AppCommand = async () => 0;
export const falseCommand: AppCommand = async () => 1;

/** cat: stdin (or "-") and the pod's generated files (/etc/resolv.conf, /etc/hosts, ...) to stdout. */
export const cat: AppCommand = async (env, argv, io) => {
  const files = argv.slice(1).filter((a) => a !== '-u');
  let rc = 0;
  for (const f of files.length === 0 ? ['-'] : files) {
    if (f !== '-') {
      const content = podFile(env, f);
      if (content === undefined) {
        io.stderr(`cat: can't open '${f}': No such file or directory\n`);
        rc = 1;
      } else {
        io.stdout(content);
      }
      continue;
    }
    if (!io.stdin) continue;
    const it = io.stdin[Symbol.asyncIterator]();
    for (;;) {
      const next = await Promise.race([it.next(), abortedPromise(io.signal)]);
      if (next === 'aborted') {
        await it.return?.();
        return signalExitCode(io.signal);
      }
      if (next.done) break;
      io.stdout(next.value);
    }
  }
  return rc;
};

function abortedPromise(signal: AbortSignal): Promise<'aborted'> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
}
