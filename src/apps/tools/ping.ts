// busybox ping (the "fancy" one): ICMP echo requests through the pod stack,
// one per interval, its reply lines and statistics, and its exit status
// (1 when nothing came back).

import { ipv4ToString } from '../../packet/ip.js';
import type { PingHandle } from '../../net/stack/index.js';
import type { TimerHandle } from '../../util/clock.js';
import { Aborted } from '../proc.js';
import { ResolveError, Resolver } from '../resolver.js';
import { signalExitCode, type AppCommand } from '../types.js';
import { BUSYBOX_BANNER, getopt } from './getopt.js';

const USAGE = `${BUSYBOX_BANNER}

Usage: ping [OPTIONS] HOST

Send ICMP ECHO_REQUESTs to HOST

	-4,-6		Force IP or IPv6 name resolution
	-c CNT		Send only CNT pings
	-s SIZE		Send SIZE data bytes in packets (default 56)
	-i SECS		Interval
	-A		Ping as soon as reply is received
	-t TTL		Set TTL
	-I IFACE/IP	Source interface or IP address
	-W SEC		Seconds to wait for the first response (default 10)
			(after all -c CNT packets are sent)
	-w SEC		Seconds until ping exits (default:infinite)
			(can exit earlier with -c CNT)
	-q		Quiet, only display output at start/finish
	-p HEXBYTE	Payload pattern
`;

/** busybox MAXWAIT. */
const DEFAULT_WAIT_S = 10;

function positiveNumber(s: string | undefined, fallback: number): number | null {
  if (s === undefined) return fallback;
  if (!/^[0-9]*\.?[0-9]+$/.test(s)) return null;
  return Number(s);
}

/** "1.234" from microseconds, as busybox prints times. */
function ms3(us: number): string {
  return `${Math.floor(us / 1000)}.${String(Math.floor(us % 1000)).padStart(3, '0')}`;
}

export const ping: AppCommand = async (env, argv, io) => {
  const opts = getopt(argv.slice(1), { flags: 'qvAn46', withValue: 'cstwWIpi' });
  if ('error' in opts) {
    io.stderr(`ping: ${opts.error}\n${USAGE}`);
    return 1;
  }
  if (opts.operands.length !== 1) {
    io.stderr(USAGE);
    return 1;
  }
  const count = positiveNumber(opts.values.get('c'), 0);
  const size = positiveNumber(opts.values.get('s'), 56);
  const intervalS = positiveNumber(opts.values.get('i'), 1);
  const waitS = positiveNumber(opts.values.get('W'), DEFAULT_WAIT_S);
  const deadlineS = positiveNumber(opts.values.get('w'), 0);
  for (const [letter, v] of [['c', count], ['s', size], ['i', intervalS], ['W', waitS], ['w', deadlineS]] as const) {
    if (v === null) {
      io.stderr(`ping: invalid number '${opts.values.get(letter)}'\n`);
      return 1;
    }
  }
  const quiet = opts.flags.has('q');
  const host = opts.operands[0]!;
  let dst: number;
  try {
    dst = (await new Resolver(env).lookup(host, { signal: io.signal })).addresses[0]!;
  } catch (e) {
    if (e instanceof ResolveError) {
      io.stderr(`ping: bad address '${host}'\n`);
      return 1;
    }
    if (e instanceof Aborted) return signalExitCode(io.signal);
    throw e;
  }
  const dotted = ipv4ToString(dst);
  const datalen = Math.floor(size!);
  io.stdout(`PING ${host} (${dotted}): ${datalen} data bytes\n`);

  const clock = env.clock;
  const ident = env.rng.between(1, 0xffff);
  let transmitted = 0;
  let received = 0;
  let repeats = 0;
  let tmin = Infinity;
  let tmax = 0;
  let tsum = 0;
  const seen = new Set<number>();
  const handles: PingHandle[] = [];
  const timers: TimerHandle[] = [];

  const exitCode = await new Promise<number>((resolve) => {
    let finished = false;
    const finish = (killedBy?: AbortSignal): void => {
      if (finished) return;
      finished = true;
      for (const h of handles) h.cancel();
      for (const t of timers) clock.clearTimer(t);
      io.signal.removeEventListener('abort', onAbort);
      if (killedBy && killedBy.reason !== 'SIGINT' && killedBy.reason !== undefined) {
        resolve(signalExitCode(killedBy));
        return;
      }
      // busybox catches SIGINT and prints the statistics like a normal end.
      let s = `\n--- ${host} ping statistics ---\n${transmitted} packets transmitted, ${received} packets received, `;
      if (repeats > 0) s += `${repeats} duplicates, `;
      s += `${transmitted === 0 ? 0 : Math.floor(((transmitted - received) * 100) / transmitted)}% packet loss\n`;
      if (tmin !== Infinity) {
        const avg = tsum / (received + repeats);
        s += `round-trip min/avg/max = ${ms3(tmin)}/${ms3(avg)}/${ms3(tmax)} ms\n`;
      }
      io.stdout(s);
      resolve(received === 0 || (deadlineS! > 0 && received < count!) ? 1 : 0);
    };
    const onAbort = (): void => finish(io.signal);
    if (io.signal.aborted) {
      finish(io.signal);
      return;
    }
    io.signal.addEventListener('abort', onAbort, { once: true });
    if (deadlineS! > 0) timers.push(clock.setTimer(deadlineS! * 1000, () => finish()));

    const send = (): void => {
      if (finished) return;
      const seq = transmitted & 0xffff;
      transmitted++;
      handles.push(
        env.stack.ping(dst, {
          ident,
          seq,
          payloadLen: datalen,
          onReply: (rttMs, ttl) => {
            const us = Math.max(0, Math.floor(rttMs * 1000));
            const dup = seen.has(seq);
            if (dup) repeats++;
            else {
              seen.add(seq);
              received++;
            }
            tsum += us;
            tmin = Math.min(tmin, us);
            tmax = Math.max(tmax, us);
            if (!quiet) io.stdout(`${datalen + 8} bytes from ${dotted}: seq=${seq} ttl=${ttl} time=${ms3(us)} ms${dup ? ' (DUP!)' : ''}\n`);
            if (count! > 0 && received >= count!) finish();
          },
          onError: (err) => {
            const type = err.code === 'ETIMEDOUT' ? 11 : 3;
            io.stderr(`ping: warning: got ICMP ${type} (${type === 11 ? 'Time Exceeded' : 'Destination Unreachable'})\n`);
          },
        }),
      );
      if (count === 0 || transmitted < count!) {
        timers.push(clock.setTimer(intervalS! * 1000, send));
      } else {
        // All sent: wait -W seconds for a first reply, or about two round trips once one came.
        const expireS = received > 0 ? Math.max(1, Math.floor(tmax / (512 * 1024))) : waitS!;
        timers.push(clock.setTimer(expireS * 1000, () => finish()));
      }
    };
    send();
  });
  return exitCode;
};
