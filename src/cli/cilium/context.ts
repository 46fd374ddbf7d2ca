// What `cilium-dbg` inside an agent pod sees: that node's agent and datapath
// only, as in a real cluster.

import type { Agent } from '../../agent/agent.js';
import type { NodeDatapath } from '../../datapath/sim/node-datapath.js';
import type { DatapathEvent } from '../../datapath/monitor.js';

export interface CiliumClusterSettings {
  clusterName: string;
  policyEnforcementMode: 'default' | 'always' | 'never';
  policyAuditMode: boolean;
  socketLB: boolean;
  monitorAggregation: string;
  kubernetesVersion: string;
}

export interface PolicyRepositoryView {
  /** Rules as `cilium policy get` prints them, optionally only those whose labels match. */
  rules(labels?: string[]): unknown[];
  revision: number;
}

export interface CiliumNodeContext {
  nodeName: string;
  agent: Agent;
  dp: NodeDatapath;
  /** Device name for an ifindex (lxc…, cilium_vxlan). */
  deviceName(ifindex: number): string | undefined;
  settings: CiliumClusterSettings;
  policy?: PolicyRepositoryView;
  /** Live datapath events of this node (for `cilium monitor`); returns the unsubscribe. */
  subscribeEvents?(listener: (ev: DatapathEvent) => void): () => void;
  /** Hubble flows buffered on this node (for `cilium status`). */
  hubbleFlows?(): { current: number; max: number };
  /** `policy trace ARGS`: a packet traced through the real programs on a fork of the maps (src/trace). */
  policyTrace?(args: string[]): { code: number; stdout: string; stderr: string };
}
