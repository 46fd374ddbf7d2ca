// Small process-side helpers: waiting on the virtual clock, turning socket
// callbacks into promises that a signal or a deadline can cancel, and text.

import { concatBytes } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import type { ProcessIO } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const utf8 = (s: string): Uint8Array => encoder.encode(s);
export const text = (b: Uint8Array): string => decoder.decode(b);

/** Rejection of an abortable wait: the signal's reason says why (a signal name, 'timeout', ...). */
export class Aborted extends Error {
  constructor(readonly reason: unknown) {
    super(typeof reason === 'string' ? reason : 'aborted');
    this.name = 'Aborted';
  }
}

/**
 * A promise driven by callbacks: `start` wires them and returns a cleanup
 * that runs once, however the promise settles. An abort of `signal` rejects
 * with Aborted (after the cleanup).
 */
export function abortable<T>(
  signal: AbortSignal | undefined,
  start: (resolve: (value: T) => void, reject: (err: unknown) => void) => (() => void) | void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let cleanup: (() => void) | void = undefined;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      if (cleanup) cleanup();
      return true;
    };
    const onAbort = (): void => {
      if (finish()) reject(new Aborted(signal?.reason));
    };
    if (signal?.aborted) {
      done = true;
      reject(new Aborted(signal.reason));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    cleanup = start(
      (v) => {
        if (finish()) resolve(v);
      },
      (e) => {
        if (finish()) reject(e);
      },
    );
    // start may have settled synchronously before cleanup was assigned.
    if (done && cleanup) cleanup();
  });
}

/** Waits ms of clock time; resolves false if the signal aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  return abortable<boolean>(signal, (resolve) => {
    const t = clock.setTimer(ms, () => resolve(true));
    return () => clock.clearTimer(t);
  }).catch((e: unknown) => {
    if (e instanceof Aborted) return false;
    throw e;
  });
}

/** An AbortSignal that fires `reason` after ms of clock time; cancel() disarms it. */
export function clockTimeout(clock: Clock, ms: number, reason: unknown = 'timeout'): { signal: AbortSignal; cancel(): void } {
  const ctl = new AbortController();
  const t = clock.setTimer(ms, () => ctl.abort(reason));
  return { signal: ctl.signal, cancel: () => clock.clearTimer(t) };
}

/** Aborts when any input does, with that input's reason. */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return AbortSignal.any(present);
}

/** Everything on stdin (empty when there is none). */
export async function readAll(io: ProcessIO): Promise<Uint8Array> {
  if (!io.stdin) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  for await (const chunk of io.stdin) parts.push(chunk);
  return concatBytes(parts);
}

export { concatBytes };

/** Writes text lines (each gets "\n"). */
export function writeLines(write: (s: string) => void, lines: string[]): void {
  if (lines.length > 0) write(lines.join('\n') + '\n');
}

/**
 * Parses a Go duration ("1s", "1.5s", "300ms", "1m30s", "0"); null when
 * invalid. Returns milliseconds.
 */
export function parseGoDuration(s: string): number | null {
  if (s === '0') return 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  let sign = 1;
  let body = s;
  if (body.startsWith('-') || body.startsWith('+')) {
    sign = body.startsWith('-') ? -1 : 1;
    body = body.slice(1);
  }
  if (body.length === 0) return null;
  re.lastIndex = 0;
  while (at < body.length) {
    const m = re.exec(body);
    if (!m || m.index !== at) return null;
    total += Number(m[1]) * units[m[2]!]!;
    at = re.lastIndex;
  }
  return sign * total;
}

/** Formats ms the way Go prints a time.Duration ("1s", "1.5s", "300ms", "1m30s"). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${trimNum(ms)}ms`;
  let rest = ms / 1000;
  let out = '';
  const h = Math.floor(rest / 3600);
  if (h > 0) {
    out += `${h}h`;
    rest -= h * 3600;
  }
  const m = Math.floor(rest / 60);
  if (h > 0 || m > 0) {
    out += `${m}m`;
    rest -= m * 60;
  }
  return `${out}${trimNum(rest)}s`;
}

function trimNum(n: number): string {
  return String(Number(n.toFixed(9)));
}
