// Per-policy audit mode: a policy annotated `podpath.io/mode: audit` is
// evaluated but never enforced. The policy engine leaves audited rules out of
// every endpoint's real policy and computes, for endpoints an audited policy
// selects, the policy with them ("audit variant"). This reconciler keeps that
// variant in a second map per endpoint (cilium_policy_audit_<EPID>) and hands
// it to the endpoint's bpf_lxc, which consults it only when it exists: a new
// flow the real map allows and the audit map would drop gets one more
// policy-verdict event marked audited, which Hubble shows as AUDIT beside the
// real verdict (and names the audited policy from the entry's cookie).

import type { ClusterNode } from '../cluster/runtime.js';
import type { Reconciler } from '../cluster/controllers/common.js';
import { R } from '../cluster/controllers/common.js';
import type { StoreEvent } from '../k8s/store.js';
import type { EndpointInfo } from '../agent/agent.js';
import type { PolicyEnforcementMode } from '../agent/policy.js';
import { LpmTrieMap } from '../bpf/lpm.js';
import { putPolicyEntry } from '../datapath/map-writer.js';
import { localMapName, policyMapSpec } from '../datapath/maps.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { KubeObject } from '../k8s/types.js';

export const auditMapName = (epId: number): string => localMapName('cilium_policy_audit_', epId);

interface Placed {
  node: ClusterNode;
  map: LpmTrieMap;
}

export class AuditPolicyMaps implements Reconciler {
  readonly name = 'audit-policy-maps';
  readonly watches = [R.ciliumEndpoints];
  /** Audit maps in place, by `node/EPID`. */
  private readonly maps = new Map<string, Placed>();
  private readonly dirtyIds = new Set<number>();
  private readonly dirtyPods = new Set<string>();
  private all = true;

  constructor(
    private readonly nodes: readonly ClusterNode[],
    private readonly engine: PolicyEngine,
    private readonly mode: PolicyEnforcementMode,
    private readonly podOf: (namespace: string, name: string) => KubeObject | undefined,
  ) {
    engine.subscribe({
      regenerate: (ids) => {
        for (const id of ids) this.dirtyIds.add(id);
      },
      prefixesChanged: () => {},
    });
  }

  /** A CiliumEndpoint changed: its endpoint was created, relabelled or regenerated. */
  observe(e: StoreEvent): void {
    this.dirtyPods.add(`${e.object.metadata.namespace}/${e.object.metadata.name}`);
  }

  hasWork(): boolean {
    if (!this.engine.auditRuleCount && !this.maps.size) {
      // Nothing audited anywhere: nothing to do, whatever changed.
      this.dirtyIds.clear();
      this.dirtyPods.clear();
      this.all = false;
      return false;
    }
    return this.all || this.dirtyIds.size > 0 || this.dirtyPods.size > 0;
  }

  run(): void {
    const all = this.all || (this.engine.auditRuleCount > 0 && this.maps.size === 0 && this.dirtyIds.size > 0);
    const ids = new Set(this.dirtyIds);
    const pods = new Set(this.dirtyPods);
    this.all = false;
    this.dirtyIds.clear();
    this.dirtyPods.clear();
    for (const node of this.nodes) {
      let infos: Map<number, EndpointInfo> | undefined;
      for (const [id, e] of node.kernel.endpoints) {
        const key = `${node.name}/${id}`;
        infos ??= new Map(node.agent.endpointList().map((x) => [x.id, x]));
        const info = infos.get(id);
        const podKey = info?.namespace ? `${info.namespace}/${info.podName}` : '';
        if (!all && !ids.has(e.cfg.identity) && !pods.has(podKey) && !(this.maps.has(key) && !info)) continue;
        this.place(node, id, info);
      }
      // Endpoints gone since.
      for (const [key, p] of this.maps) {
        if (p.node !== node) continue;
        const id = Number(key.slice(key.lastIndexOf('/') + 1));
        if (!node.kernel.endpoints.has(id)) {
          node.dp.removeMap(p.map.spec.name);
          this.maps.delete(key);
        }
      }
    }
  }

  private place(node: ClusterNode, id: number, info: EndpointInfo | undefined): void {
    const key = `${node.name}/${id}`;
    const e = node.kernel.endpoints.get(id);
    const have = this.maps.get(key);
    const policy = e && info && !info.isHost ? this.engine.auditPolicy(this.context(info), this.mode) : undefined;
    if (!policy || !e) {
      if (e) e.prog.auditPolicyMap = null;
      if (have) {
        node.dp.removeMap(have.map.spec.name);
        this.maps.delete(key);
      }
      return;
    }
    const map = have?.map ?? new LpmTrieMap({ ...policyMapSpec(id, e.prog.policyMap.spec.maxEntries), name: auditMapName(id) });
    map.clear();
    for (const entry of policy.entries) putPolicyEntry(map, entry);
    if (!have) {
      node.dp.addMap(map);
      this.maps.set(key, { node, map });
    }
    e.prog.auditPolicyMap = map;
  }

  private context(info: EndpointInfo): { id: number; namespace: string; podName: string; identity: number; labels: readonly string[]; namedPorts: { name: string; port: number; protocol: string }[] } {
    const pod = info.namespace && info.podName ? this.podOf(info.namespace, info.podName) : undefined;
    const namedPorts: { name: string; port: number; protocol: string }[] = [];
    for (const c of ((pod?.['spec'] as { containers?: { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[] } | undefined)?.containers ?? [])) {
      for (const p of c.ports ?? []) if (p.name && p.containerPort) namedPorts.push({ name: p.name, port: p.containerPort, protocol: p.protocol ?? 'TCP' });
    }
    return { id: info.id, namespace: info.namespace ?? '', podName: info.podName ?? '', identity: info.identity, labels: info.labels, namedPorts };
  }
}
