// The objects a fresh kind + Cilium cluster has before anyone applies
// anything: the Nodes, the `kubernetes` Service, kube-system's static
// control-plane pods, CoreDNS behind kube-dns, the cilium DaemonSet and
// operator, Hubble Relay and UI; and the lab's demo namespace. Shapes follow
// what `kubectl get -o yaml` shows on kind v0.24 with Cilium 1.17 installed
// by Helm, trimmed to the fields people read.

import type { ResourceInfo } from '../../k8s/resources.js';
import type { KubeObject } from '../../k8s/types.js';
import { cidrToString, ipv4ToString } from '../../packet/ip.js';
import type { ClusterConfig, NodeLayout } from '../config.js';
import { R } from './common.js';

export const KUBERNETES_VERSION = 'v1.31.0';
export const COREDNS_IMAGE = 'registry.k8s.io/coredns/coredns:v1.11.1';
export const HUBBLE_UI_VERSION = 'v0.13.2';
export const DEMO_NAMESPACE = 'demo';
export const DEMO_BACKEND_IMAGE = 'ghcr.io/podpath/demo-backend:1.0';
export const DEMO_FRONTEND_IMAGE = 'ghcr.io/podpath/demo-frontend:1.0';
export const DEMO_DATABASE_IMAGE = 'postgres:16-alpine';

export interface BootstrapObject {
  resource: ResourceInfo;
  obj: KubeObject;
}

/** The n-th address of the service CIDR (1: `kubernetes`, 10: kube-dns). */
export function serviceAddress(serviceCidr: { addr: number }, n: number): string {
  return ipv4ToString((serviceCidr.addr + n) >>> 0);
}

export function nodeObject(cfg: ClusterConfig, n: NodeLayout, now: string): KubeObject {
  const controlPlane = n.role === 'control-plane';
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': n.name,
    'kubernetes.io/os': 'linux',
  };
  if (controlPlane) {
    labels['node-role.kubernetes.io/control-plane'] = '';
    labels['node.kubernetes.io/exclude-from-external-load-balancers'] = '';
  }
  const cidr = cidrToString(n.podCidr.addr, n.podCidr.prefixLen);
  const resources = { cpu: '8', 'ephemeral-storage': '102626232Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '16331468Ki', pods: '110' };
  const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels,
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      podCIDR: cidr,
      podCIDRs: [cidr],
      providerID: `kind://docker/${cfg.name}/${n.name}`,
      ...(controlPlane ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {}),
    },
    status: {
      addresses: [
        { type: 'InternalIP', address: ipv4ToString(n.ip) },
        { type: 'Hostname', address: n.name },
      ],
      allocatable: resources,
      capacity: resources,
      conditions: [
        cond('NetworkUnavailable', 'False', 'CiliumIsUp', 'Cilium is running on this node'),
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: stableUuid(`boot:${n.name}`),
        containerRuntimeVersion: 'containerd://1.7.18',
        kernelVersion: '6.8.0-45-generic',
        kubeProxyVersion: '',
        kubeletVersion: KUBERNETES_VERSION,
        machineID: stableUuid(`machine:${n.name}`).replace(/-/g, ''),
        operatingSystem: 'linux',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        systemUUID: stableUuid(`system:${n.name}`),
      },
    },
  };
}

/** A UUID-shaped string derived from text (stable across restarts). */
function stableUuid(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  let out = '';
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < text.length; i++) {
      h1 = Math.imul(h1 ^ text.charCodeAt(i), 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ (text.charCodeAt(i) + round), 0x85ebca6b) >>> 0;
    }
    out += ((h1 ^ h2) >>> 0).toString(16).padStart(8, '0');
  }
  return `${out.slice(0, 8)}-${out.slice(8, 12)}-${out.slice(12, 16)}-${out.slice(16, 20)}-${out.slice(20, 32)}`;
}

function meta(name: string, namespace: string, labels?: Record<string, string>, annotations?: Record<string, string>): KubeObject['metadata'] {
  return { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) };
}

function serviceAccount(name: string, namespace = 'kube-system'): BootstrapObject {
  return { resource: R.serviceAccounts, obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name, namespace) } };
}

const CONTROL_PLANE_TOLERATION = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

/** kubeadm's static pods on the control-plane node (host network, owned by the Node). */
function staticPods(cfg: ClusterConfig, cp: NodeLayout, nodeUid: string): BootstrapObject[] {
  const ip = ipv4ToString(cp.ip);
  const make = (component: string, image: string, command: string[], port?: number): BootstrapObject => ({
    resource: R.pods,
    obj: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${component}-${cp.name}`,
        namespace: 'kube-system',
        labels: { component, tier: 'control-plane' },
        annotations: {
          'kubernetes.io/config.source': 'file',
          ...(component === 'kube-apiserver' ? { 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': `${ip}:6443` } : {}),
        },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: cp.name, uid: nodeUid, controller: true }],
      },
      spec: {
        nodeName: cp.name,
        hostNetwork: true,
        priorityClassName: 'system-node-critical',
        tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
        containers: [{ name: component, image, command, ...(port ? { ports: [{ containerPort: port, name: 'probe-port', protocol: 'TCP' }] } : {}) }],
      },
    },
  });
  return [
    make('etcd', 'registry.k8s.io/etcd:3.5.15-0', ['etcd', `--advertise-client-urls=https://${ip}:2379`, '--data-dir=/var/lib/etcd'], 2381),
    make('kube-apiserver', `registry.k8s.io/kube-apiserver:${KUBERNETES_VERSION}`, ['kube-apiserver', `--advertise-address=${ip}`, `--service-cluster-ip-range=${cfg.serviceCIDR}`], 6443),
    make('kube-controller-manager', `registry.k8s.io/kube-controller-manager:${KUBERNETES_VERSION}`, ['kube-controller-manager', `--cluster-cidr=${cfg.podCIDR}`, '--allocate-node-cidrs=true'], 10257),
    make('kube-scheduler', `registry.k8s.io/kube-scheduler:${KUBERNETES_VERSION}`, ['kube-scheduler', '--bind-address=127.0.0.1'], 10259),
  ];
}

export function kubernetesService(serviceCidr: { addr: number }, cp: NodeLayout): BootstrapObject[] {
  const ip = serviceAddress(serviceCidr, 1);
  return [
    {
      resource: R.services,
      obj: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('kubernetes', 'default', { component: 'apiserver', provider: 'kubernetes' }),
        spec: { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], sessionAffinity: 'None', type: 'ClusterIP' },
      },
    },
    {
      resource: R.endpointSlices,
      obj: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: meta('kubernetes', 'default', { 'kubernetes.io/service-name': 'kubernetes' }),
        addressType: 'IPv4',
        endpoints: [{ addresses: [ipv4ToString(cp.ip)], conditions: { ready: true } }],
        ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
      },
    },
    {
      // The apiserver keeps its own Service's Endpoints (the Service has no selector).
      resource: R.endpoints,
      obj: {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: meta('kubernetes', 'default', { 'endpointslice.kubernetes.io/skip-mirror': 'true' }),
        subsets: [{ addresses: [{ ip: ipv4ToString(cp.ip) }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }],
      },
    },
  ];
}

const COREFILE = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

function coreDns(serviceCidr: { addr: number }): BootstrapObject[] {
  const labels = { 'k8s-app': 'kube-dns' };
  const dnsIp = serviceAddress(serviceCidr, 10);
  return [
    serviceAccount('coredns'),
    { resource: R.configMaps, obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('coredns', 'kube-system'), data: { Corefile: COREFILE } } },
    {
      resource: R.deployments,
      obj: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta('coredns', 'kube-system', labels),
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' } },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: 'coredns',
              priorityClassName: 'system-cluster-critical',
              dnsPolicy: 'Default',
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, CONTROL_PLANE_TOLERATION],
              containers: [
                {
                  name: 'coredns',
                  image: COREDNS_IMAGE,
                  args: ['-conf', '/etc/coredns/Corefile'],
                  ports: [
                    { name: 'dns', containerPort: 53, protocol: 'UDP' },
                    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                    { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
                  ],
                  resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
                  livenessProbe: { httpGet: { path: '/health', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 60, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5 },
                  readinessProbe: { httpGet: { path: '/ready', port: 8181, scheme: 'HTTP' } },
                  volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
                },
              ],
              volumes: [{ name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } }],
            },
          },
        },
      },
    },
    {
      resource: R.services,
      obj: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('kube-dns', 'kube-system', { ...labels, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' }, { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' }),
        spec: {
          clusterIP: dnsIp,
          clusterIPs: [dnsIp],
          selector: labels,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
            { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
          ],
        },
      },
    },
  ];
}

function cilium(cfg: ClusterConfig): BootstrapObject[] {
  const v = cfg.cilium.version;
  const image = `quay.io/cilium/cilium:v${v}`;
  const agentLabels = { 'k8s-app': 'cilium', 'app.kubernetes.io/name': 'cilium-agent', 'app.kubernetes.io/part-of': 'cilium' };
  const operatorLabels = { 'io.cilium/app': 'operator', name: 'cilium-operator', 'app.kubernetes.io/name': 'cilium-operator', 'app.kubernetes.io/part-of': 'cilium' };
  const init = (name: string, command: string[]) => ({ name, image, command });
  return [
    serviceAccount('cilium'),
    serviceAccount('cilium-operator'),
    {
      resource: R.configMaps,
      obj: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: meta('cilium-config', 'kube-system'),
        data: {
          'cluster-name': cfg.cilium.clusterName,
          'cluster-id': '0',
          'identity-allocation-mode': 'crd',
          ipam: 'kubernetes',
          'routing-mode': 'tunnel',
          'tunnel-protocol': 'vxlan',
          'enable-policy': cfg.cilium.policyEnforcementMode,
          'policy-audit-mode': String(cfg.cilium.policyAuditMode),
          'bpf-lb-sock': String(cfg.cilium.socketLB),
          'kube-proxy-replacement': 'false',
          'monitor-aggregation': cfg.cilium.monitorAggregation,
          'enable-hubble': 'true',
          'hubble-listen-address': ':4244',
          'enable-ipv4': 'true',
          'enable-ipv6': 'false',
          'cluster-pool-ipv4-cidr': cfg.podCIDR,
        },
      },
    },
    {
      resource: R.daemonSets,
      obj: {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: meta('cilium', 'kube-system', agentLabels),
        spec: {
          selector: { matchLabels: { 'k8s-app': 'cilium' } },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
          template: {
            metadata: { labels: agentLabels, annotations: { 'kubectl.kubernetes.io/default-container': 'cilium-agent' } },
            spec: {
              serviceAccountName: 'cilium',
              hostNetwork: true,
              priorityClassName: 'system-node-critical',
              restartPolicy: 'Always',
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              tolerations: [{ operator: 'Exists' }],
              initContainers: [
                init('config', ['cilium-dbg', 'build-config']),
                init('mount-cgroup', ['sh', '-ec', 'cp /usr/bin/cilium-mount /hostbin/cilium-mount']),
                init('apply-sysctl-overwrites', ['sh', '-ec', 'cp /usr/bin/cilium-sysctlfix /hostbin/cilium-sysctlfix']),
                init('mount-bpf-fs', ['/bin/bash', '-c', '--', 'mount | grep "/sys/fs/bpf type bpf" || mount -t bpf bpf /sys/fs/bpf']),
                init('clean-cilium-state', ['/init-container.sh']),
                init('install-cni-binaries', ['/install-plugin.sh']),
              ],
              containers: [
                {
                  name: 'cilium-agent',
                  image,
                  command: ['cilium-agent'],
                  args: ['--config-dir=/tmp/cilium/config-map'],
                  ports: [
                    { name: 'peer-service', containerPort: 4244, hostPort: 4244, protocol: 'TCP' },
                    { name: 'prometheus', containerPort: 9962, hostPort: 9962, protocol: 'TCP' },
                  ],
                  readinessProbe: { httpGet: { host: '127.0.0.1', path: '/healthz', port: 9879, scheme: 'HTTP' }, periodSeconds: 30 },
                  securityContext: { privileged: true },
                },
              ],
            },
          },
        },
      },
    },
    {
      resource: R.deployments,
      obj: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta('cilium-operator', 'kube-system', operatorLabels),
        spec: {
          replicas: 1,
          selector: { matchLabels: { 'io.cilium/app': 'operator', name: 'cilium-operator' } },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%', maxSurge: '25%' } },
          template: {
            metadata: { labels: operatorLabels },
            spec: {
              serviceAccountName: 'cilium-operator',
              hostNetwork: true,
              priorityClassName: 'system-cluster-critical',
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              tolerations: [{ operator: 'Exists' }],
              containers: [
                {
                  name: 'cilium-operator',
                  image: `quay.io/cilium/operator-generic:v${v}`,
                  command: ['cilium-operator-generic'],
                  args: ['--config-dir=/tmp/cilium/config-map', '--debug=$(CILIUM_DEBUG)'],
                  ports: [{ name: 'prometheus', containerPort: 9963, hostPort: 9963, protocol: 'TCP' }],
                },
              ],
            },
          },
        },
      },
    },
  ];
}

function hubble(cfg: ClusterConfig): BootstrapObject[] {
  const v = cfg.cilium.version;
  const relayLabels = { 'k8s-app': 'hubble-relay', 'app.kubernetes.io/name': 'hubble-relay', 'app.kubernetes.io/part-of': 'cilium' };
  const uiLabels = { 'k8s-app': 'hubble-ui', 'app.kubernetes.io/name': 'hubble-ui', 'app.kubernetes.io/part-of': 'cilium' };
  const deployment = (name: string, labels: Record<string, string>, containers: unknown[]): BootstrapObject => ({
    resource: R.deployments,
    obj: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name, 'kube-system', labels),
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'k8s-app': name } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
        template: { metadata: { labels }, spec: { serviceAccountName: name, nodeSelector: { 'kubernetes.io/os': 'linux' }, containers } },
      },
    },
  });
  return [
    serviceAccount('hubble-relay'),
    serviceAccount('hubble-ui'),
    deployment('hubble-relay', relayLabels, [
      { name: 'hubble-relay', image: `quay.io/cilium/hubble-relay:v${v}`, command: ['hubble-relay'], args: ['serve'], ports: [{ name: 'grpc', containerPort: 4245, protocol: 'TCP' }] },
    ]),
    deployment('hubble-ui', uiLabels, [
      { name: 'frontend', image: `quay.io/cilium/hubble-ui:${HUBBLE_UI_VERSION}`, ports: [{ name: 'http', containerPort: 8081, protocol: 'TCP' }] },
      { name: 'backend', image: `quay.io/cilium/hubble-ui-backend:${HUBBLE_UI_VERSION}`, ports: [{ name: 'grpc', containerPort: 8090, protocol: 'TCP' }] },
    ]),
    {
      resource: R.services,
      obj: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('hubble-relay', 'kube-system', relayLabels),
        spec: { selector: { 'k8s-app': 'hubble-relay' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 'grpc' }] },
      },
    },
    {
      resource: R.services,
      obj: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('hubble-ui', 'kube-system', uiLabels),
        spec: { selector: { 'k8s-app': 'hubble-ui' }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8081 }] },
      },
    },
  ];
}

/**
 * Everything a fresh cluster has, in creation order. Static pods name their
 * Node's uid, so they are produced separately once the Node exists.
 */
export function systemObjects(cfg: ClusterConfig, serviceCidr: { addr: number }, layout: NodeLayout[]): BootstrapObject[] {
  return [...kubernetesService(serviceCidr, layout[0]!), ...coreDns(serviceCidr), ...cilium(cfg), ...hubble(cfg)];
}

export function controlPlanePods(cfg: ClusterConfig, layout: NodeLayout[], controlPlaneUid: string): BootstrapObject[] {
  return staticPods(cfg, layout[0]!, controlPlaneUid);
}

/** Nodes for the demo's tiers (the `kubernetes.io/hostname` each tier's pods are pinned to). */
export interface DemoPlacement {
  frontend?: string;
  backend?: string;
  database?: string;
}

/** The lab's demo app in `demo`: frontend (2 replicas), backend (2, Service backend:8080), database (1, Service database:5432). */
export function demoObjects(placement: DemoPlacement = {}): BootstrapObject[] {
  const ns = DEMO_NAMESPACE;
  const deployment = (name: keyof DemoPlacement, replicas: number, image: string, port: number, portName: string): BootstrapObject => ({
    resource: R.deployments,
    obj: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name, ns, { app: name }),
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            ...(placement[name] ? { nodeSelector: { 'kubernetes.io/hostname': placement[name] } } : {}),
            containers: [{ name, image, ports: [{ name: portName, containerPort: port, protocol: 'TCP' }] }],
          },
        },
      },
    },
  });
  const service = (name: string, port: number, portName: string): BootstrapObject => ({
    resource: R.services,
    obj: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(name, ns, { app: name }),
      spec: { selector: { app: name }, ports: [{ name: portName, port, protocol: 'TCP', targetPort: portName }] },
    },
  });
  return [
    { resource: R.namespaces, obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
    deployment('frontend', 2, DEMO_FRONTEND_IMAGE, 80, 'http'),
    deployment('backend', 2, DEMO_BACKEND_IMAGE, 8080, 'http'),
    service('backend', 8080, 'http'),
    deployment('database', 1, DEMO_DATABASE_IMAGE, 5432, 'postgres'),
    service('database', 5432, 'postgres'),
  ];
}
