// apps/v1 workloads: Deployment, ReplicaSet, DaemonSet.

import { z } from 'zod';
import { bool, condition, int32, int64, intOrString, str, stringList, stringMap, typeMeta } from './common.js';
import { childPath, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from './field.js';
import { objectMetaSchema } from './meta.js';
import { podTemplateSchema, validatePodTemplate, type PodTemplateSpec } from './pod.js';
import { selectorFromObject, validateLabelSelectorObject } from '../selectors.js';
import { canonicalJson } from '../json.js';

export const labelSelectorSchema = z.strictObject({
  matchLabels: stringMap.optional(),
  matchExpressions: z.array(z.strictObject({ key: str.optional(), operator: str.optional(), values: stringList.optional() })).optional(),
});
export type LabelSelectorSpec = z.infer<typeof labelSelectorSchema>;

const rollingUpdate = z.strictObject({ maxUnavailable: intOrString.optional(), maxSurge: intOrString.optional() });

export const deploymentSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: z
    .strictObject({
      replicas: int32.optional(),
      selector: labelSelectorSchema.optional(),
      template: podTemplateSchema.optional(),
      strategy: z.strictObject({ type: str.optional(), rollingUpdate: rollingUpdate.optional() }).optional(),
      minReadySeconds: int32.optional(),
      revisionHistoryLimit: int32.optional(),
      paused: bool.optional(),
      progressDeadlineSeconds: int32.optional(),
    })
    .optional(),
  status: z
    .strictObject({
      observedGeneration: int64.optional(),
      replicas: int32.optional(),
      updatedReplicas: int32.optional(),
      readyReplicas: int32.optional(),
      availableReplicas: int32.optional(),
      unavailableReplicas: int32.optional(),
      terminatingReplicas: int32.optional(),
      conditions: z.array(condition).optional(),
      collisionCount: int32.optional(),
    })
    .optional(),
});
export type Deployment = z.infer<typeof deploymentSchema>;

export const replicaSetSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: z
    .strictObject({
      replicas: int32.optional(),
      minReadySeconds: int32.optional(),
      selector: labelSelectorSchema.optional(),
      template: podTemplateSchema.optional(),
    })
    .optional(),
  status: z
    .strictObject({
      replicas: int32.optional(),
      fullyLabeledReplicas: int32.optional(),
      readyReplicas: int32.optional(),
      availableReplicas: int32.optional(),
      terminatingReplicas: int32.optional(),
      observedGeneration: int64.optional(),
      conditions: z.array(condition).optional(),
    })
    .optional(),
});
export type ReplicaSet = z.infer<typeof replicaSetSchema>;

export const daemonSetSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: z
    .strictObject({
      selector: labelSelectorSchema.optional(),
      template: podTemplateSchema.optional(),
      updateStrategy: z.strictObject({ type: str.optional(), rollingUpdate: rollingUpdate.optional() }).optional(),
      minReadySeconds: int32.optional(),
      revisionHistoryLimit: int32.optional(),
    })
    .optional(),
  status: z
    .strictObject({
      currentNumberScheduled: int32.optional(),
      numberMisscheduled: int32.optional(),
      desiredNumberScheduled: int32.optional(),
      numberReady: int32.optional(),
      observedGeneration: int64.optional(),
      updatedNumberScheduled: int32.optional(),
      numberAvailable: int32.optional(),
      numberUnavailable: int32.optional(),
      collisionCount: int32.optional(),
      conditions: z.array(condition).optional(),
    })
    .optional(),
});
export type DaemonSet = z.infer<typeof daemonSetSchema>;

function nonNegative(path: string, v: number | undefined): FieldError[] {
  return v !== undefined && v < 0 ? [fieldInvalid(path, v, 'must be greater than or equal to 0')] : [];
}

/** Selector + template checks shared by every workload: the selector must select the pods it makes. */
function validateSelectorAndTemplate(
  selector: LabelSelectorSpec | undefined,
  template: PodTemplateSpec | undefined,
  kindWord: string,
): FieldError[] {
  const errs: FieldError[] = [];
  if (!selector) {
    errs.push(fieldRequired('spec.selector'));
  } else {
    const sel = selector;
    errs.push(...validateLabelSelectorObject(sel, 'spec.selector'));
    if (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length) {
      errs.push(fieldInvalid('spec.selector', selector, `empty selector is invalid for ${kindWord}`));
    }
  }
  errs.push(...validatePodTemplate(template, 'spec.template'));
  if (selector && template) {
    const labels = template.metadata?.labels ?? {};
    if (!selectorFromObject(selector).matches(labels)) {
      errs.push(fieldInvalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    }
  }
  const restart = template?.spec?.restartPolicy;
  if (restart !== undefined && restart !== 'Always') {
    errs.push(fieldNotSupported('spec.template.spec.restartPolicy', restart, ['Always']));
  }
  return errs;
}

/** maxSurge/maxUnavailable: a non-negative count or a percentage string. */
function validateIntOrPercent(v: number | string | undefined, path: string): FieldError[] {
  if (v === undefined) return [];
  if (typeof v === 'number') return nonNegative(path, v);
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    return [
      fieldInvalid(
        path,
        v,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ),
    ];
  }
  return [];
}

function isZero(v: number | string | undefined): boolean {
  return v === 0 || v === '0%';
}

function validateRollingUpdate(
  ru: { maxUnavailable?: number | string | undefined; maxSurge?: number | string | undefined },
  path: string,
): FieldError[] {
  const errs = [
    ...validateIntOrPercent(ru.maxUnavailable, childPath(path, 'maxUnavailable')),
    ...validateIntOrPercent(ru.maxSurge, childPath(path, 'maxSurge')),
  ];
  if (typeof ru.maxUnavailable === 'string' && /^\d+%$/.test(ru.maxUnavailable) && parseInt(ru.maxUnavailable, 10) > 100) {
    errs.push(fieldInvalid(childPath(path, 'maxUnavailable'), ru.maxUnavailable, 'must not be greater than 100%'));
  }
  if (isZero(ru.maxUnavailable) && isZero(ru.maxSurge)) {
    errs.push(fieldInvalid(childPath(path, 'maxUnavailable'), ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
  return errs;
}

export function validateDeployment(d: Deployment): FieldError[] {
  const spec = d.spec ?? {};
  const errs: FieldError[] = [...nonNegative('spec.replicas', spec.replicas)];
  errs.push(...validateSelectorAndTemplate(spec.selector, spec.template, 'deployment'));
  const strategy = spec.strategy;
  if (strategy) {
    const type = strategy.type ?? 'RollingUpdate';
    if (type !== 'Recreate' && type !== 'RollingUpdate') {
      errs.push(fieldNotSupported('spec.strategy.type', type, ['Recreate', 'RollingUpdate']));
    }
    if (type === 'Recreate' && strategy.rollingUpdate) {
      errs.push(fieldForbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
    }
    if (type === 'RollingUpdate' && strategy.rollingUpdate) {
      errs.push(...validateRollingUpdate(strategy.rollingUpdate, 'spec.strategy.rollingUpdate'));
    }
  }
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  if (spec.progressDeadlineSeconds !== undefined) {
    errs.push(...nonNegative('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(fieldInvalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  return errs;
}

export function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  const spec = rs.spec ?? {};
  return [
    ...nonNegative('spec.replicas', spec.replicas),
    ...nonNegative('spec.minReadySeconds', spec.minReadySeconds),
    ...validateSelectorAndTemplate(spec.selector, spec.template, 'replicaset'),
  ];
}

export function validateDaemonSet(ds: DaemonSet): FieldError[] {
  const spec = ds.spec ?? {};
  const errs: FieldError[] = [...validateSelectorAndTemplate(spec.selector, spec.template, 'daemonset')];
  const strategy = spec.updateStrategy;
  if (strategy) {
    const type = strategy.type ?? 'RollingUpdate';
    if (type !== 'OnDelete' && type !== 'RollingUpdate') {
      errs.push(fieldNotSupported('spec.updateStrategy.type', type, ['OnDelete', 'RollingUpdate']));
    }
    if (type === 'RollingUpdate' && strategy.rollingUpdate) {
      errs.push(...validateRollingUpdate(strategy.rollingUpdate, 'spec.updateStrategy.rollingUpdate'));
    }
  }
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  return errs;
}

/** Workload selectors are immutable in apps/v1. */
export function validateSelectorUpdate(
  obj: { spec?: { selector?: LabelSelectorSpec | undefined } | undefined },
  old: { spec?: { selector?: LabelSelectorSpec | undefined } | undefined },
): FieldError[] {
  const now = obj.spec?.selector;
  const before = old.spec?.selector;
  return canonicalJson(now ?? null) === canonicalJson(before ?? null) ? [] : [fieldInvalid('spec.selector', now ?? null, 'field is immutable')];
}

/** autoscaling/v1 Scale: the view `kubectl scale` reads and writes through the `scale` subresource. */
export const scaleSchema = z.strictObject({
  ...typeMeta,
  metadata: objectMetaSchema.optional(),
  spec: z.strictObject({ replicas: int32.optional() }).optional(),
  status: z.strictObject({ replicas: int32.optional(), selector: str.optional() }).optional(),
});
export type Scale = z.infer<typeof scaleSchema>;

export function validateScale(scale: Scale): FieldError[] {
  return nonNegative('spec.replicas', scale.spec?.replicas);
}
