// curl 8.5.0 for plain HTTP: its option syntax (bundled short flags, glued
// values, no --opt=value), its request shape, -v trace, progress meter,
// --write-out, and its exit codes and messages for every way a request
// fails. Resolution goes through the pod's stub resolver and the connection
// through the pod stack, so a Service address stays what curl printed (the
// socket LB's translation is invisible to it).

import { HttpHeaders, serializeRequest, type HttpResponse } from '../../packet/http.js';
import { ipv4ToString } from '../../packet/ip.js';
import type { TcpSocket } from '../../net/stack/index.js';
import { ConnectError, HttpClientError, ResponseProgress, connectTcp, readHttpResponse, type TcpStream } from '../http.js';
import { Aborted, clockTimeout, readAll, sleep, text, utf8 } from '../proc.js';
import { ResolveError, Resolver } from '../resolver.js';
import { signalExitCode, type AppCommand, type PodEnv, type ProcessIO } from '../types.js';
import { authorityOf, formatUrl, isUrlError, parseUrl, resolveLocation, type ParsedUrl } from './url.js';

export const CURL_VERSION = '8.5.0';
const TRY_HELP = "curl: try 'curl --help' or 'curl --manual' for more information\n";
const DEFAULT_MAX_REDIRS = 50;
/**
 * curl declares a timeout once the time left is below zero at millisecond
 * resolution, so it fires one millisecond after the limit ("after 5001 milliseconds").
 */
const TIMEOUT_GRANULARITY_MS = 1;
/** curl's DEFAULT_CONNECT_TIMEOUT. */
const DEFAULT_CONNECT_TIMEOUT_MS = 300_000;

interface CurlOptions {
  urls: string[];
  silent: boolean;
  showError: boolean;
  verbose: boolean;
  include: boolean;
  head: boolean;
  fail: boolean;
  failWithBody: boolean;
  location: boolean;
  maxRedirs: number;
  output: string[];
  remoteName: boolean;
  writeOut: string | undefined;
  request: string | undefined;
  headers: string[];
  data: { kind: 'data' | 'raw' | 'binary' | 'urlencode' | 'json'; value: string }[];
  get: boolean;
  maxTimeMs: number | undefined;
  connectTimeoutMs: number | undefined;
  userAgent: string | undefined;
  user: string | undefined;
  referer: string | undefined;
  http10: boolean;
  noProgressMeter: boolean;
  pathAsIs: boolean;
  resolve: string[];
  dumpHeader: string | undefined;
  compressed: boolean;
  ipv6Only: boolean;
  retry: number;
  retryConnRefused: boolean;
  retryAllErrors: boolean;
  retryDelayMs: number | undefined;
  retryMaxTimeMs: number | undefined;
  localPort: number | undefined;
}

type Handler = (o: CurlOptions, value: string) => string | void;

interface OptionSpec {
  long: string;
  short?: string;
  arg: boolean;
  set: Handler;
}

function numeric(name: string, v: string): number | string {
  if (!/^[0-9]+(\.[0-9]*)?$|^\.[0-9]+$/.test(v)) return `curl: option --${name}: expected a proper numerical parameter\n`;
  return Number(v);
}

const OPTIONS: OptionSpec[] = [
  { long: 'silent', short: 's', arg: false, set: (o) => void (o.silent = true) },
  { long: 'show-error', short: 'S', arg: false, set: (o) => void (o.showError = true) },
  { long: 'verbose', short: 'v', arg: false, set: (o) => void (o.verbose = true) },
  { long: 'include', short: 'i', arg: false, set: (o) => void (o.include = true) },
  { long: 'head', short: 'I', arg: false, set: (o) => void (o.head = true) },
  { long: 'fail', short: 'f', arg: false, set: (o) => void (o.fail = true) },
  { long: 'fail-with-body', arg: false, set: (o) => void (o.failWithBody = true) },
  { long: 'fail-early', arg: false, set: () => undefined },
  { long: 'location', short: 'L', arg: false, set: (o) => void (o.location = true) },
  { long: 'insecure', short: 'k', arg: false, set: () => undefined },
  { long: 'no-buffer', short: 'N', arg: false, set: () => undefined },
  { long: 'globoff', short: 'g', arg: false, set: () => undefined },
  { long: 'ipv4', short: '4', arg: false, set: () => undefined },
  { long: 'ipv6', short: '6', arg: false, set: (o) => void (o.ipv6Only = true) },
  { long: 'http1.1', arg: false, set: () => undefined },
  { long: 'http1.0', short: '0', arg: false, set: (o) => void (o.http10 = true) },
  { long: 'compressed', arg: false, set: (o) => void (o.compressed = true) },
  { long: 'tcp-nodelay', arg: false, set: () => undefined },
  { long: 'no-keepalive', arg: false, set: () => undefined },
  { long: 'no-progress-meter', arg: false, set: (o) => void (o.noProgressMeter = true) },
  { long: 'path-as-is', arg: false, set: (o) => void (o.pathAsIs = true) },
  { long: 'get', short: 'G', arg: false, set: (o) => void (o.get = true) },
  { long: 'remote-name', short: 'O', arg: false, set: (o) => void (o.remoteName = true) },
  { long: 'output', short: 'o', arg: true, set: (o, v) => void o.output.push(v) },
  { long: 'write-out', short: 'w', arg: true, set: (o, v) => void (o.writeOut = v) },
  { long: 'request', short: 'X', arg: true, set: (o, v) => void (o.request = v) },
  { long: 'header', short: 'H', arg: true, set: (o, v) => void o.headers.push(v) },
  { long: 'data', short: 'd', arg: true, set: (o, v) => void o.data.push({ kind: 'data', value: v }) },
  { long: 'data-ascii', arg: true, set: (o, v) => void o.data.push({ kind: 'data', value: v }) },
  { long: 'data-raw', arg: true, set: (o, v) => void o.data.push({ kind: 'raw', value: v }) },
  { long: 'data-binary', arg: true, set: (o, v) => void o.data.push({ kind: 'binary', value: v }) },
  { long: 'data-urlencode', arg: true, set: (o, v) => void o.data.push({ kind: 'urlencode', value: v }) },
  { long: 'json', arg: true, set: (o, v) => void o.data.push({ kind: 'json', value: v }) },
  { long: 'url', arg: true, set: (o, v) => void o.urls.push(v) },
  { long: 'user-agent', short: 'A', arg: true, set: (o, v) => void (o.userAgent = v) },
  { long: 'user', short: 'u', arg: true, set: (o, v) => void (o.user = v) },
  { long: 'referer', short: 'e', arg: true, set: (o, v) => void (o.referer = v) },
  { long: 'dump-header', short: 'D', arg: true, set: (o, v) => void (o.dumpHeader = v) },
  { long: 'resolve', arg: true, set: (o, v) => void o.resolve.push(v) },
  { long: 'cacert', arg: true, set: () => undefined },
  { long: 'capath', arg: true, set: () => undefined },
  { long: 'cert', short: 'E', arg: true, set: () => undefined },
  { long: 'key', arg: true, set: () => undefined },
  { long: 'limit-rate', arg: true, set: () => undefined },
  { long: 'retry-connrefused', arg: false, set: (o) => void (o.retryConnRefused = true) },
  { long: 'retry-all-errors', arg: false, set: (o) => void (o.retryAllErrors = true) },
  {
    long: 'retry-delay',
    arg: true,
    set: (o, v) => {
      if (!/^[0-9]+$/.test(v)) return 'curl: option --retry-delay: expected a proper numerical parameter\n';
      o.retryDelayMs = Number(v) * 1000;
    },
  },
  {
    long: 'retry-max-time',
    arg: true,
    set: (o, v) => {
      if (!/^[0-9]+$/.test(v)) return 'curl: option --retry-max-time: expected a proper numerical parameter\n';
      o.retryMaxTimeMs = Number(v) * 1000;
    },
  },
  {
    long: 'max-time',
    short: 'm',
    arg: true,
    set: (o, v) => {
      const n = numeric('max-time', v);
      if (typeof n === 'string') return n;
      o.maxTimeMs = n * 1000;
    },
  },
  {
    long: 'connect-timeout',
    arg: true,
    set: (o, v) => {
      const n = numeric('connect-timeout', v);
      if (typeof n === 'string') return n;
      o.connectTimeoutMs = n * 1000;
    },
  },
  {
    long: 'max-redirs',
    arg: true,
    set: (o, v) => {
      if (!/^-?[0-9]+$/.test(v)) return 'curl: option --max-redirs: expected a proper numerical parameter\n';
      o.maxRedirs = Number(v);
    },
  },
  {
    long: 'retry',
    arg: true,
    set: (o, v) => {
      if (!/^[0-9]+$/.test(v)) return 'curl: option --retry: expected a proper numerical parameter\n';
      o.retry = Number(v);
    },
  },
  {
    long: 'local-port',
    arg: true,
    set: (o, v) => {
      if (!/^[0-9]+$/.test(v) || Number(v) > 65535) return 'curl: option --local-port: expected a proper numerical parameter\n';
      o.localPort = Number(v);
    },
  },
];

const BY_LONG = new Map(OPTIONS.map((o) => [o.long, o]));
const BY_SHORT = new Map(OPTIONS.filter((o) => o.short).map((o) => [o.short!, o]));

function defaults(): CurlOptions {
  return {
    urls: [],
    silent: false,
    showError: false,
    verbose: false,
    include: false,
    head: false,
    fail: false,
    failWithBody: false,
    location: false,
    maxRedirs: DEFAULT_MAX_REDIRS,
    output: [],
    remoteName: false,
    writeOut: undefined,
    request: undefined,
    headers: [],
    data: [],
    get: false,
    maxTimeMs: undefined,
    connectTimeoutMs: undefined,
    userAgent: undefined,
    user: undefined,
    referer: undefined,
    http10: false,
    noProgressMeter: false,
    pathAsIs: false,
    resolve: [],
    dumpHeader: undefined,
    compressed: false,
    ipv6Only: false,
    retry: 0,
    retryConnRefused: false,
    retryAllErrors: false,
    retryDelayMs: undefined,
    retryMaxTimeMs: undefined,
    localPort: undefined,
  };
}

/** Parses argv (without "curl") the way curl's getparameter() does; a string is the error text for exit 2. */
export function parseCurlArgs(args: string[]): CurlOptions | string {
  const o = defaults();
  let onlyUrls = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (onlyUrls || !a.startsWith('-') || a === '-') {
      o.urls.push(a);
      continue;
    }
    if (a === '--') {
      onlyUrls = true;
      continue;
    }
    if (a.startsWith('--')) {
      let name = a.slice(2);
      let negate = false;
      let spec = BY_LONG.get(name);
      if (!spec && name.startsWith('no-')) {
        spec = BY_LONG.get(name.slice(3));
        if (spec && !spec.arg) negate = true;
        else spec = undefined;
      }
      if (!spec) return `curl: option ${a}: is unknown\n${TRY_HELP}`;
      name = spec.long;
      if (negate) continue; // --no-<flag> turns a default-off flag off: nothing to do
      if (spec.arg) {
        if (i + 1 >= args.length) return `curl: option ${a}: requires parameter\n${TRY_HELP}`;
        const err = spec.set(o, args[++i]!);
        if (err) return err + TRY_HELP;
      } else {
        spec.set(o, '');
      }
      continue;
    }
    // Bundled short options: -sSL, -XPOST, -sXPOST, -o/dev/null.
    for (let j = 1; j < a.length; j++) {
      const spec = BY_SHORT.get(a[j]!);
      if (!spec) return `curl: option ${a}: is unknown\n${TRY_HELP}`;
      if (!spec.arg) {
        spec.set(o, '');
        continue;
      }
      let value = a.slice(j + 1);
      if (value.length === 0) {
        if (i + 1 >= args.length) return `curl: option -${a[j]}: requires parameter\n${TRY_HELP}`;
        value = args[++i]!;
      }
      const err = spec.set(o, value);
      if (err) return err + TRY_HELP;
      break;
    }
  }
  return o;
}

// ------------------------------------------------------------------ the transfer

interface TransferResult {
  exit: number;
  error?: string;
  vars: WriteOutVars;
}

interface WriteOutVars {
  httpCode: number;
  httpVersion: string;
  remoteIp: string;
  remotePort: number | '';
  localIp: string;
  localPort: number | '';
  sizeDownload: number;
  sizeHeader: number;
  sizeRequest: number;
  sizeUpload: number;
  timeNamelookup: number;
  timeConnect: number;
  timePretransfer: number;
  timeStarttransfer: number;
  timeTotal: number;
  timeRedirect: number;
  contentType: string;
  numConnects: number;
  numRedirects: number;
  redirectUrl: string;
  urlEffective: string;
  url: string;
  method: string;
  scheme: string;
  headers: HttpHeaders | undefined;
}

function emptyVars(url: string): WriteOutVars {
  return {
    httpCode: 0,
    httpVersion: '0',
    remoteIp: '',
    remotePort: '',
    localIp: '',
    localPort: '',
    sizeDownload: 0,
    sizeHeader: 0,
    sizeRequest: 0,
    sizeUpload: 0,
    timeNamelookup: 0,
    timeConnect: 0,
    timePretransfer: 0,
    timeStarttransfer: 0,
    timeTotal: 0,
    timeRedirect: 0,
    contentType: '',
    numConnects: 0,
    numRedirects: 0,
    redirectUrl: '',
    urlEffective: url,
    url,
    method: 'GET',
    scheme: 'HTTP',
    headers: undefined,
  };
}

class CurlRun {
  private connectionNumber = 0;
  private readonly resolver: Resolver;
  private meterShown = false;
  private stdinCache: Promise<string> | undefined;

  constructor(
    private readonly env: PodEnv,
    private readonly io: ProcessIO,
    private readonly o: CurlOptions,
  ) {
    this.resolver = new Resolver(env);
  }

  private info(line: string): void {
    if (this.o.verbose) this.io.stderr(`* ${line}\n`);
  }

  private get meterWanted(): boolean {
    const toStdout = this.o.output.length === 0 && !this.o.remoteName;
    return !this.o.silent && !this.o.noProgressMeter && !(this.io.tty === true && toStdout);
  }

  private meterStart(): void {
    if (!this.meterWanted || this.meterShown) return;
    this.meterShown = true;
    this.io.stderr(
      '  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n' +
        '                                 Dload  Upload   Total   Spent    Left  Speed\n' +
        meterLine(0, undefined, 0, 0),
    );
  }

  private meterDone(downloaded: number, total: number | undefined, uploaded: number, elapsedMs: number): void {
    if (!this.meterShown) return;
    this.io.stderr(meterLine(downloaded, total, uploaded, elapsedMs) + '\n');
    this.meterShown = false;
  }

  private async dataBody(): Promise<{ body: string; json: boolean } | undefined> {
    if (this.o.data.length === 0) return undefined;
    const parts: string[] = [];
    let json = false;
    for (const d of this.o.data) {
      let v = d.value;
      if (d.kind === 'json') json = true;
      if (d.kind !== 'raw' && v.startsWith('@')) {
        const file = v.slice(1);
        if (file === '-') {
          this.stdinCache ??= readAll(this.io).then(text);
          v = await this.stdinCache;
          if (d.kind === 'data') v = v.replace(/[\r\n]/g, '');
        } else {
          this.io.stderr(`Warning: Couldn't read data from file "${file}", this makes an empty \nWarning: POST.\n`);
          v = '';
        }
      } else if (d.kind === 'urlencode') {
        const eq = v.indexOf('=');
        v = eq < 0 ? encodeURIComponent(v) : `${v.slice(0, eq + 1)}${encodeURIComponent(v.slice(eq + 1))}`;
      }
      parts.push(v);
    }
    return { body: parts.join(json ? '' : '&'), json };
  }

  /** One URL from the command line, following redirects with -L. */
  async transfer(rawUrl: string, opSignal: AbortSignal): Promise<TransferResult> {
    const clock = this.env.clock;
    const start = clock.now();
    const vars = emptyVars(rawUrl);
    const finish = (exit: number, error?: string): TransferResult => {
      vars.timeTotal = (clock.now() - start) / 1000;
      return error === undefined ? { exit, vars } : { exit, error, vars };
    };
    const parsed = parseUrl(rawUrl, { pathAsIs: this.o.pathAsIs });
    if (isUrlError(parsed)) return finish(parsed.code, parsed.message);
    let url: ParsedUrl = parsed;
    vars.urlEffective = formatUrl(url);
    vars.url = rawUrl;

    const data = await this.dataBody();
    let method: string;
    let body: string | undefined = data?.body;
    if (this.o.head) {
      method = 'HEAD';
    } else if (data && !this.o.get) {
      method = 'POST';
    } else {
      method = 'GET';
    }
    if (data && this.o.get) {
      url = { ...url, target: url.target + (url.target.includes('?') ? '&' : '?') + data.body };
      body = undefined;
      vars.urlEffective = formatUrl(url);
    }
    if (this.o.request && this.o.verbose && this.o.request.toUpperCase() === method && (method === 'POST' || method === 'HEAD' || method === 'GET')) {
      const inferred = method === 'POST' ? 'POST is already inferred.' : method === 'HEAD' ? 'HEAD is already inferred.' : 'GET is already inferred.';
      this.io.stderr(`Note: Unnecessary use of -X or --request, ${inferred}\n`);
    }
    if (this.o.request?.toUpperCase() === 'HEAD' && !this.o.head) {
      // The response is then read as the body-carrying answer curl expects: it waits for bytes that never come.
      this.io.stderr('Warning: Setting custom HTTP method to HEAD with -X/--request may not work the way you \nWarning: want. Consider using -I/--head instead.\n');
    }
    this.meterStart();

    for (let hop = 0; ; hop++) {
      const wireMethod = this.o.request ?? method;
      vars.method = wireMethod;
      const hopStart = clock.now();
      const connectLimit = this.o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      const connectTimer = clockTimeout(clock, connectLimit + TIMEOUT_GRANULARITY_MS, 'connect-timeout');
      const phaseSignal = AbortSignal.any([opSignal, connectTimer.signal]);
      const elapsed = (): number => Math.floor(clock.now() - hopStart);

      // Resolve.
      let addresses: number[];
      const override = this.overrideFor(url);
      try {
        if (override !== undefined) addresses = [override];
        else if (this.o.ipv6Only) throw new ResolveError('NODATA', url.host);
        else addresses = (await this.resolver.lookup(url.host, { signal: phaseSignal })).addresses;
      } catch (e) {
        connectTimer.cancel();
        if (e instanceof ResolveError) return this.fail(finish, 6, `Could not resolve host: ${url.host}`);
        if (e instanceof Aborted) return this.aborted(e, finish, `Resolving timed out after ${elapsed()} milliseconds`);
        throw e;
      }
      vars.timeNamelookup = (clock.now() - start) / 1000;

      // Connect, trying each address in turn.
      let stream: TcpStream | undefined;
      let lastError: ConnectError | undefined;
      let connectedIp = 0;
      for (const ip of addresses) {
        this.info(`  Trying ${ipv4ToString(ip)}:${url.port}...`);
        let sock: TcpSocket | undefined;
        try {
          stream = await connectTcp(this.env.stack, ip, url.port, {
            signal: phaseSignal,
            ...(this.o.localPort !== undefined ? { srcPort: this.o.localPort } : {}),
            onSocket: (s) => (sock = s),
          });
          connectedIp = ip;
          break;
        } catch (e) {
          if (e instanceof ConnectError) {
            lastError = e;
            if (e.immediate) this.info(`Immediate connect fail for ${ipv4ToString(ip)}: ${e.error.message}`);
            else {
              const from = sock ? `${ipv4ToString(sock.localIp)} port ${sock.localPort}` : `${ipv4ToString(this.env.ip)} port 0`;
              this.info(`connect to ${ipv4ToString(ip)} port ${url.port} from ${from} failed: ${e.error.message}`);
            }
            continue;
          }
          connectTimer.cancel();
          if (e instanceof Aborted) return this.aborted(e, finish, `Connection timed out after ${elapsed()} milliseconds`);
          throw e;
        }
      }
      connectTimer.cancel();
      if (!stream) {
        const timedOut = lastError?.error.code === 'ETIMEDOUT';
        return this.fail(finish, timedOut ? 28 : 7, `Failed to connect to ${url.host} port ${url.port} after ${elapsed()} ms: Couldn't connect to server`);
      }
      const connNo = this.connectionNumber++;
      vars.numConnects++;
      vars.remoteIp = ipv4ToString(connectedIp);
      vars.remotePort = url.port;
      vars.localIp = ipv4ToString(stream.sock.localIp);
      vars.localPort = stream.sock.localPort;
      vars.timeConnect = (clock.now() - start) / 1000;
      this.info(`Connected to ${url.host} (${ipv4ToString(connectedIp)}) port ${url.port}`);

      if (url.scheme === 'https') {
        // No TLS in the simulation: what a real curl reports talking TLS to a plain-HTTP server.
        stream.destroy();
        return this.fail(finish, 35, 'OpenSSL/3.1.4: error:0A00010B:SSL routines::wrong version number');
      }

      // Request.
      const headers = this.requestHeaders(url, wireMethod, body, data?.json ?? false);
      const bodyBytes = body !== undefined ? utf8(body) : undefined;
      const request = serializeRequest({ method: wireMethod, target: url.target, version: this.o.http10 ? 'HTTP/1.0' : 'HTTP/1.1', headers, body: bodyBytes });
      const headLen = bodyBytes ? request.length - bodyBytes.length : request.length;
      if (this.o.verbose) {
        const head = text(request.subarray(0, headLen)).split('\r\n');
        head.pop();
        this.io.stderr(head.map((l) => `> ${l}\n`).join(''));
        if (bodyBytes && bodyBytes.length > 0 && !this.io.tty) this.io.stderr(`} [${bodyBytes.length} bytes data]\n`);
      }
      stream.write(request);
      vars.sizeRequest += request.length;
      vars.sizeUpload += bodyBytes?.length ?? 0;
      vars.timePretransfer = (clock.now() - start) / 1000;

      // Response.
      const progress = new ResponseProgress();
      let firstByte = true;
      let res: HttpResponse;
      try {
        res = await readHttpResponse(stream, method, {
          signal: opSignal,
          progress,
          onBytes: () => {
            if (firstByte) vars.timeStarttransfer = (clock.now() - start) / 1000;
            firstByte = false;
          },
        });
      } catch (e) {
        stream.destroy();
        if (e instanceof Aborted) {
          const got = progress.contentLength !== undefined ? `${progress.bodyBytes} out of ${progress.contentLength}` : `${progress.bodyBytes}`;
          return this.aborted(e, finish, `Operation timed out after ${Math.floor(clock.now() - hopStart)} milliseconds with ${got} bytes received`);
        }
        if (e instanceof HttpClientError) {
          vars.sizeDownload += e.bodyBytes;
          switch (e.kind) {
            case 'empty':
              return this.fail(finish, 52, 'Empty reply from server');
            case 'reset':
              return this.fail(finish, 56, `Recv failure: ${e.socketError?.message ?? 'Connection reset by peer'}`);
            case 'timeout':
              return this.fail(finish, 56, `Recv failure: ${e.socketError?.message ?? 'Connection timed out'}`);
            case 'truncated':
              return this.fail(
                finish,
                18,
                e.expectedBytes !== undefined ? `transfer closed with ${e.expectedBytes - e.bodyBytes} bytes remaining to read` : 'transfer closed with outstanding read data remaining',
              );
            case 'malformed':
              return this.fail(finish, progress.headerEnd < 0 && !startsLikeHttp(progress) ? 1 : 8, progress.headerEnd < 0 && !startsLikeHttp(progress) ? 'Received HTTP/0.9 when not allowed' : 'Weird server reply');
          }
        }
        throw e;
      }
      const headText = responseHead(res);
      vars.httpCode = res.status;
      vars.httpVersion = res.version.replace('HTTP/', '');
      vars.sizeHeader += utf8(headText).length;
      vars.sizeDownload += res.body.length;
      vars.contentType = res.headers.get('content-type') ?? '';
      vars.headers = res.headers;
      if (this.o.verbose) {
        const lines = headText.split('\r\n');
        lines.pop();
        this.io.stderr(lines.map((l) => `< ${l}\n`).join(''));
        if (res.body.length > 0 && !this.io.tty) this.io.stderr(`{ [${res.body.length} bytes data]\n`);
      }
      if (this.o.dumpHeader === '-') this.io.stdout(headText);

      const failing = (this.o.fail || this.o.failWithBody) && res.status >= 400;
      const redirect = this.o.location && res.status >= 300 && res.status < 400 && res.headers.has('location');
      const closeConn = !res.keepAlive;
      if (failing) {
        if (this.o.failWithBody) {
          if (this.o.include) this.emit(headText);
          this.emit(res.body);
        }
        stream.destroy();
        return this.fail(finish, 22, `The requested URL returned error: ${res.status}`);
      }
      if (!redirect) {
        if (this.o.include || this.o.head) this.emit(headText);
        if (!this.o.head) this.emit(res.body);
      }
      stream.close();
      const location = res.headers.get('location');
      if (!redirect || location === undefined) this.meterDone(vars.sizeDownload, progress.contentLength, vars.sizeUpload, clock.now() - start);
      this.info(closeConn ? 'Closing connection' : `Connection #${connNo} to host ${url.host} left intact`);

      if (!redirect || location === undefined) {
        if (location !== undefined && res.status >= 300 && res.status < 400) {
          const next = resolveLocation(url, location);
          if (!isUrlError(next)) vars.redirectUrl = formatUrl(next);
        }
        return finish(0);
      }
      if (hop + 1 > this.o.maxRedirs) {
        return this.fail(finish, 47, `Maximum (${this.o.maxRedirs}) redirects followed`);
      }
      const next = resolveLocation(url, location);
      if (isUrlError(next)) return this.fail(finish, next.code, next.message);
      this.info(`Issue another request to this URL: '${formatUrl(next)}'`);
      vars.numRedirects++;
      vars.timeRedirect = (clock.now() - start) / 1000;
      // 301/302/303 turn a POST into a GET (unless -X pinned the method).
      if ((res.status === 303 && method !== 'HEAD') || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      url = next;
      vars.urlEffective = formatUrl(url);
    }
  }

  private emit(chunk: string | Uint8Array): void {
    const target = this.o.output[0];
    if (this.o.remoteName) return;
    if (target === undefined || target === '-') this.io.stdout(chunk);
    // Any other file: there is no filesystem; the bytes go nowhere, as into /dev/null.
  }

  private fail(finish: (exit: number, error?: string) => TransferResult, exit: number, message: string): TransferResult {
    this.info(message);
    this.info('Closing connection');
    const result = finish(exit, message);
    this.meterDone(0, undefined, 0, result.vars.timeTotal * 1000);
    return result;
  }

  private aborted(e: Aborted, finish: (exit: number, error?: string) => TransferResult, timeoutMessage: string): TransferResult {
    if (e.reason === 'max-time' || e.reason === 'connect-timeout') return this.fail(finish, 28, timeoutMessage);
    return finish(-1); // killed by a signal
  }

  private overrideFor(url: ParsedUrl): number | undefined {
    for (const r of this.o.resolve) {
      const m = /^(.+?):(\d+):(.+)$/.exec(r);
      if (!m || m[1]!.toLowerCase() !== url.host || Number(m[2]) !== url.port) continue;
      const addr = m[3]!.split(',')[0]!;
      const parts = addr.split('.').map(Number);
      if (parts.length === 4 && parts.every((p) => p >= 0 && p <= 255)) return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    }
    return undefined;
  }

  private requestHeaders(url: ParsedUrl, method: string, body: string | undefined, json: boolean): HttpHeaders {
    const custom = this.o.headers
      .map((h) => {
        const colon = h.indexOf(':');
        const semi = h.indexOf(';');
        if (colon > 0 && (semi < 0 || colon < semi)) return { name: h.slice(0, colon).trim(), value: h.slice(colon + 1).trim(), remove: h.slice(colon + 1).trim() === '' };
        if (semi > 0 && h.slice(semi + 1).trim() === '') return { name: h.slice(0, semi).trim(), value: '', remove: false };
        return undefined;
      })
      .filter((h): h is { name: string; value: string; remove: boolean } => h !== undefined);
    const overridden = (name: string): boolean => custom.some((c) => c.name.toLowerCase() === name.toLowerCase());
    const h = new HttpHeaders();
    if (!overridden('host')) h.append('Host', authorityOf(url));
    const user = this.o.user ?? (url.user !== undefined ? `${url.user}:${url.password ?? ''}` : undefined);
    if (user !== undefined && !overridden('authorization')) {
      const withPass = user.includes(':') ? user : `${user}:`;
      h.append('Authorization', `Basic ${Buffer.from(withPass, 'utf8').toString('base64')}`);
    }
    const ua = this.o.userAgent ?? `curl/${CURL_VERSION}`;
    if (ua !== '' && !overridden('user-agent')) h.append('User-Agent', ua);
    if (!overridden('accept')) h.append('Accept', json ? 'application/json' : '*/*');
    if (this.o.compressed && !overridden('accept-encoding')) h.append('Accept-Encoding', 'deflate, gzip, br, zstd');
    if (this.o.referer !== undefined && !overridden('referer')) h.append('Referer', this.o.referer);
    for (const c of custom) if (!c.remove) h.append(c.name, c.value);
    if (body !== undefined && method !== 'GET' && method !== 'HEAD') {
      if (!overridden('content-length')) h.append('Content-Length', String(utf8(body).length));
      if (!overridden('content-type')) h.append('Content-Type', json ? 'application/json' : 'application/x-www-form-urlencoded');
    }
    return h;
  }
}

function startsLikeHttp(p: ResponseProgress): boolean {
  return p.totalBytes > 0 && p.headerEnd >= 0;
}

/** Status line and headers as received, CRLF-terminated, with the empty line. */
function responseHead(res: HttpResponse): string {
  let s = `${res.version} ${res.status}${res.reason ? ' ' + res.reason : ''}\r\n`;
  for (const [n, v] of res.headers) s += `${n}: ${v}\r\n`;
  return s + '\r\n';
}

// ------------------------------------------------------------------ output formats

/** curl's max5data(): a byte count in 5 columns. */
function max5(n: number): string {
  const K = 1024;
  const M = K * K;
  if (n < 100_000) return String(Math.floor(n)).padStart(5);
  if (n < 10_000 * K) return `${String(Math.floor(n / K)).padStart(4)}k`;
  if (n < 100 * M) return `${String(Math.floor(n / M)).padStart(2)}.${Math.floor((n % M) / (M / 10))}M`;
  return `${String(Math.floor(n / M)).padStart(4)}M`;
}

function time2str(seconds: number): string {
  const s = Math.floor(seconds);
  if (s <= 0) return '--:--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${String(h).padStart(2)}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** One progress-meter update line, starting with "\r". */
function meterLine(down: number, total: number | undefined, up: number, elapsedMs: number): string {
  const size = total ?? down;
  const pct = size > 0 ? Math.floor((down * 100) / size) : 0;
  const secs = elapsedMs / 1000;
  const speed = secs > 0 ? Math.floor(down / secs) : down > 0 ? down : 0;
  const upSpeed = secs > 0 ? Math.floor(up / secs) : 0;
  const upPct = up > 0 ? 100 : 0;
  return (
    `\r${String(pct).padStart(3)} ${max5(size)}  ${String(pct).padStart(3)} ${max5(down)}  ${String(upPct).padStart(3)} ${max5(up)}  ` +
    `${max5(speed)}  ${max5(upSpeed)} ${time2str(0)} ${time2str(secs)} ${time2str(0)} ${max5(speed)}`
  );
}

/** Expands a --write-out template; unknown variables are reported on stderr and print nothing. */
export function expandWriteOut(template: string, v: WriteOutVars & { exitCode: number; errorMsg: string }, warn: (s: string) => void): { stdout: string; stderr: string } {
  let out = '';
  let err = '';
  let toStderr = false;
  const put = (s: string): void => {
    if (toStderr) err += s;
    else out += s;
  };
  const secs = (n: number): string => n.toFixed(6);
  const values: Record<string, () => string> = {
    http_code: () => String(v.httpCode).padStart(3, '0'),
    response_code: () => String(v.httpCode).padStart(3, '0'),
    http_version: () => v.httpVersion,
    remote_ip: () => v.remoteIp,
    remote_port: () => String(v.remotePort),
    local_ip: () => v.localIp,
    local_port: () => String(v.localPort),
    size_download: () => String(v.sizeDownload),
    size_header: () => String(v.sizeHeader),
    size_request: () => String(v.sizeRequest),
    size_upload: () => String(v.sizeUpload),
    speed_download: () => String(v.timeTotal > 0 ? Math.floor(v.sizeDownload / v.timeTotal) : 0),
    speed_upload: () => String(v.timeTotal > 0 ? Math.floor(v.sizeUpload / v.timeTotal) : 0),
    time_namelookup: () => secs(v.timeNamelookup),
    time_connect: () => secs(v.timeConnect),
    time_appconnect: () => secs(0),
    time_pretransfer: () => secs(v.timePretransfer),
    time_starttransfer: () => secs(v.timeStarttransfer),
    time_redirect: () => secs(v.timeRedirect),
    time_total: () => secs(v.timeTotal),
    content_type: () => v.contentType,
    num_connects: () => String(v.numConnects),
    num_redirects: () => String(v.numRedirects),
    num_headers: () => String(v.headers?.size ?? 0),
    redirect_url: () => v.redirectUrl,
    url_effective: () => v.urlEffective,
    url: () => v.url,
    method: () => v.method,
    scheme: () => v.scheme,
    exitcode: () => String(v.exitCode),
    errormsg: () => v.errorMsg,
    ssl_verify_result: () => '0',
    proxy_ssl_verify_result: () => '0',
    filename_effective: () => '',
  };
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '%') {
      if (template[i + 1] === '%') {
        put('%');
        i++;
        continue;
      }
      const hm = /^%header\{([^}]*)\}/.exec(template.slice(i));
      if (hm) {
        put(v.headers?.getAll(hm[1]!).join(', ') ?? '');
        i += hm[0].length - 1;
        continue;
      }
      const m = /^%\{([^}]*)\}/.exec(template.slice(i));
      if (m) {
        const name = m[1]!;
        i += m[0].length - 1;
        if (name === 'stderr') toStderr = true;
        else if (name === 'stdout') toStderr = false;
        else if (values[name]) put(values[name]!());
        else warn(`curl: unknown --write-out variable: '${name}'\n`);
        continue;
      }
      put(c);
      continue;
    }
    if (c === '\\' && i + 1 < template.length) {
      const n = template[i + 1]!;
      const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\' };
      if (map[n] !== undefined) {
        put(map[n]!);
        i++;
        continue;
      }
    }
    put(c);
  }
  return { stdout: out, stderr: err };
}

// ------------------------------------------------------------------ the command

export const curl: AppCommand = async (env, argv, io) => {
  const parsed = parseCurlArgs(argv.slice(1));
  if (typeof parsed === 'string') {
    io.stderr(parsed);
    return 2;
  }
  const o = parsed;
  if (o.urls.length === 0) {
    io.stderr(`curl: no URL specified!\n${TRY_HELP}`);
    return 2;
  }
  if (o.head && o.data.length > 0) {
    io.stderr('Warning: You can only select one HTTP request method! You asked for both POST \nWarning: (-d, --data) and HEAD (-I, --head).\n');
    return 2;
  }
  const run = new CurlRun(env, io, o);
  let exit = 0;
  for (const url of o.urls) {
    const r = await transferWithRetries(env, io, o, run, url);
    if (r === undefined) return signalExitCode(io.signal);
    if (r.exit !== 0) {
      exit = r.exit;
      if ((!o.silent || o.showError) && r.error !== undefined) io.stderr(`curl: (${r.exit}) ${r.error}\n`);
    }
    if (o.writeOut !== undefined) {
      const w = expandWriteOut(o.writeOut, { ...r.vars, exitCode: r.exit, errorMsg: r.error ?? '' }, (s) => io.stderr(s));
      if (w.stdout) io.stdout(w.stdout);
      if (w.stderr) io.stderr(w.stderr);
    }
  }
  return exit;
};

/** Longest wait between retries (curl's RETRY_SLEEP_MAX). */
const RETRY_SLEEP_MAX_MS = 600_000;

/**
 * One URL with --retry: a timeout (or a refused connect with
 * --retry-connrefused, anything with --retry-all-errors) is retried after
 * 1 s, then twice as long each time, unless --retry-delay fixes it.
 * -m bounds each attempt. Undefined when a signal killed curl.
 */
async function transferWithRetries(env: PodEnv, io: ProcessIO, o: CurlOptions, run: CurlRun, url: string): Promise<TransferResult | undefined> {
  const started = env.clock.now();
  let retriesLeft = o.retry;
  let delay = o.retryDelayMs ?? 1000;
  for (;;) {
    const maxTimer = o.maxTimeMs !== undefined && o.maxTimeMs > 0 ? clockTimeout(env.clock, o.maxTimeMs + TIMEOUT_GRANULARITY_MS, 'max-time') : undefined;
    let r: TransferResult;
    try {
      r = await run.transfer(url, maxTimer ? AbortSignal.any([io.signal, maxTimer.signal]) : io.signal);
    } finally {
      maxTimer?.cancel();
    }
    if (r.exit === -1) return undefined;
    const why = r.exit === 28 ? ': timeout' : r.exit === 7 && o.retryConnRefused ? ': connection refused' : r.exit !== 0 && o.retryAllErrors ? ' (retrying all errors)' : undefined;
    const outOfTime = o.retryMaxTimeMs !== undefined && env.clock.now() - started + delay > o.retryMaxTimeMs;
    if (why === undefined || retriesLeft === 0 || outOfTime) return r;
    if (!o.silent) io.stderr(`Warning: Problem ${why}. Will retry in ${Math.floor(delay / 1000)} seconds. ${retriesLeft} retries left.\n`);
    retriesLeft--;
    if (!(await sleep(env.clock, delay, io.signal))) return undefined;
    if (o.retryDelayMs === undefined) delay = Math.min(delay * 2, RETRY_SLEEP_MAX_MS);
  }
}
