// The terminal in front of `kubectl exec -it`: keys typed in raw mode become
// lines (echo, Backspace, Ctrl-U, Enter, Ctrl-D), output newlines leave as
// CR LF, and Ctrl-C interrupts the command in the foreground while an
// interactive sh prompts again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { withTerminal } from '../../src/apps/terminal.js';
import { commandByName } from '../../src/apps/registry.js';
import type { ProcessIO } from '../../src/apps/types.js';
import { makeLab } from './harness.js';

/** sh behind a terminal; `type` sends keys once the screen shows `after` (the shell's output so far). */
function session(): { lab: ReturnType<typeof makeLab>; screen: () => string; type: (keys: string, after: string) => void; send: (keys: string) => void; done: Promise<number> } {
  const lab = makeLab();
  let screen = '';
  const waits: { after: string; keys: string }[] = [];
  let feed: ((k: string) => void) | undefined;
  const pending: string[] = [];
  const deliver = (k: string): void => (feed ? (feed(k), (feed = undefined)) : void pending.push(k));
  const check = (): void => {
    while (waits.length && screen.endsWith(waits[0]!.after)) deliver(waits.shift()!.keys);
  };
  const keys = (async function* () {
    for (;;) {
      const k = pending.length ? pending.shift()! : await new Promise<string>((r) => (feed = r));
      yield new TextEncoder().encode(k);
    }
  })();
  const raw: ProcessIO = {
    stdout: (c) => {
      screen += typeof c === 'string' ? c : new TextDecoder().decode(c);
      check();
    },
    stderr: () => assert.fail('a terminal has no separate stderr'),
    signal: new AbortController().signal,
    stdin: keys,
    tty: true,
  };
  const done = commandByName('sh')!(lab.envs.frontend, ['sh'], withTerminal(raw));
  return {
    lab,
    screen: () => screen,
    type: (k, after) => {
      waits.push({ after, keys: k });
      check();
    },
    send: (k) => deliver(k),
    done,
  };
}

test('typed lines are echoed and edited, each runs at Enter, output ends lines with CR LF', async () => {
  const s = session();
  s.type('echo hi\r', '/ # ');
  s.type('ech\x7fho $((40+2)) nope\x15echo ok; echo two >&2\r', 'hi\r\n/ # ');
  s.type('if true\r', 'two\r\n/ # ');
  s.type('then echo yes; fi\r', '> ');
  s.type('\x1b[Aecho arrows\x1b[D ignored\r', 'yes\r\n/ # ');
  s.type('\x04', 'arrows ignored\r\n/ # ');
  assert.equal(await s.done, 0);
  assert.equal(
    s.screen(),
    '/ # echo hi\r\nhi\r\n' +
      '/ # ech\b \bho $((40+2)) nope' +
      // Ctrl-U erases the whole line typed so far.
      '\b \b'.repeat('echo $((40+2)) nope'.length) +
      'echo ok; echo two >&2\r\nok\r\ntwo\r\n' +
      '/ # if true\r\n> then echo yes; fi\r\nyes\r\n' +
      '/ # echo arrows ignored\r\narrows ignored\r\n/ # ',
  );
});

test('Ctrl-C interrupts the command that runs, the shell prompts again with $? 130; exit ends it', async () => {
  const s = session();
  s.type('sleep 3600\r', '/ # ');
  // Ctrl-C once sleep waits on its timer (typed earlier, it would reach the shell between commands).
  for (let i = 0; i < 1000 && !((s.lab.w.clock.nextTimerAt() ?? 0) >= 3_600_000); i++) await turn();
  assert.ok((s.lab.w.clock.nextTimerAt() ?? 0) >= 3_600_000, 'sleep is running');
  s.send('\x03');
  s.type('echo "status $?"\r', '^C\r\n/ # ');
  s.type('exit 4\r', 'status 130\r\n/ # ');
  assert.equal(await s.done, 4);
  assert.equal(s.screen(), '/ # sleep 3600\r\n^C\r\n/ # echo "status $?"\r\nstatus 130\r\n/ # exit 4\r\n');
});
