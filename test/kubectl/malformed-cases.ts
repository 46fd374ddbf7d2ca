// Fifty malformed manifests and what kubectl says about each: bad YAML and
// JSON, documents that are not objects, wrong kinds and apiVersions, unknown
// fields at several depths, bad selectors, duplicate names, invalid IPs,
// ports, names and labels, wrong types, and files that mix a good document
// with a bad one. Every one must be refused with a non-zero exit and leave
// the cluster unchanged.

export interface MalformedCase {
  title: string;
  /** File name → content; a name ending in `/` is a directory of the files under it. */
  files: Record<string, string>;
  /** What to pass to -f (default: the first file). */
  target?: string;
  /** Extra arguments for `kubectl apply`. */
  args?: string[];
  /** The message (exact), or a pattern when part of it is podpath's own wording. */
  stderr: string | RegExp;
  /**
   * Why real kubectl 1.32 prints something else against podpath (or cannot be
   * compared); absent: the test also checks real kubectl prints the same.
   */
  differsFromRealKubectl?: string;
}

const pod = (name: string, spec: string, extraMeta = ''): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n${extraMeta}spec:\n${spec}`;
const container = (extra = ''): string => `  containers:\n  - name: app\n    image: nginx:1.25\n${extra}`;
const svc = (name: string, spec: string): string => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const cnp = (name: string, spec: string): string => `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const deploy = (name: string, spec: string): string => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

const NAME_HELP =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_VALUE_HELP =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const OPENAPI = 'real kubectl validates kinds against /openapi/v2, which podpath does not serve';

export const MALFORMED: MalformedCase[] = [
  // ---- YAML and JSON that do not parse ----
  {
    title: 'bad indentation (mapping values not allowed)',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: indent\n' },
    stderr: 'error: error parsing bad.yaml: error converting YAML to JSON: yaml: line 5: mapping values are not allowed in this context\n',
    differsFromRealKubectl: 'the YAML parser reports the line the problem is found on, which can differ from go-yaml by one',
  },
  {
    title: 'nested mapping on one line',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a: b\n' },
    stderr: /^error: error parsing bad\.yaml: error converting YAML to JSON: yaml: (line \d+: )?mapping values are not allowed in this context\n$/,
    differsFromRealKubectl: 'line numbers of YAML errors come from a different parser',
  },
  {
    title: 'unclosed flow sequence',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [1, 2\n' },
    stderr: /^error: error parsing bad\.yaml: error converting YAML to JSON: yaml: line \d+: did not find expected ',' or '\]'\n$/,
    differsFromRealKubectl: 'line numbers of YAML errors come from a different parser',
  },
  {
    title: 'unclosed quote',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "x\n' },
    stderr: /^error: error parsing bad\.yaml: error converting YAML to JSON: yaml: line \d+: found unexpected end of stream\n$/,
    differsFromRealKubectl: 'line numbers of YAML errors come from a different parser',
  },
  {
    title: 'tab used for indentation',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n' },
    stderr: /^error: error parsing bad\.yaml: error converting YAML to JSON: yaml: line \d+: found character that cannot start any token\n$/,
    differsFromRealKubectl: 'line numbers of YAML errors come from a different parser',
  },
  {
    title: 'unknown alias',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: *x\n' },
    stderr: /^error: error parsing bad\.yaml: error converting YAML to JSON: yaml: (line \d+: )?unknown anchor 'x' referenced\n$/,
    differsFromRealKubectl: 'go-yaml omits the line for this error',
  },
  {
    title: 'JSON with a trailing comma',
    files: { 'bad.json': '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"},}' },
    stderr: "error: error parsing bad.json: json: offset 69: invalid character '}' looking for beginning of object key string\n",
  },
  {
    title: 'a second document that does not parse (the first is not applied either)',
    files: { 'two.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first-ok\n---\nfoo: [\n' },
    stderr: /^error: error parsing two\.yaml: error converting YAML to JSON: yaml: line \d+: did not find expected node content\n$/,
    differsFromRealKubectl: 'real kubectl creates configmap/first-ok before it reads the broken document; podpath applies nothing',
  },

  // ---- documents that are not Kubernetes objects ----
  {
    title: 'a plain string',
    files: { 'bad.yaml': 'hello\n' },
    stderr: 'error: error validating "bad.yaml": error validating data: invalid object to validate; if you choose to ignore these errors, turn validation off with --validate=false\n',
  },
  {
    title: 'a list at the top',
    files: { 'bad.yaml': '- a\n- b\n' },
    stderr: 'error: error validating "bad.yaml": error validating data: invalid object to validate; if you choose to ignore these errors, turn validation off with --validate=false\n',
  },
  {
    title: 'kind missing',
    files: { 'bad.yaml': 'apiVersion: v1\nmetadata:\n  name: x\n' },
    stderr: 'error: error validating "bad.yaml": error validating data: kind not set; if you choose to ignore these errors, turn validation off with --validate=false\n',
  },
  {
    title: 'apiVersion missing',
    files: { 'bad.yaml': 'kind: Pod\nmetadata:\n  name: x\n' },
    stderr: 'error: error validating "bad.yaml": error validating data: apiVersion not set; if you choose to ignore these errors, turn validation off with --validate=false\n',
  },
  {
    title: 'apiVersion and kind missing',
    files: { 'bad.yaml': 'metadata:\n  name: x\n' },
    stderr: 'error: error validating "bad.yaml": error validating data: [apiVersion not set, kind not set]; if you choose to ignore these errors, turn validation off with --validate=false\n',
  },
  {
    title: 'apiVersion is a number',
    files: { 'bad.yaml': 'apiVersion: 1\nkind: ConfigMap\nmetadata:\n  name: x\n' },
    stderr: 'error: error validating "bad.yaml": error validating data: apiVersion isn\'t string type; if you choose to ignore these errors, turn validation off with --validate=false\n',
  },
  {
    title: 'metadata is a list',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [1]\n' },
    stderr: 'error: unable to decode "bad.yaml": json: cannot unmarshal array into Go struct field metadataOnlyObject.metadata of type v1.ObjectMeta\n',
  },
  {
    title: 'a label value YAML reads as a boolean',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    enabled: yes\n' },
    stderr: 'error: unable to decode "bad.yaml": json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string\n',
  },
  {
    title: 'no name',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    a: b\n' },
    stderr:
      'error: error when retrieving current configuration of:\nResource: "/v1, Resource=configmaps", GroupVersionKind: "/v1, Kind=ConfigMap"\nName: "", Namespace: "default"\nfrom server for: "bad.yaml": resource name may not be empty\n',
  },

  // ---- kinds and apiVersions the server does not serve ----
  {
    title: 'unknown kind',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: Foo\nmetadata:\n  name: x\n' },
    stderr: 'error: resource mapping not found for name: "x" namespace: "" from "bad.yaml": no matches for kind "Foo" in version "v1"\nensure CRDs are installed first\n',
    differsFromRealKubectl: OPENAPI,
  },
  {
    title: 'Pod in apps/v1',
    files: { 'bad.yaml': 'apiVersion: apps/v1\nkind: Pod\nmetadata:\n  name: x\n' },
    stderr: 'error: resource mapping not found for name: "x" namespace: "" from "bad.yaml": no matches for kind "Pod" in version "apps/v1"\nensure CRDs are installed first\n',
    differsFromRealKubectl: OPENAPI,
  },
  {
    title: 'Deployment in extensions/v1beta1',
    files: { 'bad.yaml': 'apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: x\n  namespace: demo\n' },
    stderr: 'error: resource mapping not found for name: "x" namespace: "demo" from "bad.yaml": no matches for kind "Deployment" in version "extensions/v1beta1"\nensure CRDs are installed first\n',
    differsFromRealKubectl: OPENAPI,
  },
  {
    title: 'CiliumNetworkPolicy in cilium.io/v1',
    files: { 'bad.yaml': 'apiVersion: cilium.io/v1\nkind: CiliumNetworkPolicy\nmetadata:\n  name: x\n' },
    stderr: 'error: resource mapping not found for name: "x" namespace: "" from "bad.yaml": no matches for kind "CiliumNetworkPolicy" in version "cilium.io/v1"\nensure CRDs are installed first\n',
    differsFromRealKubectl: OPENAPI,
  },
  {
    title: 'NetworkPolicy with a lower-case kind',
    files: { 'bad.yaml': 'apiVersion: networking.k8s.io/v1\nkind: networkpolicy\nmetadata:\n  name: x\n' },
    stderr: 'error: resource mapping not found for name: "x" namespace: "" from "bad.yaml": no matches for kind "networkpolicy" in version "networking.k8s.io/v1"\nensure CRDs are installed first\n',
    differsFromRealKubectl: OPENAPI,
  },

  // ---- unknown fields, at several depths ----
  {
    title: 'unknown top-level field',
    files: { 'bad.yaml': pod('p', container(), '') + 'spce: {}\n' },
    stderr: 'Error from server (BadRequest): error when creating "bad.yaml": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spce"\n',
  },
  {
    title: 'unknown field in a pod spec',
    files: { 'bad.yaml': pod('p', container() + '  restartPolcy: Never\n') },
    stderr: 'Error from server (BadRequest): error when creating "bad.yaml": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.restartPolcy"\n',
  },
  {
    title: 'unknown field in a container',
    files: { 'bad.yaml': pod('p', container('    imagePullPolcy: Always\n')) },
    stderr: 'Error from server (BadRequest): error when creating "bad.yaml": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagePullPolcy"\n',
  },
  {
    title: 'unknown field in a container port',
    files: { 'bad.yaml': pod('p', container('    ports:\n    - containerPort: 80\n      hostPorts: 80\n')) },
    stderr: 'Error from server (BadRequest): error when creating "bad.yaml": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].ports[0].hostPorts"\n',
  },
  {
    title: 'unknown field in a deployment pod template',
    files: {
      'bad.yaml': deploy('d', '  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n      nodeSelectr: {}\n'),
    },
    stderr: 'Error from server (BadRequest): error when creating "bad.yaml": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.nodeSelectr"\n',
  },
  {
    title: 'unknown field in a service port',
    files: { 'bad.yaml': svc('s', '  ports:\n  - port: 80\n    targetPrt: 8080\n') },
    stderr: 'Error from server (BadRequest): error when creating "bad.yaml": Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.ports[0].targetPrt"\n',
  },

  // ---- selectors ----
  {
    title: 'deployment selector does not match its template',
    files: { 'bad.yaml': deploy('d', '  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: other}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n') },
    stderr: 'The Deployment "d" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`\n',
  },
  {
    title: 'deployment with an empty selector',
    files: { 'bad.yaml': deploy('d', '  selector: {}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n') },
    stderr: /^The Deployment "d" is invalid: (\n\* )?spec\.selector: Invalid value: .*: empty selector is invalid for deployment\n/,
  },
  {
    title: 'selector with an unknown operator',
    files: {
      'bad.yaml': deploy('d', '  selector:\n    matchExpressions:\n    - {key: app, operator: Like, values: [d]}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n'),
    },
    stderr: /^The Deployment "d" is invalid: (\n\* )?spec\.selector\.matchExpressions\[0\]\.operator: (Invalid|Unsupported) value: "Like"/,
  },
  {
    title: 'service selector with an invalid label value',
    files: { 'bad.yaml': svc('s', '  selector:\n    app: "bad value"\n  ports:\n  - port: 80\n') },
    stderr: `The Service "s" is invalid: spec.selector: Invalid value: "bad value": ${LABEL_VALUE_HELP}\n`,
  },
  {
    title: 'CiliumNetworkPolicy endpointSelector with an unknown operator',
    files: { 'bad.yaml': cnp('c', '  endpointSelector:\n    matchExpressions:\n    - {key: app, operator: Like, values: [x]}\n') },
    stderr: /^The CiliumNetworkPolicy "c" is invalid: .*spec\.endpointSelector\.matchExpressions\[0\]\.operator/,
  },

  // ---- duplicate names ----
  {
    title: 'the same configmap twice in one file',
    files: { 'dup.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\ndata: {a: "1"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\ndata: {a: "2"}\n' },
    stderr: 'error: error validating "dup.yaml": configmap "dup" in namespace "default" is defined more than once; nothing was applied\n',
    differsFromRealKubectl: 'real kubectl applies both documents in turn (created, then configured); podpath refuses the file',
  },
  {
    title: 'the same pod in two files of a directory',
    files: { 'dir/a.yaml': pod('twin', container()), 'dir/b.yaml': pod('twin', container()) },
    target: 'dir',
    stderr: 'error: error validating "dir/b.yaml": pod "twin" in namespace "default" is defined more than once (also in "dir/a.yaml"); nothing was applied\n',
    differsFromRealKubectl: 'real kubectl applies both files in turn; podpath refuses the directory',
  },

  // ---- names, labels, IPs and ports ----
  {
    title: 'upper-case pod name',
    files: { 'bad.yaml': pod('Web_1', container()) },
    stderr: `The Pod "Web_1" is invalid: metadata.name: Invalid value: "Web_1": ${NAME_HELP}\n`,
  },
  {
    title: 'invalid label value',
    files: { 'bad.yaml': pod('p', container(), '  labels:\n    app: "-bad-"\n') },
    stderr: `The Pod "p" is invalid: metadata.labels: Invalid value: "-bad-": ${LABEL_VALUE_HELP}\n`,
  },
  {
    title: 'invalid label key',
    files: { 'bad.yaml': pod('p', container(), '  labels:\n    "bad key": x\n') },
    stderr: /^The Pod "p" is invalid: metadata\.labels: Invalid value: "bad key": name part must consist of alphanumeric characters/,
  },
  {
    title: 'container port 0',
    files: { 'bad.yaml': pod('p', container('    ports:\n    - containerPort: 0\n')) },
    stderr: /^The Pod "p" is invalid: spec\.containers\[0\]\.ports\[0\]\.containerPort: (Required value|Invalid value: 0: must be between 1 and 65535, inclusive)\n$/,
  },
  {
    title: 'container port above 65535',
    files: { 'bad.yaml': pod('p', container('    ports:\n    - containerPort: 70000\n')) },
    stderr: 'The Pod "p" is invalid: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive\n',
  },
  {
    title: 'service port 0',
    files: { 'bad.yaml': svc('s', '  ports:\n  - port: 0\n') },
    stderr: /^The Service "s" is invalid: .*spec\.ports\[0\]\.port: (Required value|Invalid value: 0: must be between 1 and 65535, inclusive)/,
  },
  {
    title: 'service targetPort above 65535',
    files: { 'bad.yaml': svc('s', '  ports:\n  - port: 80\n    targetPort: 70000\n') },
    stderr: 'The Service "s" is invalid: spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive\n',
  },
  {
    title: 'service clusterIP that is not an IP',
    files: { 'bad.yaml': svc('s', '  clusterIP: 10.96.0.300\n  ports:\n  - port: 80\n') },
    stderr: /^The Service "s" is invalid: .*spec\.clusterIPs?(\[0\])?: Invalid value: "10\.96\.0\.300"/,
  },
  {
    title: 'service externalIPs entry that is not an IP',
    files: { 'bad.yaml': svc('s', '  externalIPs: [not-an-ip]\n  ports:\n  - port: 80\n') },
    stderr: /^The Service "s" is invalid: spec\.externalIPs\[0\]: Invalid value: "not-an-ip": must be a valid IP address/,
  },
  {
    title: 'CiliumNetworkPolicy port out of range',
    files: { 'bad.yaml': cnp('c', '  endpointSelector: {}\n  ingress:\n  - toPorts:\n    - ports:\n      - port: "99999"\n        protocol: TCP\n') },
    stderr: /^The CiliumNetworkPolicy "c" is invalid: spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port: /,
  },
  {
    title: 'CiliumNetworkPolicy CIDR with a /33 prefix',
    files: { 'bad.yaml': cnp('c', '  endpointSelector: {}\n  egress:\n  - toCIDR: ["10.0.0.0/33"]\n') },
    stderr: /^The CiliumNetworkPolicy "c" is invalid: spec\.egress\[0\]\.toCIDR\[0\]: /,
  },
  {
    title: 'NetworkPolicy ipBlock that is not a CIDR',
    files: { 'bad.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.1\n' },
    stderr: /^The NetworkPolicy "np" is invalid: spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: Invalid value: "10\.0\.0\.1"/,
  },

  // ---- wrong types ----
  {
    title: 'configmap data that is a number',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: 1\n' },
    stderr: 'Error from server (BadRequest): error when creating "bad.yaml": ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number 1 into Go struct field ConfigMap.data.a of type string\n',
  },
  {
    title: 'containerPort given as a string',
    files: { 'bad.yaml': pod('p', container('    ports:\n    - containerPort: "80"\n')) },
    stderr: 'Error from server (BadRequest): error when creating "bad.yaml": Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Pod.spec.containers[0].ports[0].containerPort of type integer\n',
  },

  // ---- required values, namespaces, and files mixing good and bad ----
  {
    title: 'pod without containers',
    files: { 'bad.yaml': pod('p', '  containers: []\n') },
    stderr: 'The Pod "p" is invalid: spec.containers: Required value\n',
  },
  {
    title: 'a namespace that does not exist',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: nowhere\n' },
    stderr: 'Error from server (NotFound): error when creating "bad.yaml": namespaces "nowhere" not found\n',
  },
  {
    title: 'namespace in the file differs from -n',
    files: { 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: demo\n' },
    args: ['-n', 'default'],
    stderr: 'error: the namespace from the provided object "demo" does not match the namespace "default". You must pass \'--namespace=demo\' to perform this operation.\n',
  },
  {
    title: 'a good configmap and a bad pod in one file (neither is applied)',
    files: { 'mixed.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mixed-ok\n---\n' + pod('p', '  containers: []\n') },
    stderr: 'The Pod "p" is invalid: spec.containers: Required value\n',
    differsFromRealKubectl: 'real kubectl creates configmap/mixed-ok and then fails on the pod; podpath applies nothing',
  },
];
