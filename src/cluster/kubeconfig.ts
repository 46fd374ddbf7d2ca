// What real kubectl needs to talk to a podpath cluster: the apiserver on
// loopback over HTTPS (kubectl sends bearer tokens only over TLS), a
// self-signed certificate made once per cluster with openssl, a random bearer
// token, and a kubeconfig with a `podpath-<name>` context. All files 0600.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ClusterPaths } from './paths.js';

export interface ApiCredentials {
  key: string;
  cert: string;
  token: string;
}

/** Load the cluster's key, certificate and token, creating them on first use. */
export function ensureCredentials(paths: ClusterPaths): ApiCredentials {
  const keyPath = join(paths.dir, 'apiserver.key');
  const certPath = join(paths.dir, 'apiserver.crt');
  const tokenPath = join(paths.dir, 'token');
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '3650', '-subj', '/CN=podpath-apiserver', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'ignore' },
    );
  }
  if (!existsSync(tokenPath)) writeFileSync(tokenPath, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), token: readFileSync(tokenPath, 'utf8').trim() };
}

export function kubeconfigPath(paths: ClusterPaths): string {
  return join(paths.dir, 'kubeconfig');
}

/** Write the kubeconfig for the apiserver listening on 127.0.0.1:port. */
export function writeKubeconfig(paths: ClusterPaths, port: number, creds: ApiCredentials): string {
  const ctx = `podpath-${paths.name}`;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: ctx, cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': Buffer.from(creds.cert).toString('base64') } }],
    contexts: [{ name: ctx, context: { cluster: ctx, user: ctx } }],
    'current-context': ctx,
    preferences: {},
    users: [{ name: ctx, user: { token: creds.token } }],
  };
  const path = kubeconfigPath(paths);
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
}
