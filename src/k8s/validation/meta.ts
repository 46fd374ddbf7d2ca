// ObjectMeta: its schema and the checks every kind shares (names, labels,
// annotations, owner references, finalizers).

import { z } from 'zod';
import { bool, int64, opaqueArray, str, stringList, stringMap, time } from './common.js';
import {
  childPath,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldRequired,
  fieldTooLong,
  indexPath,
  type FieldError,
} from './field.js';
import { checkDns1123Label, checkLabelValue, checkQualifiedName } from './names.js';

export const ownerReferenceSchema = z.strictObject({
  apiVersion: str.optional(),
  kind: str.optional(),
  name: str.optional(),
  uid: str.optional(),
  controller: bool.optional(),
  blockOwnerDeletion: bool.optional(),
});

export const objectMetaSchema = z.strictObject({
  name: str.optional(),
  generateName: str.optional(),
  namespace: str.optional(),
  selfLink: str.optional(),
  uid: str.optional(),
  resourceVersion: str.optional(),
  generation: int64.optional(),
  creationTimestamp: time.optional(),
  deletionTimestamp: time.optional(),
  deletionGracePeriodSeconds: int64.optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  ownerReferences: z.array(ownerReferenceSchema).optional(),
  finalizers: stringList.optional(),
  managedFields: opaqueArray.optional(),
});

export type ObjectMeta = z.infer<typeof objectMetaSchema>;
export type OwnerReference = z.infer<typeof ownerReferenceSchema>;

const TOTAL_ANNOTATION_BYTES = 256 * 1024;

export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    for (const p of checkQualifiedName(k)) errs.push(fieldInvalid(path, k, p));
    for (const p of checkLabelValue(v)) errs.push(fieldInvalid(path, v, p));
  }
  return errs;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    // Annotation keys are case-insensitive in the apiserver's check.
    for (const p of checkQualifiedName(k.toLowerCase())) errs.push(fieldInvalid(path, k, p));
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > TOTAL_ANNOTATION_BYTES) errs.push(fieldTooLong(path, TOTAL_ANNOTATION_BYTES));
  return errs;
}

export interface MetaRules {
  namespaced: boolean;
  /** The syntax check for this kind's names (DNS subdomain for most, DNS label for namespaces, DNS-1035 for services). */
  checkName: (name: string) => string[];
}

/** Checks on metadata of a top-level object (not a pod template). */
export function validateObjectMeta(meta: ObjectMeta, rules: MetaRules, path = 'metadata'): FieldError[] {
  const errs: FieldError[] = [];
  if (meta.generateName) {
    // A generated name ends in random characters, so a trailing '-' in the prefix is fine.
    const prefix = meta.generateName.replace(/-+$/, '') || meta.generateName;
    for (const p of rules.checkName(prefix)) errs.push(fieldInvalid(childPath(path, 'generateName'), meta.generateName, p));
  }
  if (!meta.name) {
    if (!meta.generateName) errs.push(fieldRequired(childPath(path, 'name'), 'name or generateName is required'));
  } else {
    for (const p of rules.checkName(meta.name)) errs.push(fieldInvalid(childPath(path, 'name'), meta.name, p));
  }
  if (rules.namespaced) {
    if (!meta.namespace) errs.push(fieldRequired(childPath(path, 'namespace')));
    else for (const p of checkDns1123Label(meta.namespace)) errs.push(fieldInvalid(childPath(path, 'namespace'), meta.namespace, p));
  } else if (meta.namespace) {
    errs.push(fieldForbidden(childPath(path, 'namespace'), 'not allowed on this type'));
  }
  if (meta.generation !== undefined && meta.generation < 0) {
    errs.push(fieldInvalid(childPath(path, 'generation'), meta.generation, 'must be greater than or equal to 0'));
  }
  errs.push(...validateLabels(meta.labels, childPath(path, 'labels')));
  errs.push(...validateAnnotations(meta.annotations, childPath(path, 'annotations')));
  errs.push(...validateOwnerReferences(meta.ownerReferences ?? [], childPath(path, 'ownerReferences')));
  errs.push(...validateFinalizers(meta.finalizers ?? [], childPath(path, 'finalizers')));
  return errs;
}

function validateOwnerReferences(refs: OwnerReference[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  const controllers: string[] = [];
  refs.forEach((r, i) => {
    const p = indexPath(path, i);
    if (!r.apiVersion) errs.push(fieldInvalid(childPath(p, 'apiVersion'), r.apiVersion ?? '', 'version must not be empty'));
    if (!r.kind) errs.push(fieldInvalid(childPath(p, 'kind'), r.kind ?? '', 'kind must not be empty'));
    if (!r.name) errs.push(fieldInvalid(childPath(p, 'name'), r.name ?? '', 'name must not be empty'));
    if (!r.uid) errs.push(fieldInvalid(childPath(p, 'uid'), r.uid ?? '', 'uid must not be empty'));
    if (r.controller) controllers.push(`${r.kind ?? ''}/${r.name ?? ''}`);
  });
  if (controllers.length > 1) {
    errs.push(
      fieldInvalid(path, refs, `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`),
    );
  }
  return errs;
}

function validateFinalizers(finalizers: string[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  finalizers.forEach((f, i) => {
    for (const p of checkQualifiedName(f)) errs.push(fieldInvalid(path, f, p));
    if (seen.has(f)) errs.push(fieldDuplicate(indexPath(path, i), f));
    seen.add(f);
  });
  return errs;
}

/** Rules for metadata on update: identity fields cannot change. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta, path = 'metadata'): FieldError[] {
  const errs: FieldError[] = [];
  if (meta.name !== old.name) errs.push(fieldInvalid(childPath(path, 'name'), meta.name ?? '', 'field is immutable'));
  if ((meta.namespace ?? '') !== (old.namespace ?? '')) {
    errs.push(fieldInvalid(childPath(path, 'namespace'), meta.namespace ?? '', 'field is immutable'));
  }
  if (meta.uid && meta.uid !== old.uid) errs.push(fieldInvalid(childPath(path, 'uid'), meta.uid, 'field is immutable'));
  if (old.deletionTimestamp) {
    const had = new Set(old.finalizers ?? []);
    const added = (meta.finalizers ?? []).filter((f) => !had.has(f));
    if (added.length) {
      errs.push(
        fieldForbidden(
          childPath(path, 'finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
        ),
      );
    }
  }
  return errs;
}
