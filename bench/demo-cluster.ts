// What the benches that need a running demo cluster share.

import { runKubectl } from '../src/cli/kubectl/index.js';

/** The first pod of the Deployment `app` in cluster `cluster`, by podpath's kubectl against the cluster's apiserver. */
export async function firstPod(cluster: string, namespace: string, app: string): Promise<string> {
  let out = '';
  const code = await runKubectl(['get', 'pods', '-n', namespace, '-l', `app=${app}`, '-o', 'jsonpath={.items[0].metadata.name}'], {
    out: (s) => (out += s),
    err: (s) => process.stderr.write(s),
    readStdin: () => Promise.resolve(''),
    env: { ...process.env, PODPATH_CLUSTER: cluster },
    stdinIsTTY: false,
  });
  if (code !== 0 || !out) throw new Error(`no ${app} pod in ${namespace}`);
  return out;
}
