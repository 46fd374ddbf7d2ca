// cilium-operator's network-policy-validator: every CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy gets a `Valid` condition in its status, from
// the same validation the agent applies, so `kubectl get cnp` fills its VALID
// column and `kubectl describe cnp` shows "Policy validation succeeded".
// The apiserver already refuses invalid policies, so False only shows for a
// policy stored before a rule it breaks existed (a restored database).

import type { StoreEvent } from '../../k8s/store.js';
import { lookupResource, type ResourceInfo } from '../../k8s/resources.js';
import { renderFieldErrors } from '../../k8s/validation/field.js';
import type { KubeObject } from '../../k8s/types.js';
import { validatePolicy } from '../../policy/validate.js';
import { keyOf, mergeConditions, now3339, QueuedController, splitKey, thaw, written, type Condition } from './common.js';

const COMPONENT = 'network-policy-validator';
const CNP = lookupResource('ciliumnetworkpolicies.cilium.io')!;
const CCNP = lookupResource('ciliumclusterwidenetworkpolicies.cilium.io')!;

export const POLICY_VALID_MESSAGE = 'Policy validation succeeded';

export class PolicyValidationController extends QueuedController {
  readonly name = COMPONENT;
  readonly watches: readonly ResourceInfo[] = [CNP, CCNP];

  observe(e: StoreEvent): void {
    if (e.type === 'DELETED' || (e.resource !== CNP && e.resource !== CCNP)) return;
    this.queue.add(`${e.resource === CNP ? 'cnp' : 'ccnp'}:${keyOf(e.object)}`);
  }

  protected sync(key: string): void {
    const colon = key.indexOf(':');
    const resource = key.slice(0, colon) === 'cnp' ? CNP : CCNP;
    const { namespace, name } = splitKey(key.slice(colon + 1));
    const policy = this.ctx.cache.get(resource, namespace, name);
    if (!policy) return;
    const errors = validatePolicy(resource.kind as 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy', policy as unknown as Record<string, unknown>);
    const valid: Condition = errors.length
      ? { type: 'Valid', status: 'False', message: renderFieldErrors(errors), lastTransitionTime: now3339(this.ctx.clock) }
      : { type: 'Valid', status: 'True', message: POLICY_VALID_MESSAGE, lastTransitionTime: now3339(this.ctx.clock) };
    const status = (policy['status'] ?? {}) as { conditions?: Condition[] };
    const previous = status.conditions ?? [];
    const old = previous.find((c) => c.type === 'Valid');
    if (old && old.status === valid.status && old.message === valid.message) return;
    const conditions = [...previous.filter((c) => c.type !== 'Valid'), ...mergeConditions(previous, [valid])];
    const updated: KubeObject = { ...thaw(policy), status: { ...thaw(status), conditions } };
    written(this.ctx, COMPONENT, `status of ${resource.kind} ${key}`, this.ctx.api.update(resource, namespace, name, updated, { subresource: 'status' }));
  }
}
