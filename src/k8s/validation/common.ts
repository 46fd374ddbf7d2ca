// Zod building blocks shared by the per-kind schemas. Schemas check shape and
// JSON types only (the "decode" stage, answered with 400 BadRequest); every
// scalar is optional here because "required" is a semantic rule answered with
// 422 Invalid, as the apiserver does.

import { z } from 'zod';
import { isQuantity, isRfc3339, QUANTITY_MESSAGE } from './names.js';

export const str = z.string();
export const bool = z.boolean();
export const int32 = z.int().min(-2147483648).max(2147483647);
export const int64 = z.int();
export const stringList = z.array(z.string());
export const stringMap = z.record(z.string(), z.string());
/** Kubernetes IntOrString: a port number or a port name, a count or a percentage. */
export const intOrString = z.union([int32, z.string()]);
/** Content that a later stage (or another engineer's validator) interprets. */
export const opaqueObject = z.record(z.string(), z.unknown());
export const opaqueArray = z.array(z.unknown());

export const quantity = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  if (!isQuantity(String(v))) ctx.addIssue({ code: 'custom', message: QUANTITY_MESSAGE });
});
export const quantityMap = z.record(z.string(), quantity);

export const time = z.string().superRefine((v, ctx) => {
  if (!isRfc3339(v)) {
    ctx.addIssue({ code: 'custom', message: `parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": not an RFC 3339 time` });
  }
});

/** Every object's envelope fields; kinds add theirs to this. */
export const typeMeta = { apiVersion: str.optional(), kind: str.optional() };

export const condition = z.strictObject({
  type: str.optional(),
  status: str.optional(),
  observedGeneration: int64.optional(),
  lastProbeTime: time.optional(),
  lastHeartbeatTime: time.optional(),
  lastTransitionTime: time.optional(),
  lastUpdateTime: time.optional(),
  reason: str.optional(),
  message: str.optional(),
});
