// Every namespace gets a `default` ServiceAccount, as kube-controller-manager's
// serviceaccount controller creates it; pods run as it unless they name another.

import type { StoreEvent } from '../../k8s/store.js';
import { R, WorkQueue, isTerminating, written, type ControllerContext, type Reconciler } from './common.js';

const COMPONENT = 'serviceaccount-controller';

export class ServiceAccountController implements Reconciler {
  readonly name = COMPONENT;
  private readonly queue = new WorkQueue();

  constructor(private readonly ctx: ControllerContext) {}

  observe(e: StoreEvent): void {
    if (e.resource === R.namespaces && e.type !== 'DELETED') this.queue.add(e.object.metadata.name ?? '');
    else if (e.resource === R.serviceAccounts && e.type === 'DELETED' && e.object.metadata.name === 'default') {
      this.queue.add(e.object.metadata.namespace ?? '');
    }
  }

  hasWork(): boolean {
    return this.queue.size > 0;
  }

  run(): void {
    for (const ns of this.queue.drain()) {
      const namespace = this.ctx.cache.get(R.namespaces, undefined, ns);
      if (!namespace || isTerminating(namespace) || this.ctx.cache.get(R.serviceAccounts, ns, 'default')) continue;
      written(
        this.ctx,
        COMPONENT,
        `default serviceaccount in ${ns}`,
        this.ctx.api.create(R.serviceAccounts, ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }),
      );
    }
  }
}
