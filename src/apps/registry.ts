// Which program a pod runs: the server chosen by the container image (and
// its command/args), and the client tools `kubectl exec` can start.

import { AgnhostServer, agnhost } from './agnhost.js';
import { CoreDnsServer, type DnsRecordSource } from './servers/coredns.js';
import { DeathstarServer } from './servers/starwars.js';
import { HubbleUiServer } from './servers/hubble-ui.js';
import { DemoBackendServer, GenericServer, NginxServer } from './servers/web.js';
import { cat, echo, falseCommand, hostname, sleep, trueCommand } from './tools/basic.js';
import { curl } from './tools/curl.js';
import { dig } from './tools/dig.js';
import { nc } from './tools/nc.js';
import { nslookup } from './tools/nslookup.js';
import { ping } from './tools/ping.js';
import { makeShell } from './tools/sh.js';
import { wget } from './tools/wget.js';
import type { AppCommand, ServerApp } from './types.js';

/** What the cluster layer hands the workloads that need it. */
export interface AppDeps {
  /** Records CoreDNS serves (Services and Pods of the cluster). */
  dnsRecords?: DnsRecordSource;
}

export interface ImageRef {
  /** Registry host, empty for Docker Hub. */
  registry: string;
  /** Repository path without the registry: "cilium/starwars", "nginx". */
  repository: string;
  tag: string | undefined;
}

/** Splits an image reference the way container runtimes do ("library/" dropped). */
export function parseImage(image: string): ImageRef {
  let rest = image.trim();
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  let registry = '';
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift()!;
  }
  if (registry === 'docker.io' || registry === 'index.docker.io') registry = '';
  if (parts[0] === 'library' && parts.length > 1) parts.shift();
  return { registry, repository: parts.join('/').toLowerCase(), tag };
}

/** The server an image runs. Unknown images get the generic server (HTTP/UDP echo on declared ports). */
export function serverForImage(image: string, command?: string[], deps: AppDeps = {}): ServerApp {
  const { repository, tag } = parseImage(image);
  const name = repository.split('/').pop() ?? repository;
  if (repository === 'coredns/coredns' || name === 'coredns') return new CoreDnsServer(deps.dnsRecords, tag && /^v?\d/.test(tag) ? { version: tag.replace(/^v/, '') } : {});
  if (repository.endsWith('cilium/starwars')) return new DeathstarServer();
  if (name === 'agnhost' || (command ?? []).some((c) => /(^|\/)agnhost$/.test(c))) return new AgnhostServer();
  if (repository.endsWith('cilium/hubble-ui')) return new HubbleUiServer();
  // Hubble UI's backend (gRPC on its declared port) is no demo backend, whatever its name says.
  if (repository.endsWith('cilium/hubble-ui-backend')) return new GenericServer();
  if (repository.includes('backend')) return new DemoBackendServer();
  if (repository.includes('frontend')) return new GenericServer([80]);
  if (name === 'nginx' || name === 'nginx-unprivileged') {
    return tag && /^\d+\.\d+\.\d+/.test(tag) ? new NginxServer(tag.match(/^\d+\.\d+\.\d+/)![0]) : new NginxServer();
  }
  return new GenericServer();
}

/** Client tools by name; "/usr/bin/curl" and "curl" are the same program. */
export const COMMANDS: Readonly<Record<string, AppCommand>> = {
  curl,
  wget,
  nc,
  netcat: nc,
  ping,
  nslookup,
  dig,
  echo,
  sleep,
  hostname,
  true: trueCommand,
  false: falseCommand,
  cat,
  agnhost,
  sh: makeShell((name) => commandByName(name)),
};

/** busybox links sh as ash too. */
export function commandByName(name: string): AppCommand | undefined {
  let base = name.slice(name.lastIndexOf('/') + 1);
  if (base === 'ash') base = 'sh';
  return Object.prototype.hasOwnProperty.call(COMMANDS, base) ? COMMANDS[base] : undefined;
}
