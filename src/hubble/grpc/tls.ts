// Mutual TLS material for the Observer API's loopback port, made once per
// cluster with openssl: the cluster's CA, a server certificate for
// 127.0.0.1/localhost (and *.hubble-relay.cilium.io, the name Hubble's relay
// certificates carry), and a client certificate the owner presents. The port
// accepts only clients whose certificate the CA signed. All files 0600.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HUBBLE_SERVER_NAME = 'hubble-relay.podpath.local';

export interface HubbleTlsFiles {
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export interface HubbleTls {
  files: HubbleTlsFiles;
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
}

export function hubbleTlsFiles(dir: string): HubbleTlsFiles {
  return {
    ca: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'hubble-server.crt'),
    serverKey: join(dir, 'hubble-server.key'),
    clientCert: join(dir, 'hubble-client.crt'),
    clientKey: join(dir, 'hubble-client.key'),
  };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function signed(dir: string, f: HubbleTlsFiles, cert: string, key: string, cn: string, ext: string): void {
  const csr = join(dir, `.${randomBytes(6).toString('hex')}.csr`);
  const extFile = `${csr}.ext`;
  try {
    openssl(['req', '-new', ...EC, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
    writeFileSync(extFile, ext, { mode: 0o600 });
    openssl(['x509', '-req', '-in', csr, '-CA', f.ca, '-CAkey', f.caKey, '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', '3650', '-sha256', '-out', cert, '-extfile', extFile]);
  } finally {
    for (const p of [csr, extFile]) if (existsSync(p)) unlinkSync(p);
  }
}

/** Load the cluster's CA and Hubble certificates, creating what is missing. */
export function ensureHubbleTls(dir: string, clusterName: string): HubbleTls {
  const f = hubbleTlsFiles(dir);
  if (!existsSync(f.ca) || !existsSync(f.caKey)) {
    openssl(['req', '-x509', ...EC, '-keyout', f.caKey, '-out', f.ca, '-days', '3650', '-subj', `/CN=podpath ${clusterName} CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    for (const p of [f.serverCert, f.clientCert]) if (existsSync(p)) unlinkSync(p);
  }
  if (!existsSync(f.serverCert) || !existsSync(f.serverKey)) {
    signed(dir, f, f.serverCert, f.serverKey, HUBBLE_SERVER_NAME, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${HUBBLE_SERVER_NAME},DNS:*.hubble-relay.cilium.io\n`);
  }
  if (!existsSync(f.clientCert) || !existsSync(f.clientKey)) {
    signed(dir, f, f.clientCert, f.clientKey, `podpath-${clusterName}-owner`, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  }
  for (const p of Object.values(f)) chmodSync(p, 0o600);
  return { files: f, ca: readFileSync(f.ca), serverCert: readFileSync(f.serverCert), serverKey: readFileSync(f.serverKey) };
}
