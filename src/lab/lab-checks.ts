// What each lab command must produce, in the shapes the lab (and the reference)
// describe. A command without an entry must simply exit 0 (or, when it is left
// running and stopped with Ctrl-C, anything).

export interface LabExpectation {
  /** Which command this is about (tested against the command text). */
  command: RegExp;
  rc?: number;
  output?: RegExp[];
  notOutput?: RegExp[];
}

const POD = '[a-z0-9]+(?:-[a-z0-9]+)*';

export const LAB_CHECKS: Record<string, LabExpectation[]> = {
  '01': [
    {
      command: /^kubectl get pods -n demo -o wide$/,
      output: [/^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES$/m, new RegExp(`^frontend-${POD} +1/1 +Running +0 `, 'm'), new RegExp(`^backend-${POD} +1/1 +Running `, 'm'), new RegExp(`^database-${POD} +1/1 +Running `, 'm')],
    },
    { command: /^echo "Frontend Pod: /, output: [/^Frontend Pod: frontend-[a-z0-9]+-[a-z0-9]{5}$/m] },
    { command: /^echo "Backend Service IP: /, output: [/^Backend Service IP: 10\.96\.\d+\.\d+$/m] },
    { command: /cilium endpoint list \| grep frontend$/, output: [/k8s:app=frontend/] },
    { command: /curl -s http:\/\/backend:8080$/, output: [/"service":\s*"backend"/] },
    { command: /curl -s http:\/\/backend:8080\/api\/users$/, output: [/\[\{"id":1,/] },
    // Where the lab is wrong about Cilium 1.17, podpath answers as Cilium does (see the lab's notes).
    { command: /cilium config \| grep tunnel$/, rc: 1 },
    { command: /cilium policy get \$\(kubectl get cep/, rc: 1, output: [/Cannot get policy: .*getPolicyNotFound/] },
    { command: /grep -A 10 "ingress-enforcement"$/, rc: 1 },
    { command: /cilium bpf ct list global \| grep -A 2 "demo"$/, rc: 1 },
    { command: /cilium metrics list \| grep -i drop$/, rc: 1 },
    { command: /cilium metrics list \| grep -i forward$/, output: [/^cilium_forward_count_total +direction="(EGRESS|INGRESS)" +\d+\.000000$/m] },
    { command: /cilium bpf metrics list$/, output: [/^REASON +DIRECTION +PACKETS +BYTES +LINE +FILE$/m] },
    { command: /curl -v --max-time 5 http:\/\/backend:8080$/, rc: 28, output: [/curl: \(28\) /] },
    { command: /^kubectl apply -f l7-visibility-policy\.yaml$/, output: [/ciliumnetworkpolicy\.cilium\.io\/l7-visibility created/] },
    { command: /^kubectl apply -f deny-policy\.yaml$/, output: [/ciliumnetworkpolicy\.cilium\.io\/frontend-egress-lockdown created/] },
    { command: /^kubectl delete -f deny-policy\.yaml$/, output: [/ciliumnetworkpolicy\.cilium\.io "frontend-egress-lockdown" deleted/] },
  ],
};
