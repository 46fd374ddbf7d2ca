// Proxy ports. Cilium runs one listener per L7 parser and direction
// (cilium-http-ingress, cilium-http-egress, cilium-dns-egress, ...) on a port
// from its proxy range (10000-20000); the policy map entries of redirected
// keys carry that port. podpath derives each listener's port from its name,
// so every node and the one policy engine agree without asking each other.

import type { L7Direction } from './l7-policy.js';
import type { L7Parser } from './types.js';

export const PROXY_PORT_MIN = 10000;
export const PROXY_PORT_MAX = 20000;

export function listenerName(parser: string, direction: L7Direction): string {
  return `cilium-${parser}-${direction}`;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const byPort = new Map<number, { parser: string; direction: L7Direction }>();

/** The proxy port of a listener (parser `http`, `dns`, ...; other parsers share the HTTP listener's logic table but get their own port). */
export function proxyPortFor(parser: string, direction: L7Direction): number {
  const name = listenerName(parser, direction);
  let port = PROXY_PORT_MIN + (fnv1a(name) % (PROXY_PORT_MAX - PROXY_PORT_MIN));
  // Distinct listeners never share a port.
  while (byPort.has(port) && (byPort.get(port)!.parser !== parser || byPort.get(port)!.direction !== direction)) port = port + 1 >= PROXY_PORT_MAX ? PROXY_PORT_MIN : port + 1;
  byPort.set(port, { parser, direction });
  return port;
}

/** The listener behind a proxy port (only ports proxyPortFor handed out). */
export function listenerOf(port: number): { parser: string; direction: L7Direction } | undefined {
  return byPort.get(port);
}

/** The supported parsers' ports, registered up front so listenerOf knows them before any policy asked. */
export const PROXY_PORTS: Readonly<Record<`${L7Parser}-${L7Direction}`, number>> = {
  'http-ingress': proxyPortFor('http', 'ingress'),
  'http-egress': proxyPortFor('http', 'egress'),
  'dns-ingress': proxyPortFor('dns', 'ingress'),
  'dns-egress': proxyPortFor('dns', 'egress'),
};

/** The policy engine's proxyPort option: the listener port for a redirected key's parser and direction. */
export function redirectPort(q: { direction: L7Direction; parser: string }): number | undefined {
  if (q.parser !== 'http' && q.parser !== 'dns') return undefined;
  return proxyPortFor(q.parser, q.direction);
}
