// The few files of a pod that networking work reads, generated from the pod
// the way kubelet writes them: /etc/resolv.conf, /etc/hosts, /etc/hostname.
// There is no other filesystem.

import { ipv4ToString } from '../packet/ip.js';
import type { PodEnv } from './types.js';

export function podFile(env: PodEnv, path: string): string | undefined {
  switch (path) {
    case '/etc/resolv.conf': {
      const r = env.resolv;
      let s = '';
      if (r.search.length > 0) s += `search ${r.search.join(' ')}\n`;
      for (const ns of r.nameservers) s += `nameserver ${ipv4ToString(ns)}\n`;
      const options = [`ndots:${r.ndots}`];
      if (r.timeoutMs !== undefined) options.push(`timeout:${Math.round(r.timeoutMs / 1000)}`);
      if (r.attempts !== undefined) options.push(`attempts:${r.attempts}`);
      return s + `options ${options.join(' ')}\n`;
    }
    case '/etc/hosts':
      return (
        '# Kubernetes-managed hosts file.\n' +
        '127.0.0.1\tlocalhost\n' +
        '::1\tlocalhost ip6-localhost ip6-loopback\n' +
        'fe00::0\tip6-localnet\n' +
        'fe00::0\tip6-mcastprefix\n' +
        'fe00::1\tip6-allnodes\n' +
        'fe00::2\tip6-allrouters\n' +
        `${ipv4ToString(env.ip)}\t${env.hostname}\n`
      );
    case '/etc/hostname':
      return `${env.hostname}\n`;
    case '/dev/null':
      return '';
    default:
      return undefined;
  }
}
