// Per-kind rules: which schema decodes a kind, how its names are spelled, and
// which semantic checks run on create and update.

import type { z } from 'zod';
import { storageKey, type ResourceInfo } from '../resources.js';
import type { JsonObject } from '../json.js';
import { decodeObject, type DecodeResult, type FieldValidation } from './decode.js';
import { decodeTrusted } from './trusted.js';
import { validatePodStatus } from './pod.js';
import type { FieldError } from './field.js';
import { validateObjectMeta, validateObjectMetaUpdate, type ObjectMeta } from './meta.js';
import { checkDns1035Label, checkDns1123Label, checkDns1123Subdomain } from './names.js';
import {
  configMapSchema,
  endpointSliceSchema,
  endpointsSchema,
  eventSchema,
  namespaceSchema,
  nodeSchema,
  podSchema,
  serviceAccountSchema,
  serviceSchema,
  validateConfigMap,
  validateConfigMapUpdate,
  validateEndpointSlice,
  validateEndpointSliceUpdate,
  validateEndpoints,
  validateEvent,
  validateNamespace,
  validateNode,
  validatePod,
  validateService,
  type Pod,
  validateServiceUpdate,
} from './core.js';
import {
  daemonSetSchema,
  deploymentSchema,
  replicaSetSchema,
  validateDaemonSet,
  validateDeployment,
  validateReplicaSet,
  validateSelectorUpdate,
} from './apps.js';
import {
  ciliumEndpointSchema,
  ciliumIdentitySchema,
  ciliumNetworkPolicySchema,
  ciliumNodeSchema,
  networkPolicySchema,
  validateCiliumIdentity,
  validateCiliumNode,
  validateCiliumPolicyShape,
} from './policy.js';

interface KindRules {
  schema: z.ZodType;
  checkName: (name: string) => string[];
  // Rules take the decoded object; the schema guarantees its shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  validate?: (obj: any) => FieldError[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  validateUpdate?: (obj: any, old: any) => FieldError[];
  /** `validate` for an update that keeps the stored spec itself (a status write): the spec was checked when stored. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  validateStatus?: (obj: any) => FieldError[];
}

const RULES: Record<string, KindRules> = {
  '/namespaces': { schema: namespaceSchema, checkName: checkDns1123Label, validate: validateNamespace },
  '/nodes': { schema: nodeSchema, checkName: checkDns1123Subdomain, validate: validateNode },
  '/pods': { schema: podSchema, checkName: checkDns1123Subdomain, validate: validatePod, validateStatus: (p: Pod) => validatePodStatus(p.status, 'status') },
  '/services': {
    schema: serviceSchema,
    checkName: checkDns1035Label,
    validate: validateService,
    validateUpdate: validateServiceUpdate,
  },
  '/configmaps': {
    schema: configMapSchema,
    checkName: checkDns1123Subdomain,
    validate: validateConfigMap,
    validateUpdate: validateConfigMapUpdate,
  },
  '/serviceaccounts': { schema: serviceAccountSchema, checkName: checkDns1123Subdomain },
  '/events': { schema: eventSchema, checkName: checkDns1123Subdomain, validate: validateEvent },
  '/endpoints': { schema: endpointsSchema, checkName: checkDns1123Subdomain, validate: validateEndpoints },
  'discovery.k8s.io/endpointslices': {
    schema: endpointSliceSchema,
    checkName: checkDns1123Subdomain,
    validate: validateEndpointSlice,
    validateUpdate: validateEndpointSliceUpdate,
  },
  'apps/deployments': {
    schema: deploymentSchema,
    checkName: checkDns1123Subdomain,
    validate: validateDeployment,
    validateUpdate: validateSelectorUpdate,
  },
  'apps/replicasets': {
    schema: replicaSetSchema,
    checkName: checkDns1123Subdomain,
    validate: validateReplicaSet,
    validateUpdate: validateSelectorUpdate,
  },
  'apps/daemonsets': {
    schema: daemonSetSchema,
    checkName: checkDns1123Subdomain,
    validate: validateDaemonSet,
    validateUpdate: validateSelectorUpdate,
  },
  'networking.k8s.io/networkpolicies': { schema: networkPolicySchema, checkName: checkDns1123Subdomain },
  'cilium.io/ciliumnetworkpolicies': {
    schema: ciliumNetworkPolicySchema,
    checkName: checkDns1123Subdomain,
    validate: validateCiliumPolicyShape,
  },
  'cilium.io/ciliumclusterwidenetworkpolicies': {
    schema: ciliumNetworkPolicySchema,
    checkName: checkDns1123Subdomain,
    validate: validateCiliumPolicyShape,
  },
  'cilium.io/ciliumendpoints': { schema: ciliumEndpointSchema, checkName: checkDns1123Subdomain },
  'cilium.io/ciliumidentities': {
    schema: ciliumIdentitySchema,
    checkName: checkDns1123Subdomain,
    validate: validateCiliumIdentity,
  },
  'cilium.io/ciliumnodes': { schema: ciliumNodeSchema, checkName: checkDns1123Subdomain, validate: validateCiliumNode },
};

function rulesFor(resource: ResourceInfo): KindRules {
  const rules = RULES[storageKey(resource)];
  if (!rules) throw new Error(`no validation rules for ${storageKey(resource)}`);
  return rules;
}

export function schemaFor(resource: ResourceInfo): z.ZodType {
  return rulesFor(resource).schema;
}

/** Body → typed object, or a 400 Status. See decodeObject for the field-validation modes. */
export function decode(resource: ResourceInfo, body: unknown, fieldValidation: FieldValidation = 'Strict'): DecodeResult {
  return decodeObject(resource, rulesFor(resource).schema, body, fieldValidation);
}

/**
 * decode() for a trusted in-process writer: the same object for a well-formed
 * body, much cheaper; undefined when the body needs decode() (see trusted.ts).
 */
export function decodeTrustedBody(resource: ResourceInfo, body: unknown): JsonObject | undefined {
  return decodeTrusted(resource, rulesFor(resource).schema, body);
}

/** The name rule for a kind (DNS label for namespaces, DNS-1035 label for services, DNS subdomain otherwise). */
export function checkNameFor(resource: ResourceInfo): (name: string) => string[] {
  return rulesFor(resource).checkName;
}

/** Every semantic problem with a decoded object; pass `old` for an update. Empty means valid. */
export function validate(resource: ResourceInfo, obj: JsonObject, old?: JsonObject): FieldError[] {
  const rules = rulesFor(resource);
  const meta = (obj['metadata'] ?? {}) as ObjectMeta;
  const errs = validateObjectMeta(meta, { namespaced: resource.namespaced, checkName: rules.checkName });
  if (old) errs.push(...validateObjectMetaUpdate(meta, (old['metadata'] ?? {}) as ObjectMeta));
  // The same (frozen, stored) spec object as before cannot have become invalid.
  const specKept = old !== undefined && obj['spec'] !== undefined && obj['spec'] === old['spec'];
  if (specKept && rules.validateStatus) errs.push(...rules.validateStatus(obj));
  else if (rules.validate) errs.push(...rules.validate(obj));
  if (old && rules.validateUpdate) errs.push(...rules.validateUpdate(obj, old));
  return errs;
}

export type { DecodeResult, FieldValidation } from './decode.js';
export * from './field.js';
export * from './names.js';
export { objectMetaSchema, ownerReferenceSchema, type ObjectMeta, type OwnerReference } from './meta.js';
export * from './pod.js';
export * from './core.js';
export * from './apps.js';
export * from './policy.js';
