import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../../src/util/clock.js';
import type { SockAddrCtx, SockHooks, SocketError, TcpSocket } from '../../../src/net/stack/index.js';
import { TestNet, ip } from './link.js';

const SVC_DNS = ip('10.96.0.10');
const DNS_BACKEND = ip('10.0.2.5');
const SVC_WEB = ip('10.96.0.50');
const WEB_BACKEND = ip('10.0.2.100');

/** A one-service-per-address socket LB, the shape of Cilium's cil_sock4_* programs. */
function serviceLb(calls: { hook: string; ctx: SockAddrCtx }[]): SockHooks {
  const fwd = new Map([
    [`${SVC_DNS}:53`, [DNS_BACKEND, 53]],
    [`${SVC_WEB}:8080`, [WEB_BACKEND, 80]],
  ]);
  const rev = new Map([...fwd].map(([svc, [addr, port]]) => [`${addr}:${port}`, svc.split(':').map(Number)]));
  const translate = (hook: string, table: Map<string, number[]>) => (ctx: SockAddrCtx) => {
    calls.push({ hook, ctx: { ...ctx } });
    const to = table.get(`${ctx.userIp4}:${ctx.userPort}`);
    if (to) {
      ctx.userIp4 = to[0]!;
      ctx.userPort = to[1]!;
    }
    return 0;
  };
  return {
    connect4: translate('connect4', fwd),
    sendmsg4: translate('sendmsg4', fwd),
    recvmsg4: translate('recvmsg4', rev),
    getpeername4: translate('getpeername4', rev),
  };
}

test('socket LB for DNS: connect4 sends 10.96.0.10:53 to 10.0.2.5:53 and recvmsg4 maps the reply back', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const calls: { hook: string; ctx: SockAddrCtx }[] = [];
  const pod = net.host('pod', '10.0.1.10', { sockHooks: serviceLb(calls) });
  const coredns = net.host('coredns', '10.0.2.5');
  const dns = coredns.udpBind(53);
  dns.onMessage = (q, fromIp, fromPort) => dns.sendTo(fromIp, fromPort, new Uint8Array([...q, 0xaa]));

  const sock = pod.udpBind();
  assert.equal(sock.connect(SVC_DNS, 53), 0);
  assert.equal(sock.remoteIp, DNS_BACKEND);
  assert.deepEqual(sock.peerName(), { ip: SVC_DNS, port: 53 });
  const answers: [number[], number, number][] = [];
  sock.onMessage = (b, fromIp, fromPort) => answers.push([[...b], fromIp, fromPort]);
  sock.send(new Uint8Array([1, 2]));
  sock.send(new Uint8Array([3, 4]));
  clock.runUntilIdle();

  assert.deepEqual(answers, [
    [[1, 2, 0xaa], SVC_DNS, 53],
    [[3, 4, 0xaa], SVC_DNS, 53],
  ]);
  // On the wire only the backend address appears.
  const udp = net.sent.filter((f) => f.d.udp);
  assert.ok(udp.length === 4);
  assert.ok(udp.every((f) => f.d.ip!.dst !== SVC_DNS && f.d.ip!.src !== SVC_DNS));
  assert.ok(net.framesFrom('pod').every((f) => f.d.ip!.dst === DNS_BACKEND && f.d.udp!.dstPort === 53));

  // connect4 once, no sendmsg4 on a connected socket, recvmsg4 per datagram.
  const hooks = calls.map((c) => c.hook);
  assert.deepEqual(hooks.filter((h) => h === 'connect4'), ['connect4']);
  assert.equal(hooks.filter((h) => h === 'sendmsg4').length, 0);
  assert.equal(hooks.filter((h) => h === 'recvmsg4').length, 2);
  const c4 = calls.find((c) => c.hook === 'connect4')!.ctx;
  assert.deepEqual(c4, {
    userIp4: SVC_DNS,
    userPort: 53,
    protocol: 17,
    socketCookie: sock.cookie,
    netnsCookie: pod.netnsCookie,
    srcIp4: pod.ip,
  });
  assert.deepEqual(
    calls.filter((c) => c.hook === 'recvmsg4').map((c) => [c.ctx.userIp4, c.ctx.userPort]),
    [
      [DNS_BACKEND, 53],
      [DNS_BACKEND, 53],
    ],
  );
});

test('unconnected UDP: sendmsg4 runs for every datagram', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const calls: { hook: string; ctx: SockAddrCtx }[] = [];
  const pod = net.host('pod', '10.0.1.10', { sockHooks: serviceLb(calls) });
  const coredns = net.host('coredns', '10.0.2.5');
  const dns = coredns.udpBind(53);
  dns.onMessage = (q, fromIp, fromPort) => dns.sendTo(fromIp, fromPort, q);
  const sock = pod.udpBind();
  const from: number[] = [];
  sock.onMessage = (_b, fromIp) => from.push(fromIp);
  for (let i = 0; i < 3; i++) sock.sendTo(SVC_DNS, 53, new Uint8Array([i]));
  clock.runUntilIdle();
  assert.equal(calls.filter((c) => c.hook === 'sendmsg4').length, 3);
  assert.deepEqual(from, [SVC_DNS, SVC_DNS, SVC_DNS]);
});

test('TCP to a service: the SYN goes to the backend, getpeername reports the service', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const calls: { hook: string; ctx: SockAddrCtx }[] = [];
  const pod = net.host('pod', '10.0.1.10', { sockHooks: serviceLb(calls) });
  const web = net.host('web', '10.0.2.100');
  let accepted: TcpSocket | undefined;
  web.tcpListen(80, (s) => (accepted = s));
  const c = pod.tcpConnect(SVC_WEB, 8080);
  let connected = false;
  c.onConnect = () => (connected = true);
  assert.ok(clock.runUntil(() => connected && accepted !== undefined));
  assert.equal(c.remoteIp, WEB_BACKEND);
  assert.equal(c.remotePort, 80);
  assert.deepEqual(c.peerName(), { ip: SVC_WEB, port: 8080 });
  assert.equal(accepted!.remoteIp, pod.ip);
  const [syn] = net.framesFrom('pod', (d) => !!d.tcp);
  assert.equal(syn!.d.ip!.dst, WEB_BACKEND);
  assert.equal(syn!.d.tcp!.dstPort, 80);
  const c4 = calls.filter((x) => x.hook === 'connect4');
  assert.equal(c4.length, 1);
  assert.equal(c4[0]!.ctx.protocol, 6);
  assert.equal(c4[0]!.ctx.socketCookie, c.cookie);
});

test('connect4 returning -EHOSTUNREACH fails connect with "No route to host" and sends nothing', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const pod = net.host('pod', '10.0.1.10', { sockHooks: { connect4: () => -113 } });
  const c = pod.tcpConnect(SVC_WEB, 8080);
  let err: SocketError | undefined;
  let closed = 0;
  c.onClose = (e) => {
    closed++;
    err = e;
  };
  assert.equal(closed, 0, 'reported after tcpConnect returns, never inside it');
  clock.runUntilIdle();
  assert.equal(closed, 1);
  assert.equal(err?.code, 'EHOSTUNREACH');
  assert.equal(err?.errno, 113);
  assert.equal(err?.message, 'No route to host');
  assert.equal(c.state, 'CLOSED');
  assert.equal(net.sent.length, 0);

  const u = pod.udpBind();
  assert.equal(u.connect(SVC_DNS, 53), -113);
  assert.equal(u.connected, false);
});

test('socket cookies are unique per socket and the netns cookie is shared by the stack', () => {
  const clock = new VirtualClock();
  const net = new TestNet(clock);
  const seen: SockAddrCtx[] = [];
  const pod = net.host('pod', '10.0.1.10', { sockHooks: { connect4: (ctx) => (seen.push({ ...ctx }), 0) } });
  const other = net.host('other', '10.0.1.11');
  const a = pod.tcpConnect(ip('10.0.2.1'), 1);
  const b = pod.tcpConnect(ip('10.0.2.1'), 1);
  const u = pod.udpBind();
  u.connect(ip('10.0.2.1'), 2);
  assert.equal(new Set([a.cookie, b.cookie, u.cookie]).size, 3);
  assert.deepEqual(
    seen.map((c) => c.socketCookie),
    [a.cookie, b.cookie, u.cookie],
  );
  assert.ok(seen.every((c) => c.netnsCookie === pod.netnsCookie));
  assert.notEqual(pod.netnsCookie, other.netnsCookie);
  clock.runUntilIdle(1);
});
