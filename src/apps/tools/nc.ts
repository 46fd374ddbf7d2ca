// busybox nc (nc_bloaty, from netcat 1.10): connect to HOST PORT over TCP
// (or UDP with -u), shovel stdin to the socket and the socket to stdout;
// -z only tests, -v reports "host (ip:port) open", -w bounds the connect
// and idle time, -l listens. Failures print "nc: host (ip:port): strerror".

import { ipv4ToString, parseIpv4Addr } from '../../packet/ip.js';
import type { UdpSocket } from '../../net/stack/index.js';
import { ConnectError, TcpStream, connectTcp } from '../http.js';
import { Aborted, abortable, clockTimeout, sleep } from '../proc.js';
import { ResolveError, Resolver } from '../resolver.js';
import { signalExitCode, type AppCommand, type PodEnv, type ProcessIO } from '../types.js';
import { BUSYBOX_BANNER, getopt } from './getopt.js';

const USAGE = `${BUSYBOX_BANNER}

Usage: nc [OPTIONS] HOST PORT  - connect
nc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen

	-e PROG	Run PROG after connect (must be last)
	-l	Listen mode, for inbound connects
	-lk	With -e, provides persistent server
	-p PORT	Local port
	-s ADDR	Local address
	-w SEC	Timeout for connects and final net reads
	-i SEC	Delay interval for lines sent
	-n	Don't do DNS resolution
	-u	UDP mode
	-b	Allow broadcasts
	-v	Verbose
	-o FILE	Hex dump traffic
	-z	Zero-I/O mode (scanning)
`;

const SERVICES: Record<string, number> = { http: 80, https: 443, domain: 53, ssh: 22, ftp: 21, smtp: 25 };

function portOf(s: string | undefined): number | null {
  if (s === undefined) return null;
  if (/^[0-9]+$/.test(s) && Number(s) <= 65535) return Number(s);
  return SERVICES[s] ?? null;
}

/** Pipes stdin to `send` (with `end` at EOF) in the background. */
function pumpStdin(io: ProcessIO, send: (b: Uint8Array) => void, end: () => void, signal: AbortSignal): void {
  if (!io.stdin) {
    end();
    return;
  }
  const it = io.stdin[Symbol.asyncIterator]();
  void (async () => {
    for (;;) {
      const next = await Promise.race([it.next(), new Promise<'stop'>((r) => signal.addEventListener('abort', () => r('stop'), { once: true }))]);
      if (next === 'stop') {
        await it.return?.();
        return;
      }
      if (next.done) {
        end();
        return;
      }
      send(next.value);
    }
  })();
}

export const nc: AppCommand = async (env, argv, io) => {
  const opts = getopt(argv.slice(1), { flags: 'lknubvz', withValue: 'pswioe' });
  if ('error' in opts) {
    io.stderr(`nc: ${opts.error}\n${USAGE}`);
    return 1;
  }
  const verbose = opts.flags.get('v') ?? 0;
  const udp = opts.flags.has('u');
  const zero = opts.flags.has('z');
  const waitS = opts.values.has('w') ? Number(opts.values.get('w')) : 0;
  if (!Number.isFinite(waitS) || waitS < 0) {
    io.stderr(`nc: invalid number '${opts.values.get('w')}'\n`);
    return 1;
  }
  const localPort = opts.values.has('p') ? portOf(opts.values.get('p')) : undefined;
  if (localPort === null) {
    io.stderr(`nc: bad port '${opts.values.get('p')}'\n`);
    return 1;
  }
  if (opts.flags.has('l')) return listen(env, io, { port: localPort ?? portOf(opts.operands[1] ?? opts.operands[0]) ?? 0, udp, verbose, keep: opts.flags.has('k') });

  if (opts.operands.length !== 2) {
    io.stderr(USAGE);
    return 1;
  }
  const [host, portText] = opts.operands as [string, string];
  const port = portOf(portText);
  if (port === null) {
    io.stderr(`nc: bad port '${portText}'\n`);
    return 1;
  }
  let ip: number;
  try {
    ip = parseIpv4Addr(host) ?? (await new Resolver(env).lookup(host, { signal: io.signal })).addresses[0]!;
  } catch (e) {
    if (e instanceof ResolveError) {
      io.stderr(`nc: bad address '${host}'\n`);
      return 1;
    }
    if (e instanceof Aborted) return signalExitCode(io.signal);
    throw e;
  }
  const label = `${host} (${ipv4ToString(ip)}:${port})`;
  try {
    if (udp) return await udpClient(env, io, { ip, port, label, zero, verbose, waitS, localPort });
    return await tcpClient(env, io, { ip, port, label, zero, verbose, waitS, localPort });
  } catch (e) {
    if (e instanceof Aborted && e.reason !== 'timeout') return signalExitCode(io.signal);
    throw e;
  }
};

interface ClientArgs {
  ip: number;
  port: number;
  label: string;
  zero: boolean;
  verbose: number;
  waitS: number;
  localPort: number | undefined;
}

async function tcpClient(env: PodEnv, io: ProcessIO, a: ClientArgs): Promise<number> {
  const deadline = a.waitS > 0 ? clockTimeout(env.clock, a.waitS * 1000, 'timeout') : undefined;
  let stream: TcpStream;
  try {
    stream = await connectTcp(env.stack, a.ip, a.port, {
      signal: deadline ? AbortSignal.any([io.signal, deadline.signal]) : io.signal,
      ...(a.localPort !== undefined ? { srcPort: a.localPort } : {}),
    });
  } catch (e) {
    if (e instanceof ConnectError) {
      io.stderr(`nc: ${a.label}: ${e.error.message}\n`);
      return 1;
    }
    if (e instanceof Aborted && e.reason === 'timeout') {
      io.stderr(`nc: ${a.label}: Connection timed out\n`);
      return 1;
    }
    throw e;
  } finally {
    deadline?.cancel();
  }
  if (a.verbose > 0) io.stderr(`${a.label} open\n`);
  if (a.zero) {
    stream.close();
    return 0;
  }
  return shovel(env, io, stream, a);
}

/** readwrite(): stdin → net (FIN at EOF), net → stdout, until the peer closes or -w idle time passes twice. */
async function shovel(env: PodEnv, io: ProcessIO, stream: TcpStream, a: ClientArgs): Promise<number> {
  let sent = 0;
  let received = 0;
  const stop = new AbortController();
  pumpStdin(
    io,
    (b) => {
      sent += b.length;
      stream.write(b);
    },
    () => stream.end(),
    stop.signal,
  );
  let idleRounds = 0;
  try {
    for (;;) {
      const idle = a.waitS > 0 ? clockTimeout(env.clock, a.waitS * 1000, 'timeout') : undefined;
      let chunk: Uint8Array | null;
      try {
        chunk = await stream.read(idle ? AbortSignal.any([io.signal, idle.signal]) : io.signal);
      } catch (e) {
        if (e instanceof Aborted && e.reason === 'timeout') {
          if (++idleRounds >= 2) break;
          continue;
        }
        if (e instanceof Aborted) throw e;
        break; // reset: the loop ends as on EOF
      } finally {
        idle?.cancel();
      }
      if (chunk === null) break;
      idleRounds = 0;
      received += chunk.length;
      io.stdout(chunk);
    }
  } finally {
    stop.abort();
    stream.close();
  }
  if (a.verbose > 1) io.stderr(`sent ${sent}, rcvd ${received}\n`);
  return 0;
}

async function udpClient(env: PodEnv, io: ProcessIO, a: ClientArgs): Promise<number> {
  const sock: UdpSocket = env.stack.udpBind(a.localPort);
  try {
    if (sock.connect(a.ip, a.port) < 0) {
      io.stderr(`nc: ${a.label}: No route to host\n`);
      return 1;
    }
    let refused = false;
    const received: Uint8Array[] = [];
    let wake: (() => void) | undefined;
    sock.onError = (err) => {
      if (err.code === 'ECONNREFUSED') refused = true;
      wake?.();
    };
    sock.onMessage = (b) => {
      received.push(b);
      wake?.();
    };
    if (a.zero) {
      // udptest(): one byte, a pause for an ICMP error to come back, a second byte.
      sock.send(new Uint8Array(1));
      await sleep(env.clock, (a.waitS || 1) * 1000, io.signal);
      if (io.signal.aborted) return signalExitCode(io.signal);
      if (refused || sock.send(new Uint8Array(1)) < 0) {
        io.stderr(`nc: ${a.label}: Connection refused\n`);
        return 1;
      }
      if (a.verbose > 0) io.stderr(`${a.label} open\n`);
      return 0;
    }
    if (a.verbose > 0) io.stderr(`${a.label} open\n`);
    const stop = new AbortController();
    pumpStdin(io, (b) => void sock.send(b), () => undefined, stop.signal);
    let idleRounds = 0;
    try {
      for (;;) {
        while (received.length > 0) io.stdout(received.shift()!);
        if (refused) break;
        const waitMs = a.waitS > 0 ? a.waitS * 1000 : undefined;
        const got = await abortable<boolean>(io.signal, (resolve) => {
          wake = () => resolve(true);
          const t = waitMs !== undefined ? env.clock.setTimer(waitMs, () => resolve(false)) : undefined;
          return () => {
            wake = undefined;
            if (t) env.clock.clearTimer(t);
          };
        });
        if (!got && ++idleRounds >= 2) break;
        if (got) idleRounds = 0;
      }
    } finally {
      stop.abort();
    }
    return 0;
  } finally {
    sock.close();
  }
}

/** -l: wait for one connection (or datagram sender), then shovel; -k keeps accepting. */
async function listen(env: PodEnv, io: ProcessIO, a: { port: number; udp: boolean; verbose: number; keep: boolean }): Promise<number> {
  if (a.port === 0) {
    io.stderr(USAGE);
    return 1;
  }
  if (a.verbose > 0) io.stderr(`listening on [::]:${a.port} ...\n`);
  if (a.udp) {
    const sock = env.stack.udpBind(a.port);
    try {
      await abortable<void>(io.signal, () => {
        sock.onMessage = (b) => io.stdout(b);
        return undefined;
      });
    } catch {
      return signalExitCode(io.signal);
    } finally {
      sock.close();
    }
    return 0;
  }
  for (;;) {
    let accepted: TcpStream | undefined;
    // Wrapped at once so nothing the client sends first is lost.
    const listener = env.stack.tcpListen(a.port, (s) => {
      if (accepted) {
        s.destroy();
        return;
      }
      accepted = new TcpStream(s);
      got?.();
    });
    let got: (() => void) | undefined;
    try {
      await abortable<void>(io.signal, (resolve) => {
        got = resolve;
      });
    } catch {
      listener.close();
      return signalExitCode(io.signal);
    }
    listener.close();
    const stream = accepted!;
    const s = stream.sock;
    if (a.verbose > 0) io.stderr(`connect to ${ipv4ToString(s.localIp)}:${a.port} from ${ipv4ToString(s.remoteIp)}:${s.remotePort} (${ipv4ToString(s.remoteIp)}:${s.remotePort})\n`);
    try {
      await shovel(env, io, stream, { ip: s.remoteIp, port: s.remotePort, label: '', zero: false, verbose: a.verbose, waitS: 0, localPort: undefined });
    } catch (e) {
      if (e instanceof Aborted) return signalExitCode(io.signal);
      throw e;
    }
    if (!a.keep) return 0;
  }
}
