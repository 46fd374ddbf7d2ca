// The shapes every layer above the apiserver handles: objects, lists, watch events.

import type { ObjectMeta } from './validation/meta.js';
import type { Status } from './status.js';

export type { ObjectMeta } from './validation/meta.js';

/** Any served object. Kind-specific types (Pod, Service, ...) come from the validation schemas. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ListMeta {
  resourceVersion: string;
  continue?: string;
}

export interface KubeList<T = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** BOOKMARK carries only a resourceVersion (and, after initial events, the `k8s.io/initial-events-end` annotation). */
export type WatchEvent<T = KubeObject> =
  | { type: WatchEventType; object: T }
  | { type: 'BOOKMARK'; object: KubeObject }
  | { type: 'ERROR'; object: Status };

/** Every request answers with the object or a Kubernetes Status; never a thrown error. */
export type ApiResult<T> = { ok: true; obj: T; warnings?: string[] } | { ok: false; status: Status };
