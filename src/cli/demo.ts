// The packet-flow demo: one TCP request/response through socket LB, egress
// policy, conntrack, VXLAN and the backend's ingress policy, reported the way
// Cilium's own tools show it.

import { World, ip } from '../cluster/testbed.js';
import { IpProto } from '../packet/ipv4.js';
import { PolicyDir } from '../datapath/events.js';
import { putPolicyEntry } from '../datapath/map-writer.js';
import { drainEvents, formatMonitorLine } from '../datapath/monitor.js';
import { formatCtList } from '../datapath/dump.js';

export function runDemo(): string {
  const out: string[] = [];
  const w = new World();
  const frontend = w.addPod('demo/frontend', 0, '10.0.1.50', 12345);
  const backend = w.addPod('demo/backend', 1, '10.0.2.100', 23456, { enforce: PolicyDir.INGRESS });
  // The backend allows the frontend on 8080/TCP, nothing else (an ingress policy).
  putPolicyEntry(backend.policyMap, { identity: frontend.identity, egress: false, proto: IpProto.TCP, port: 8080, cookie: 1 });
  w.addService('10.96.100.10', 8080, [{ addr: '10.0.2.100', port: 8080 }]);
  backend.stack.tcpListen(8080, (s) => {
    s.onData = () => {
      const body = '[{"id":1,"name":"alice"},{"id":2,"name":"bob"}]';
      s.write(new TextEncoder().encode(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`));
      s.end();
    };
  });
  let response = '';
  const sock = frontend.stack.tcpConnect(ip('10.96.100.10'), 8080);
  sock.onConnect = () => sock.write(new TextEncoder().encode('GET /api/users HTTP/1.1\r\nhost: backend:8080\r\n\r\n'));
  sock.onData = (b) => (response += new TextDecoder().decode(b));
  sock.onEnd = () => sock.end();
  w.settle(5_000);

  out.push('podpath demo: frontend (10.0.1.50, identity 12345) on kind-worker → service backend 10.96.100.10:8080');
  out.push('              → backend (10.0.2.100, identity 23456) on kind-worker2, VXLAN between the nodes', '');
  out.push('$ curl -s http://10.96.100.10:8080/api/users', response.split('\r\n\r\n')[1] ?? '(no response)', '');
  for (const n of w.nodes) {
    const k = n.kernel;
    out.push(`$ cilium monitor   # on ${n.dp.cfg.nodeName}`);
    for (const ev of drainEvents(n.dp.events)) out.push(formatMonitorLine(ev, { ifName: (i) => k.deviceName(i) }));
    out.push('', `$ cilium bpf ct list global   # on ${n.dp.cfg.nodeName}`);
    out.push(formatCtList(n.dp.ct4, n.dp.ctAny4).trimEnd(), '');
  }
  out.push('Next: `npm test` runs the datapath tests; `npm run bench` measures packets per second.', '');
  return out.join('\n');
}
