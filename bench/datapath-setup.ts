// The datapath bench's two-node world: a client pod on node 0, a server pod
// (ingress policy enforced, the client allowed on 8080/TCP) on node 1 or on
// node 0, and `conns` SYN frames of distinct new flows client → server.
// Shared by datapath.bench.ts and datapath-loop.ts (the callgrind loop).

import { World } from '../src/cluster/testbed.js';
import { buildTcpFrame } from '../src/packet/build.js';
import { TcpFlags } from '../src/packet/tcp.js';
import { IpProto } from '../src/packet/ipv4.js';
import { PolicyDir } from '../src/datapath/events.js';
import { putPolicyEntry } from '../src/datapath/map-writer.js';

export function setup(sameNode: boolean, conns: number) {
  let delivered = 0;
  const w = new World({ immediate: true, podReceive: () => delivered++ });
  const client = w.addPod('frontend', 0, '10.0.1.50', 12345);
  // The server enforces ingress policy (allow the client on 8080/TCP), so verdict events are emitted too.
  const server = w.addPod('backend', sameNode ? 0 : 1, sameNode ? '10.0.1.100' : '10.0.2.100', 23456, { enforce: PolicyDir.INGRESS });
  putPolicyEntry(server.policyMap, { identity: 12345, egress: false, proto: IpProto.TCP, port: 8080, cookie: 1 });
  const frames: Uint8Array[] = [];
  for (let i = 0; i < conns; i++) {
    frames.push(
      buildTcpFrame({
        srcMac: client.ep.mac,
        dstMac: client.ep.hostMac,
        srcIp: client.ip,
        dstIp: server.ip,
        srcPort: 10000 + i,
        dstPort: 8080,
        seq: 1000 + i,
        flags: TcpFlags.SYN,
        options: { mss: 1410, sackPermitted: true, windowScale: 7 },
      }),
    );
  }
  const ack = buildTcpFrame({ srcMac: client.ep.mac, dstMac: client.ep.hostMac, srcIp: client.ip, dstIp: server.ip, srcPort: 9999, dstPort: 8080, seq: 5, ack: 7, flags: TcpFlags.ACK, payload: new Uint8Array(64) });
  const syn = buildTcpFrame({ srcMac: client.ep.mac, dstMac: client.ep.hostMac, srcIp: client.ip, dstIp: server.ip, srcPort: 9999, dstPort: 8080, seq: 4, flags: TcpFlags.SYN });
  return { w, client, server, frames, ack, syn, delivered: () => delivered };
}

export function drain(w: World): void {
  for (const n of w.nodes) n.dp.events.consume(() => {});
}

export function clearCt(w: World): void {
  for (const n of w.nodes) {
    n.dp.ct4.clear();
    n.dp.ctAny4.clear();
  }
}
