// The pseudo-terminal in front of a command run with a TTY (`kubectl exec
// -it`). kubectl puts the user's terminal in raw mode and sends keys as they
// are typed, so this side does what a terminal's line discipline does in
// cooked mode: echo, Backspace and Ctrl-U edit the line, Enter hands it to
// the command, Ctrl-D on an empty line is end of input, Ctrl-C interrupts
// (SIGINT), arrow keys and other escape sequences are ignored, and newlines
// the command writes reach the terminal as CR LF.

import type { ProcessIO } from './types.js';

const encoder = new TextEncoder();

/** ONLCR: every LF leaves as CR LF. */
function crlf(chunk: string | Uint8Array): string | Uint8Array {
  if (typeof chunk === 'string') return chunk.replace(/\n/g, '\r\n');
  let lfs = 0;
  for (const b of chunk) if (b === 0x0a) lfs++;
  if (lfs === 0) return chunk;
  const out = new Uint8Array(chunk.length + lfs);
  let j = 0;
  for (const b of chunk) {
    if (b === 0x0a) out[j++] = 0x0d;
    out[j++] = b;
  }
  return out;
}

/**
 * `io` as the command sees it behind a terminal; the original's stdin is read
 * as typed keys. Ctrl-C interrupts what runs in the foreground: `signal` is
 * read afresh for each command (a shell does, between commands), so what runs
 * after an interrupt gets a new one. The session ending aborts them all.
 */
export function withTerminal(io: ProcessIO): ProcessIO {
  let foreground = new AbortController();
  const sessionEnded = (): void => foreground.abort(io.signal.reason);
  if (io.signal.aborted) sessionEnded();
  else io.signal.addEventListener('abort', sessionEnded, { once: true });
  const sigint = (): void => {
    const interrupted = foreground;
    foreground = new AbortController();
    if (io.signal.aborted) foreground.abort(io.signal.reason);
    interrupted.abort('SIGINT');
  };
  return {
    stdout: (c) => io.stdout(crlf(c)),
    stderr: (c) => io.stdout(crlf(c)),
    get signal() {
      return foreground.signal;
    },
    tty: true,
    ...(io.stdin ? { stdin: cooked(io.stdin, (s) => io.stdout(s), sigint) } : {}),
  };
}

/**
 * Typed keys in, whole lines out (canonical mode). Keys are handled as they
 * arrive, whether or not the command is reading: typing ahead echoes, and
 * Ctrl-C reaches a command that never reads its input.
 */
function cooked(keys: AsyncIterable<Uint8Array>, echo: (s: string) => void, sigint: () => void): AsyncIterable<Uint8Array> {
  const lines: Uint8Array[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  void (async () => {
    try {
      for await (const ready of discipline(keys, echo, sigint)) {
        lines.push(encoder.encode(ready));
        wake?.();
      }
    } finally {
      ended = true;
      wake?.();
    }
  })();
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = lines.shift();
        if (next) yield next;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

/** The line discipline: keys in, the text of completed lines out. */
async function* discipline(keys: AsyncIterable<Uint8Array>, echo: (s: string) => void, sigint: () => void): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let line = '';
  let escape = false;
  for await (const chunk of keys) {
    let ready = '';
    for (const ch of decoder.decode(chunk, { stream: true })) {
      if (escape) {
        // CSI and SS3 sequences end with a letter or '~' (ESC [ A, ESC O P, ESC [ 3 ~).
        if (/[A-Za-z~]/.test(ch) && ch !== 'O') escape = false;
        continue;
      }
      switch (ch) {
        case '\x1b':
          escape = true;
          break;
        case '\r':
        case '\n':
          echo('\r\n');
          ready += line + '\n';
          line = '';
          break;
        case '\x7f':
        case '\b':
          if (line) {
            line = [...line].slice(0, -1).join('');
            echo('\b \b');
          }
          break;
        case '\x15':
          echo('\b \b'.repeat([...line].length));
          line = '';
          break;
        case '\x03':
          echo('^C\r\n');
          line = '';
          sigint();
          break;
        case '\x04':
          if (!line) {
            if (ready) yield ready;
            return;
          }
          ready += line;
          line = '';
          break;
        default:
          if (ch >= ' ' || ch === '\t') {
            line += ch;
            echo(ch);
          }
      }
    }
    if (ready) yield ready;
  }
  if (line) yield line;
}
