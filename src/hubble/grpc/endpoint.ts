// Where a cluster's Observer API listens, and how a Hubble client reaches it:
// the daemon starts the server on <cluster dir>/hubble.sock (0600) and on
// 127.0.0.1:<port> with mutual TLS, then writes <cluster dir>/hubble.json
// (0600) with both addresses and the certificate files; `podpath status`
// reads it back.

import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubbleGrpcServer, type HubbleGrpcOptions } from './server.js';
import { ensureHubbleTls, HUBBLE_SERVER_NAME } from './tls.js';

export interface HubbleApiInfo {
  /** `unix:///…/hubble.sock`: what `hubble --server` takes. */
  unix: string;
  /** `127.0.0.1:PORT`, mutual TLS. */
  tls: string;
  tls_server_name: string;
  ca: string;
  client_cert: string;
  client_key: string;
}

export function hubbleSocketPath(dir: string): string {
  return join(dir, 'hubble.sock');
}

export function hubbleInfoPath(dir: string): string {
  return join(dir, 'hubble.json');
}

export function readHubbleApiInfo(dir: string): HubbleApiInfo | undefined {
  const p = hubbleInfoPath(dir);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as HubbleApiInfo;
  } catch {
    return undefined;
  }
}

/** The `hubble` command lines that reach this cluster's relay. */
export function hubbleClientCommands(info: HubbleApiInfo): { unix: string; tls: string } {
  return {
    unix: `hubble observe --server ${info.unix}`,
    tls: `hubble observe --server tls://${info.tls} --tls-server-name ${info.tls_server_name} --tls-ca-cert-files ${info.ca} --tls-client-cert-file ${info.client_cert} --tls-client-key-file ${info.client_key}`,
  };
}

export interface HubbleApi {
  server: HubbleGrpcServer;
  info: HubbleApiInfo;
  close(): Promise<void>;
}

/** Serve the Observer API for a cluster whose state lives in `dir`. */
export async function startHubbleApi(dir: string, opts: HubbleGrpcOptions, port = 0): Promise<HubbleApi> {
  const tls = ensureHubbleTls(dir, opts.clusterName);
  const server = new HubbleGrpcServer(opts);
  const unix = await server.listenUnix(hubbleSocketPath(dir));
  const bound = await server.listenTls({ ca: tls.ca, cert: tls.serverCert, key: tls.serverKey }, port);
  const info: HubbleApiInfo = { unix, tls: `127.0.0.1:${bound}`, tls_server_name: HUBBLE_SERVER_NAME, ca: tls.files.ca, client_cert: tls.files.clientCert, client_key: tls.files.clientKey };
  writeFileSync(hubbleInfoPath(dir), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  return {
    server,
    info,
    close: async () => {
      await server.close();
      if (existsSync(hubbleInfoPath(dir))) unlinkSync(hubbleInfoPath(dir));
    },
  };
}
