// The policy layer: CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and
// Kubernetes NetworkPolicy parsed, validated, resolved to identities and
// compiled into cilium_policy_<EPID> entries whose cookies name their rules.

export { policyAdmission, defaultNetworkPolicy } from './admission.js';
export { PolicyAttribution, attributionText, ruleRefText, type Attribution, type ImplicitReason, type RuleRef } from './attribution.js';
export { PolicyEngine, portProtoText, type DenyExplanation, type EntryView, type HubblePolicy, type PolicyEngineOptions, type SubjectRef } from './engine.js';
export { parsePolicy, policyLabels, entityPeers, kindOf } from './parse.js';
export { SelectorCache, CachedSelector, type SelectorSpec } from './selector-cache.js';
export { LabelSet, Selector } from './selector.js';
export { validatePolicy, re2Error, ENTITIES } from './validate.js';
export type * from './types.js';
