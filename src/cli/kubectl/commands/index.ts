// The commands podpath's kubectl has, with their flags and usage lines.

import type { KubectlContext } from '../context.js';
import type { FlagSpec } from '../flags.js';
import { APPLY_FLAGS, CREATE_FLAGS, runApply, runCreate } from './apply.js';
import { DELETE_FLAGS, runDelete } from './delete.js';
import { DESCRIBE_FLAGS, runDescribe } from './describe.js';
import { GET_FLAGS, runGet } from './get.js';
import {
  API_RESOURCES_FLAGS,
  CONFIG_VIEW_FLAGS,
  runApiResources,
  runApiVersions,
  runConfigView,
  runCurrentContext,
  runGetContexts,
  runVersion,
  VERSION_FLAGS,
} from './info.js';
import { LABEL_FLAGS, runAnnotate, runLabel } from './label.js';
import { EXEC_FLAGS, LOGS_FLAGS, RUN_FLAGS, runExec, runLogs, runRun } from './pods.js';
import { PORT_FORWARD_FLAGS, runPortForward } from './port-forward.js';
import { ROLLOUT_STATUS_FLAGS, runRolloutStatus, runScale, runWait, SCALE_FLAGS, WAIT_FLAGS } from './workloads.js';

export interface CommandSpec {
  name: string;
  aliases?: string[];
  short: string;
  usage: string;
  flags: FlagSpec[];
  run(ctx: KubectlContext): Promise<number>;
  subcommands?: CommandSpec[];
  hidden?: boolean;
}

const noRun = (): Promise<number> => Promise.resolve(0);

export const COMMANDS: CommandSpec[] = [
  { name: 'get', short: 'Display one or many resources', usage: 'kubectl get [(-o|--output=)json|yaml|name|wide|custom-columns=...|jsonpath=...] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]', flags: GET_FLAGS, run: runGet },
  { name: 'describe', short: 'Show details of a specific resource or group of resources', usage: 'kubectl describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME)', flags: DESCRIBE_FLAGS, run: runDescribe },
  { name: 'apply', short: 'Apply a configuration to a resource by file name or stdin', usage: 'kubectl apply (-f FILENAME | -k DIRECTORY)', flags: APPLY_FLAGS, run: runApply },
  { name: 'create', short: 'Create a resource from a file or from stdin', usage: 'kubectl create -f FILENAME', flags: CREATE_FLAGS, run: runCreate },
  { name: 'delete', short: 'Delete resources by file names, stdin, resources and names, or by resources and label selector', usage: 'kubectl delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)])', flags: DELETE_FLAGS, run: runDelete },
  { name: 'label', short: 'Update the labels on a resource', usage: 'kubectl label [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]', flags: LABEL_FLAGS, run: runLabel },
  { name: 'annotate', short: 'Update the annotations on a resource', usage: 'kubectl annotate [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]', flags: LABEL_FLAGS, run: runAnnotate },
  { name: 'scale', short: 'Set a new size for a deployment or replica set', usage: 'kubectl scale [--resource-version=version] [--current-replicas=count] --replicas=COUNT (-f FILENAME | TYPE NAME)', flags: SCALE_FLAGS, run: runScale },
  {
    name: 'rollout',
    short: 'Manage the rollout of a resource',
    usage: 'kubectl rollout SUBCOMMAND',
    flags: [],
    run: noRun,
    subcommands: [{ name: 'status', short: 'Show the status of the rollout', usage: 'kubectl rollout status (TYPE NAME | TYPE/NAME) [flags]', flags: ROLLOUT_STATUS_FLAGS, run: runRolloutStatus }],
  },
  { name: 'wait', short: 'Experimental: Wait for a specific condition on one or many resources', usage: "kubectl wait ([-f FILENAME] | resource.group/resource.name | resource.group [(-l label | --all)]) [--for=create|--for=delete|--for condition=available|--for=jsonpath='{}'[=value]]", flags: WAIT_FLAGS, run: runWait },
  { name: 'logs', short: 'Print the logs for a container in a pod', usage: 'kubectl logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]', flags: LOGS_FLAGS, run: runLogs },
  { name: 'exec', short: 'Execute a command in a container', usage: 'kubectl exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]', flags: EXEC_FLAGS, run: runExec },
  { name: 'port-forward', short: 'Forward one or more local ports to a pod', usage: 'kubectl port-forward TYPE/NAME [options] [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]', flags: PORT_FORWARD_FLAGS, run: runPortForward },
  { name: 'run', short: 'Run a particular image on the cluster', usage: 'kubectl run NAME --image=image [--env="key=value"] [--port=port] [--dry-run=server|client] [--overrides=inline-json] [--command] -- [COMMAND] [args...]', flags: RUN_FLAGS, run: runRun },
  {
    name: 'config',
    short: 'Modify kubeconfig files',
    usage: 'kubectl config SUBCOMMAND',
    flags: [],
    run: noRun,
    subcommands: [
      { name: 'view', short: 'Display merged kubeconfig settings or a specified kubeconfig file', usage: 'kubectl config view [flags]', flags: CONFIG_VIEW_FLAGS, run: runConfigView },
      { name: 'current-context', short: 'Display the current-context', usage: 'kubectl config current-context [options]', flags: [], run: runCurrentContext },
      { name: 'get-contexts', short: 'Describe one or many contexts', usage: 'kubectl config get-contexts [(-o|--output=)name)] [flags]', flags: [{ name: 'output', short: 'o', type: 'string' }, { name: 'no-headers', type: 'bool' }], run: runGetContexts },
    ],
  },
  { name: 'version', short: 'Print the client and server version information', usage: 'kubectl version [flags]', flags: VERSION_FLAGS, run: runVersion },
  { name: 'api-resources', short: 'Print the supported API resources on the server', usage: 'kubectl api-resources [flags]', flags: API_RESOURCES_FLAGS, run: runApiResources },
  { name: 'api-versions', short: 'Print the supported API versions on the server, in the form of "group/version"', usage: 'kubectl api-versions', flags: [], run: runApiVersions },
];

/** Every command real kubectl has (for "Did you mean this?" and "not implemented here"). */
export const KUBECTL_COMMAND_NAMES = [
  'create', 'expose', 'run', 'set', 'explain', 'get', 'edit', 'delete', 'rollout', 'scale', 'autoscale', 'certificate', 'cluster-info', 'top',
  'cordon', 'uncordon', 'drain', 'taint', 'describe', 'logs', 'attach', 'exec', 'port-forward', 'proxy', 'cp', 'auth', 'debug', 'events', 'diff',
  'apply', 'patch', 'replace', 'wait', 'kustomize', 'label', 'annotate', 'completion', 'alpha', 'api-resources', 'api-versions', 'config',
  'plugin', 'version', 'options', 'help',
];
