// Where the policy engine plugs into the agent. For each endpoint the agent
// asks a PolicyComputer which directions are enforced and which entries its
// cilium_policy_<EPID> map holds, writes exactly those entries, and compiles
// the enforced directions into the endpoint (POLICY_VERDICT_LOG_FILTER). The
// default computer knows no rules: with enforcement mode `default` or `never`
// nothing is enforced and each direction gets Cilium's allow-all entry; with
// `always` both directions are enforced and only the host may reach the pod
// (allow-localhost=policy, Cilium's behaviour when enforcement is always).

import type { PolicyEntrySpec } from '../datapath/map-writer.js';
import { ReservedIdentity } from '../datapath/identity.js';

export type PolicyEnforcementMode = 'default' | 'always' | 'never';

/** What a policy engine may know about an endpoint. */
export interface EndpointPolicyContext {
  id: number;
  namespace: string;
  podName: string;
  identity: number;
  /** Security labels, `k8s:app=frontend`. */
  labels: readonly string[];
  namedPorts: readonly { name: string; port: number; protocol: string }[];
}

export interface EndpointPolicy {
  ingressEnforced: boolean;
  egressEnforced: boolean;
  /** Entries for cilium_policy_<EPID>; the map holds exactly these after regeneration. */
  entries: PolicyEntrySpec[];
  /** Bumped by the engine when rules change (`cilium policy get` Revision). */
  revision?: number;
}

/** What an incremental policy engine tells the agent between compute() calls. */
export interface PolicyUpdateListener {
  /** Endpoints with these security identities need their policy maps regenerated. */
  regenerate(identities: ReadonlySet<number>): void;
  /** The CIDR prefixes with local identities changed: re-read prefixIdentities() into the ipcache. */
  prefixesChanged(): void;
}

/** A CIDR prefix named by a policy, with its node-local identity (16777217+), for cilium_ipcache. */
export interface PrefixIdentity {
  addr: number;
  prefixLen: number;
  identity: number;
}

export interface PolicyComputer {
  compute(ep: EndpointPolicyContext, mode: PolicyEnforcementMode): EndpointPolicy;
  /** Incremental engines: be told which endpoints to regenerate (otherwise the agent regenerates all on identity changes). */
  subscribe?(listener: PolicyUpdateListener): () => void;
  /** CIDR identities the ipcache must carry for CIDR rules to match. */
  prefixIdentities?(): readonly PrefixIdentity[];
}

/** No rules loaded: allow-all where nothing is enforced; with `always`, deny but for the host. */
export class NoRulesPolicy implements PolicyComputer {
  compute(_ep: EndpointPolicyContext, mode: PolicyEnforcementMode): EndpointPolicy {
    if (mode === 'always') {
      return {
        ingressEnforced: true,
        egressEnforced: true,
        entries: [{ identity: ReservedIdentity.HOST, egress: false, proto: 0, port: 0 }],
      };
    }
    return {
      ingressEnforced: false,
      egressEnforced: false,
      entries: [
        { identity: 0, egress: false, proto: 0, port: 0 },
        { identity: 0, egress: true, proto: 0, port: 0 },
      ],
    };
  }
}
