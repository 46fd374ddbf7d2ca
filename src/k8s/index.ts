// The Kubernetes layer of podpath: resource registry, validation, selectors,
// patches, the SQLite store, the apiserver and its client.

export * from './resources.js';
export * from './status.js';
export * from './selectors.js';
export * from './patch.js';
export * from './types.js';
export * from './store.js';
export * from './apiserver.js';
export * from './client.js';
export * from './discovery.js';
export * from './tables.js';
export { decodeProtobufObject, PROTOBUF_MEDIA_TYPE } from './protobuf.js';
export { applyDefaults, defaultPodSpec } from './defaults.js';
export { canonicalJson, jsonEqual } from './json.js';
export * from './validation/index.js';
