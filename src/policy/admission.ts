// The admission hook for policy objects: defaulting (NetworkPolicy's
// policyTypes and port protocols, as the apiserver's defaulter fills them)
// and validation with field paths. A rejected write changes nothing: the
// apiserver answers 422 Invalid and stores nothing.
//
//   $ kubectl apply -f bad.yaml
//   The CiliumNetworkPolicy "bad" is invalid: spec.ingress[0].fromEntities[0]: Unsupported value: "wrld": ...

import type { AdmissionHook } from '../k8s/apiserver.js';
import type { KubeObject } from '../k8s/types.js';
import { kindOf } from './parse.js';
import { validatePolicy } from './validate.js';

/** networking.k8s.io/v1 defaults: policyTypes from the rules present, ports' protocol TCP. */
export function defaultNetworkPolicy(obj: KubeObject): void {
  const spec = obj['spec'];
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return;
  const s = spec as Record<string, unknown>;
  const egress = Array.isArray(s['egress']) ? s['egress'] : [];
  if (!Array.isArray(s['policyTypes']) || s['policyTypes'].length === 0) s['policyTypes'] = ['Ingress', ...(egress.length ? ['Egress'] : [])];
  for (const dir of ['ingress', 'egress']) {
    const rules = s[dir];
    if (!Array.isArray(rules)) continue;
    for (const r of rules) {
      const ports = r && typeof r === 'object' ? (r as Record<string, unknown>)['ports'] : undefined;
      if (!Array.isArray(ports)) continue;
      for (const p of ports) if (p && typeof p === 'object' && (p as Record<string, unknown>)['protocol'] === undefined) (p as Record<string, unknown>)['protocol'] = 'TCP';
    }
  }
}

/** Register with `api.addAdmission(policyAdmission())`. */
export function policyAdmission(): AdmissionHook {
  return (op, obj, _old, info) => {
    if (op === 'DELETE' || info.subresource) return;
    const kind = kindOf({ kind: info.resource.kind });
    if (!kind) return;
    if (kind === 'NetworkPolicy') defaultNetworkPolicy(obj);
    return validatePolicy(kind, obj as Record<string, unknown>);
  };
}
