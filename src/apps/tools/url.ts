// URLs the way curl's URL parser takes them: a missing scheme means http,
// "host:port" works, the Host header keeps the name as typed, dot segments
// are normalised, and rejections carry curl's exit code and wording.

export interface ParsedUrl {
  scheme: 'http' | 'https';
  /** Host as written (lower-cased), without brackets or port. */
  host: string;
  port: number;
  /** The port was written and is not the scheme's default. */
  nonDefaultPort: boolean;
  /** Origin-form request target: path plus "?query"; never empty. */
  target: string;
  user?: string;
  password?: string;
}

export interface UrlError {
  code: number;
  message: string;
}

const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443 };
// Characters curl's hostname check refuses.
const BAD_HOST = /[\s/:#?!@{}[\]\\$'"^`*<>=;,+&()%]/;

export function isUrlError(v: ParsedUrl | UrlError): v is UrlError {
  return 'code' in v;
}

export function parseUrl(input: string, opts: { pathAsIs?: boolean } = {}): ParsedUrl | UrlError {
  if (input.length === 0 || [...input].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f)) {
    return { code: 3, message: 'URL rejected: Malformed input to a URL function' };
  }
  let rest = input;
  let scheme: string;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (m) {
    scheme = m[1]!.toLowerCase();
    rest = rest.slice(m[0].length);
  } else {
    // No scheme: curl guesses from the host name, http unless it looks like another protocol's server.
    const guess = /^(ftp|dict|ldap|imap|smtp|pop3)\./i.exec(rest);
    scheme = guess ? guess[1]!.toLowerCase() : 'http';
  }
  if (!(scheme in DEFAULT_PORT)) return { code: 1, message: `Protocol "${scheme}" not supported` };
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  let pathPart = end < 0 ? '' : rest.slice(end);
  const hash = pathPart.indexOf('#');
  if (hash >= 0) pathPart = pathPart.slice(0, hash);

  let hostPort = authority;
  let user: string | undefined;
  let password: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const info = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    const colon = info.indexOf(':');
    user = decodeSafe(colon < 0 ? info : info.slice(0, colon));
    if (colon >= 0) password = decodeSafe(info.slice(colon + 1));
  }
  let host: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) return { code: 3, message: 'URL rejected: Bad IPv6 address' };
    host = hostPort.slice(1, close);
    const after = hostPort.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(':')) return { code: 3, message: 'URL rejected: Bad IPv6 address' };
      portText = after.slice(1);
    }
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon < 0 ? hostPort : hostPort.slice(0, colon);
    if (colon >= 0) portText = hostPort.slice(colon + 1);
    if (host.length > 0 && BAD_HOST.test(host)) return { code: 3, message: 'URL rejected: Bad hostname' };
  }
  if (host.length === 0) return { code: 3, message: 'URL rejected: No host part in the URL' };
  const defaultPort = DEFAULT_PORT[scheme]!;
  let port = defaultPort;
  if (portText !== undefined && portText.length > 0) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
      return { code: 3, message: 'URL rejected: Port number was not a decimal number between 0 and 65535' };
    }
    port = Number(portText);
  }
  let target = pathPart;
  if (target.length === 0 || target.startsWith('?')) target = '/' + target;
  if (!opts.pathAsIs) target = removeDotSegments(target);
  return {
    scheme: scheme as 'http' | 'https',
    host: host.toLowerCase(),
    port,
    nonDefaultPort: port !== defaultPort,
    target,
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** RFC 3986 5.2.4 on the path part of a target, the query left alone. */
export function removeDotSegments(target: string): string {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  if (!/(^|\/)\.\.?(\/|$)/.test(path)) return target;
  const out: string[] = [];
  const segs = path.split('/');
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if (s === '.') {
      if (last) out.push('');
    } else if (s === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(s);
    }
  }
  return '/' + out.join('/') + query;
}

/** Host header value / display form: host plus the port when it is not the default. */
export function authorityOf(u: ParsedUrl): string {
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  return u.nonDefaultPort ? `${host}:${u.port}` : host;
}

export function formatUrl(u: ParsedUrl): string {
  return `${u.scheme}://${authorityOf(u)}${u.target}`;
}

/** Where a redirect goes: Location resolved against the current URL. */
export function resolveLocation(base: ParsedUrl, location: string): ParsedUrl | UrlError {
  let absolute: string;
  try {
    absolute = new URL(location, formatUrl(base)).toString();
  } catch {
    return { code: 3, message: 'URL rejected: Malformed input to a URL function' };
  }
  return parseUrl(absolute);
}
