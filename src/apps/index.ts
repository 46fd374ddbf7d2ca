// What runs in pods: client tools for `kubectl exec`, servers chosen by image.
export * from './types.js';
export { Aborted, abortable, sleep, clockTimeout, utf8, text, parseGoDuration, formatGoDuration } from './proc.js';
export * from './resolver.js';
export * from './http.js';
export { AgnhostServer, agnhost } from './agnhost.js';
export { CoreDnsServer, COREDNS_TTL } from './servers/coredns.js';
export type { DnsRecordSource, CoreDnsOptions } from './servers/coredns.js';
export { DeathstarServer, deathstarInfo, EXHAUST_PORT_PANIC, DEATHSTAR_PORT } from './servers/starwars.js';
export { DemoBackendServer, GenericServer, NginxServer, DEMO_USERS } from './servers/web.js';
export { curl, parseCurlArgs, CURL_VERSION } from './tools/curl.js';
export { nc } from './tools/nc.js';
export { ping } from './tools/ping.js';
export { nslookup } from './tools/nslookup.js';
export { dig, DIG_VERSION } from './tools/dig.js';
export { cat, echo, falseCommand, hostname, sleep as sleepCommand, trueCommand } from './tools/basic.js';
export { parseUrl } from './tools/url.js';
export { makeShell, parseScript, ShSyntaxError } from './tools/sh.js';
export * from './registry.js';
