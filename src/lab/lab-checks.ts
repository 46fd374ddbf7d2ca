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
    // Step 4: with socket LB only the connect() translation names the Service.
    { command: /hubble observe --from-pod demo\/\$FRONTEND_POD --to-service demo\/backend --last 5$/, output: [new RegExp(`demo/frontend-${POD} \\(ID:\\d+\\) <> demo/backend:8080 \\(world\\) pre-xlate-fwd TRACED \\(TCP\\)`)] },
    // Step 7: trace events toward the backend.
    { command: /hubble observe --to-pod demo\/backend --type trace --last 10$/, output: [/ -> demo\/backend-[a-z0-9-]+:8080 \(ID:\d+\) to-(overlay|endpoint) FORWARDED /] },
    // Step 9 (corrected): the frontend's CT entries, with their lifetime and flags.
    { command: /cilium bpf ct list global \| grep "\$FRONTEND_IP"$/, output: [/^TCP OUT 10\.244\.\d+\.\d+:\d+ -> 10\.244\.\d+\.\d+:8080 expires=\d+ Packets=0 Bytes=0 RxFlagsSeen=0x[0-9a-f]{2} LastRxReport=\d+ TxFlagsSeen=0x[0-9a-f]{2} LastTxReport=\d+ Flags=0x[0-9a-f]{4} \[ [A-Za-z ]*SeenNonSyn[A-Za-z ]* \] RevNAT=0 SourceSecurityID=\d+ IfIndex=0 BackendID=0 $/m] },
    // Step 10: the replies, from the backend to the frontend, delivered by conntrack.
    { command: /hubble observe --type trace --from-pod demo\/backend --to-pod demo\/frontend$/, output: [/demo\/frontend-[a-z0-9-]+:\d+ \(ID:\d+\) <- demo\/backend-[a-z0-9-]+:8080 \(ID:\d+\) to-endpoint FORWARDED \(TCP Flags: SYN, ACK\)/] },
    // Step 13: the drop, with its reason.
    { command: /hubble observe --verdict DROPPED --from-pod demo\/\$FRONTEND_POD$/, output: [/demo\/frontend-[a-z0-9-]+:\d+ \(ID:\d+\) <> demo\/backend-[a-z0-9-]+:8080 \(ID:\d+\) Policy denied by denylist DROPPED \(TCP Flags: SYN\)/] },
    // Step 14: podpath's policy trace, from the datapath's verdict.
    { command: /cilium policy trace --src-k8s-pod/, output: [/^Final verdict: DENIED$/m] },
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
    { command: /hubble observe --protocol http --from-pod demo\/\$FRONTEND_POD$/, output: [/ demo\/frontend-[a-z0-9-]+:\d+ \(ID:\d+\) -> demo\/backend-[a-z0-9-]+:8080 \(ID:\d+\) http-request FORWARDED \(HTTP\/1\.1 GET http:\/\/backend:8080\/api\/users\)$/m] },
    { command: /^kubectl apply -f l7-visibility-policy\.yaml$/, output: [/ciliumnetworkpolicy\.cilium\.io\/l7-visibility created/] },
    { command: /^kubectl apply -f deny-policy\.yaml$/, output: [/ciliumnetworkpolicy\.cilium\.io\/frontend-deny-backend created/] },
    { command: /^kubectl delete -f deny-policy\.yaml$/, output: [/ciliumnetworkpolicy\.cilium\.io "frontend-deny-backend" deleted/] },
  ],
};
