// NetworkPolicy and Cilium's CRDs: metadata and top-level shape only. The
// policy language itself is validated by the policy engine through the
// apiserver's admission hook, which reports field paths the same way.

import { z } from 'zod';
import { opaqueObject, stringMap, typeMeta } from './common.js';
import { fieldRequired, type FieldError } from './field.js';
import { objectMetaSchema } from './meta.js';

export const networkPolicySchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: opaqueObject.optional(),
  status: opaqueObject.optional(),
});
export type NetworkPolicy = z.infer<typeof networkPolicySchema>;

export const ciliumNetworkPolicySchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: opaqueObject.optional(),
  specs: z.array(opaqueObject).optional(),
  status: opaqueObject.optional(),
});
export type CiliumNetworkPolicy = z.infer<typeof ciliumNetworkPolicySchema>;
export type CiliumClusterwideNetworkPolicy = CiliumNetworkPolicy;

export function validateCiliumPolicyShape(p: CiliumNetworkPolicy): FieldError[] {
  return p.spec === undefined && p.specs === undefined ? [fieldRequired('spec', 'one of `spec` or `specs` must be set')] : [];
}

export const ciliumEndpointSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  status: opaqueObject.optional(),
});
export type CiliumEndpoint = z.infer<typeof ciliumEndpointSchema>;

export const ciliumIdentitySchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  'security-labels': stringMap.optional(),
});
export type CiliumIdentity = z.infer<typeof ciliumIdentitySchema>;

export function validateCiliumIdentity(id: CiliumIdentity): FieldError[] {
  return id['security-labels'] === undefined ? [fieldRequired('security-labels')] : [];
}

export const ciliumNodeSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: opaqueObject.optional(),
  status: opaqueObject.optional(),
});
export type CiliumNode = z.infer<typeof ciliumNodeSchema>;

export function validateCiliumNode(n: CiliumNode): FieldError[] {
  return n.spec === undefined ? [fieldRequired('spec')] : [];
}
