// UDP sockets with the socket-LB hook points Linux gives cgroup programs:
// connect4 on connect(), sendmsg4 per unconnected sendto(), recvmsg4 on every
// received datagram. A connected socket only hears its peer and learns of
// ICMP errors (ECONNREFUSED after a port unreachable); an unconnected one
// does not, as in Linux without IP_RECVERR.

import { Errno, socketError, type SocketError } from './errno.js';

/** Result of running a sock_addr hook: rc 0 to proceed (with the possibly rewritten address) or -errno. */
export interface HookResult {
  rc: number;
  ip: number;
  port: number;
}

export type SockAddrHookName = 'connect4' | 'sendmsg4' | 'recvmsg4' | 'getpeername4';

export interface UdpHost {
  readonly localIp: number;
  sendUdp(srcPort: number, dstIp: number, dstPort: number, payload: Uint8Array): number;
  runSockHook(hook: SockAddrHookName, cookie: number, protocol: number, ip: number, port: number): HookResult;
  unregisterUdp(sock: UdpSocket): void;
  guard(fn: () => void): void;
}

const UDP_PROTO = 17;

function noop(): void {}

export class UdpSocket {
  /** The address datagrams go to after connect() (the backend when a hook rewrote it). */
  remoteIp = 0;
  remotePort = 0;
  connected = false;
  closed = false;

  /** A datagram; fromIp/fromPort are what recvmsg4 made of the source (the service address for a service reply). */
  onMessage: (bytes: Uint8Array, fromIp: number, fromPort: number) => void = noop;
  /** An ICMP error for a connected socket (ECONNREFUSED after port unreachable). */
  onError: (err: SocketError) => void = noop;

  constructor(
    private readonly host: UdpHost,
    readonly cookie: number,
    readonly localIp: number,
    readonly localPort: number,
  ) {}

  /** sendto(): runs sendmsg4 for this datagram. Returns bytes sent or a negative errno. */
  sendTo(ip: number, port: number, bytes: Uint8Array): number {
    if (this.closed) return -Errno.EINVAL;
    let result = 0;
    this.host.guard(() => {
      const hook = this.host.runSockHook('sendmsg4', this.cookie, UDP_PROTO, ip, port);
      result = hook.rc < 0 ? hook.rc : this.host.sendUdp(this.localPort, hook.ip, hook.port, bytes);
    });
    return result;
  }

  /** connect(): runs connect4 once; the socket then sends to and hears only the (rewritten) peer. 0 or -errno. */
  connect(ip: number, port: number): number {
    if (this.closed) return -Errno.EINVAL;
    let result = 0;
    this.host.guard(() => {
      const hook = this.host.runSockHook('connect4', this.cookie, UDP_PROTO, ip, port);
      if (hook.rc < 0) {
        result = hook.rc;
        return;
      }
      this.remoteIp = hook.ip;
      this.remotePort = hook.port;
      this.connected = true;
    });
    return result;
  }

  /** send() on a connected socket: no hook runs (connect4 already chose the peer). Bytes sent or -errno. */
  send(bytes: Uint8Array): number {
    if (this.closed) return -Errno.EINVAL;
    if (!this.connected) return -Errno.EDESTADDRREQ;
    let result = 0;
    this.host.guard(() => {
      result = this.host.sendUdp(this.localPort, this.remoteIp, this.remotePort, bytes);
    });
    return result;
  }

  /** getpeername() of a connected socket, through getpeername4. */
  peerName(): { ip: number; port: number } | null {
    if (!this.connected) return null;
    const hook = this.host.runSockHook('getpeername4', this.cookie, UDP_PROTO, this.remoteIp, this.remotePort);
    return hook.rc < 0 ? { ip: this.remoteIp, port: this.remotePort } : { ip: hook.ip, port: hook.port };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unregisterUdp(this);
  }

  /** Would this socket take a datagram from ip:port? A connected socket only hears its peer. */
  accepts(ip: number, port: number): boolean {
    return !this.connected || (ip === this.remoteIp && port === this.remotePort);
  }

  /** Called by the stack with a datagram for our port; payload is a view the stack will not keep. */
  deliver(payload: Uint8Array, srcIp: number, srcPort: number): void {
    const hook = this.host.runSockHook('recvmsg4', this.cookie, UDP_PROTO, srcIp, srcPort);
    // recvmsg4 cannot fail a receive; a negative verdict just leaves the address alone.
    if (hook.rc < 0) this.onMessage(payload.slice(), srcIp, srcPort);
    else this.onMessage(payload.slice(), hook.ip, hook.port);
  }

  /** An ICMP error quoting a datagram we sent to dstIp:dstPort (udp_err). */
  icmpError(errno: number, fatal: boolean, dstIp: number, dstPort: number): void {
    if (!fatal || !this.connected || dstIp !== this.remoteIp || dstPort !== this.remotePort) return;
    this.onError(socketError(errno));
  }
}
