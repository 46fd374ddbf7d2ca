// busybox wget: what a busybox-only pod has instead of curl. One HTTP/1.1
// GET (or POST with --post-data) with "Connection: close", up to five
// redirects, -T timeout, its stderr chatter, and exit 1 for every failure.

import { HttpHeaders, serializeRequest } from '../../packet/http.js';
import { ipv4ToString } from '../../packet/ip.js';
import { ConnectError, HttpClientError, connectTcp, readHttpResponse } from '../http.js';
import { Aborted, clockTimeout } from '../proc.js';
import { ResolveError, Resolver } from '../resolver.js';
import { signalExitCode, type AppCommand } from '../types.js';
import { BUSYBOX_BANNER, getopt } from './getopt.js';
import { authorityOf, isUrlError, parseUrl, resolveLocation, type ParsedUrl } from './url.js';

const USAGE = `${BUSYBOX_BANNER}

Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]
	[--post-data STR | --post-file FILE] [-Y on/off]
	[--no-check-certificate] [-P DIR] [-U AGENT] [-T SEC] URL...

Retrieve files via HTTP or FTP
`;

const REDIRECT_LIMIT = 5;
const DEFAULT_TIMEOUT_S = 900;

/** busybox's progress line for a finished transfer. */
function progressLine(name: string, size: number): string {
  return `${name.padEnd(20).slice(0, 20)} 100% |${'*'.repeat(32)}| ${String(size).padStart(5)}  0:00:00 ETA\n`;
}

export const wget: AppCommand = async (env, argv, io) => {
  const opts = getopt(argv.slice(1), {
    flags: 'cqS',
    withValue: 'OoPYUTtn\x01\x02',
    long: { quiet: 'q', 'output-document': 'O', timeout: 'T', 'user-agent': 'U', header: '\x01', 'post-data': '\x02', spider: 's', 'server-response': 'S', 'no-check-certificate': 'k', continue: 'c', 'directory-prefix': 'P', tries: 't' },
  });
  if ('error' in opts) {
    io.stderr(`wget: ${opts.error}\n${USAGE}`);
    return 1;
  }
  // Long-only options map to letters no short option uses.
  const spider = opts.flags.has('s');
  if (opts.operands.length === 0) {
    io.stderr(USAGE);
    return 1;
  }
  const quiet = opts.flags.has('q');
  const showResponse = opts.flags.has('S');
  const out = opts.values.get('O');
  const timeoutS = opts.values.has('T') ? Number(opts.values.get('T')) : DEFAULT_TIMEOUT_S;
  const agent = opts.values.get('U') ?? 'Wget';
  const postData = opts.values.get('\x02');
  const extraHeader = opts.values.get('\x01');
  const log = (s: string): void => {
    if (!quiet) io.stderr(s);
  };
  const die = (s: string): number => {
    io.stderr(`wget: ${s}\n`);
    return 1;
  };

  for (const raw of opts.operands) {
    const first = parseUrl(raw);
    if (isUrlError(first)) return die(`not an http or ftp url: ${raw}`);
    let url: ParsedUrl = first;
    const deadline = timeoutS > 0 ? clockTimeout(env.clock, timeoutS * 1000, 'timeout') : undefined;
    const signal = deadline ? AbortSignal.any([io.signal, deadline.signal]) : io.signal;
    try {
      for (let redirects = 0; ; redirects++) {
        const hostText = authorityOf(url);
        let ip: number;
        try {
          ip = (await new Resolver(env).lookup(url.host, { signal })).addresses[0]!;
        } catch (e) {
          if (e instanceof ResolveError) return die(`bad address '${hostText}'`);
          throw e;
        }
        log(`Connecting to ${hostText} (${ipv4ToString(ip)}:${url.port})\n`);
        let stream;
        try {
          stream = await connectTcp(env.stack, ip, url.port, { signal });
        } catch (e) {
          if (e instanceof ConnectError) return die(`can't connect to remote host (${ipv4ToString(ip)}): ${e.error.message}`);
          throw e;
        }
        const headers = new HttpHeaders([
          ['Host', hostText],
          ['User-Agent', agent],
          ['Connection', 'close'],
        ]);
        if (extraHeader) {
          const colon = extraHeader.indexOf(':');
          if (colon > 0) headers.append(extraHeader.slice(0, colon).trim(), extraHeader.slice(colon + 1).trim());
        }
        const method = postData !== undefined ? 'POST' : spider ? 'HEAD' : 'GET';
        if (postData !== undefined) headers.append('Content-Type', 'application/x-www-form-urlencoded');
        stream.write(serializeRequest({ method, target: url.target, headers, body: postData }));
        stream.end();
        let res;
        try {
          res = await readHttpResponse(stream, method, { signal });
        } catch (e) {
          if (e instanceof HttpClientError) return die(e.kind === 'empty' ? 'error getting response' : `error getting response: ${e.message}`);
          throw e;
        } finally {
          stream.close();
        }
        if (showResponse) {
          let head = `  ${res.version} ${res.status} ${res.reason}\n`;
          for (const [n, v] of res.headers) head += `  ${n}: ${v}\n`;
          io.stderr(head);
        }
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status <= 303 && location !== undefined) {
          if (redirects + 1 >= REDIRECT_LIMIT) return die('too many redirections');
          const next = resolveLocation(url, location);
          if (isUrlError(next)) return die(`not an http or ftp url: ${location}`);
          url = next;
          continue;
        }
        if (!(res.status >= 200 && res.status <= 204)) return die(`server returned error: ${res.version} ${res.status} ${res.reason}`);
        if (spider) {
          log('remote file exists\n');
          break;
        }
        const name = out === '-' ? '-' : (out ?? (url.target.split('?')[0]!.split('/').pop() || 'index.html'));
        log(out === '-' ? 'writing to stdout\n' : `saving to '${name}'\n`);
        if (out === '-') io.stdout(res.body);
        // Any other file: there is no filesystem, the bytes go nowhere.
        log(progressLine(name, res.body.length));
        log(out === '-' ? 'written to stdout\n' : `'${name}' saved\n`);
        break;
      }
    } catch (e) {
      if (e instanceof Aborted) {
        if (e.reason === 'timeout') return die('download timed out');
        return signalExitCode(io.signal);
      }
      throw e;
    } finally {
      deadline?.cancel();
    }
  }
  return 0;
};
