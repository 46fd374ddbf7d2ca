// Shared shapes: the socket-LB hook contract and the stack's counters.

/**
 * What Cilium's cgroup sock_addr programs see (struct bpf_sock_addr, IPv4
 * part), defined beside those programs. A hook may rewrite userIp4/userPort;
 * the call then proceeds with the rewritten address.
 */
import type { SockAddrCtx } from '../../datapath/sim/bpf_sock.js';
export type { SockAddrCtx };

/**
 * Cilium's socket-layer load balancer (cil_sock4_connect & co). Each returns
 * 0 to let the call proceed, or a negative errno to fail it (-113 makes
 * connect() fail with EHOSTUNREACH). Hooks must not keep the ctx object.
 */
export interface SockHooks {
  /** connect() of TCP and of UDP sockets: service → backend. */
  connect4?(ctx: SockAddrCtx): number;
  /** sendto() on an unconnected UDP socket, once per datagram. */
  sendmsg4?(ctx: SockAddrCtx): number;
  /** recvfrom() on UDP: rewrites the backend source back to the service address. Errors are ignored. */
  recvmsg4?(ctx: SockAddrCtx): number;
  /** getpeername(): backend → service address the app connected to. */
  getpeername4?(ctx: SockAddrCtx): number;
}

/** Counters, named for what happened; all start at 0. */
export interface StackStats {
  rxFrames: number;
  txFrames: number;
  /** Frames to our own address or 127/8, delivered over lo instead of eth0. */
  loopbackFrames: number;
  /** Frames for another MAC or IP (silently ignored, as a NIC filter would). */
  rxNotForUs: number;
  /** Truncated or malformed headers at any layer. */
  rxMalformed: number;
  /** IPv4 header, TCP, UDP or ICMP checksum mismatch. */
  rxBadChecksum: number;
  rxUnknownEtherType: number;
  /** IPv4 payload protocol other than ICMP/TCP/UDP (answered with ICMP protocol unreachable). */
  rxUnknownProtocol: number;
  /** IPv4 fragments: the stack does not reassemble. */
  rxFragments: number;
  arpRequestsSent: number;
  arpRepliesSent: number;
  /** Frames dropped because the gateway did not answer ARP (or the queue overflowed). */
  arpDrops: number;
  tcpSegmentsIn: number;
  tcpSegmentsOut: number;
  tcpRetransmits: number;
  tcpRstIn: number;
  tcpRstOut: number;
  /** Segments for which no socket or listener matched. */
  tcpNoSocket: number;
  /** SYNs dropped because a listener's backlog was full. */
  tcpListenDrops: number;
  /** Segments that arrived ahead of a gap and were queued. */
  tcpOutOfOrder: number;
  udpDatagramsIn: number;
  udpDatagramsOut: number;
  /** Datagrams for a port nobody bound (answered with ICMP port unreachable). */
  udpNoPort: number;
  icmpIn: number;
  icmpOut: number;
  icmpEchoRepliesSent: number;
  /** Destination unreachable / time exceeded messages received. */
  icmpErrorsIn: number;
}

export function newStackStats(): StackStats {
  return {
    rxFrames: 0,
    txFrames: 0,
    loopbackFrames: 0,
    rxNotForUs: 0,
    rxMalformed: 0,
    rxBadChecksum: 0,
    rxUnknownEtherType: 0,
    rxUnknownProtocol: 0,
    rxFragments: 0,
    arpRequestsSent: 0,
    arpRepliesSent: 0,
    arpDrops: 0,
    tcpSegmentsIn: 0,
    tcpSegmentsOut: 0,
    tcpRetransmits: 0,
    tcpRstIn: 0,
    tcpRstOut: 0,
    tcpNoSocket: 0,
    tcpListenDrops: 0,
    tcpOutOfOrder: 0,
    udpDatagramsIn: 0,
    udpDatagramsOut: 0,
    udpNoPort: 0,
    icmpIn: 0,
    icmpOut: 0,
    icmpEchoRepliesSent: 0,
    icmpErrorsIn: 0,
  };
}

/** TCP knobs, defaulting to Linux's sysctls. Tests shorten timeWaitMs. */
export interface TcpConfig {
  /** TIME_WAIT length: 2*MSL, 60 s in Linux (TCP_TIMEWAIT_LEN). */
  timeWaitMs: number;
  /** FIN_WAIT_2 lifetime of a socket the app has close()d (tcp_fin_timeout). */
  finWait2TimeoutMs: number;
  /** SYN retransmissions before ETIMEDOUT (tcp_syn_retries). */
  synRetries: number;
  /** SYN-ACK retransmissions before a half-open connection is dropped (tcp_synack_retries). */
  synAckRetries: number;
  /** Data/FIN retransmissions before ETIMEDOUT (tcp_retries2). */
  retries2: number;
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
  /** Delayed-ACK timer (Linux TCP_DELACK_MIN); 0 acknowledges every segment at once. */
  delayedAckMs: number;
  /** Our window scale shift (Linux picks 7 for the default tcp_rmem); -1 leaves the option out. */
  windowScale: number;
  timestamps: boolean;
  sack: boolean;
  /** Initial congestion window in segments (RFC 6928, Linux's TCP_INIT_CWND). */
  initialCwndSegments: number;
  /** Receive window we advertise; data is handed to onData at once, so it never shrinks. */
  rcvBufBytes: number;
  /** write() returns false once this much is queued, and onDrain fires below it. */
  sndBufBytes: number;
  /** Accept backlog of a listener when tcpListen gets none (Node's default 511). */
  defaultBacklog: number;
}

export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = {
  timeWaitMs: 60_000,
  finWait2TimeoutMs: 60_000,
  synRetries: 6,
  synAckRetries: 5,
  retries2: 15,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 120_000,
  delayedAckMs: 40,
  windowScale: 7,
  timestamps: true,
  sack: true,
  initialCwndSegments: 10,
  rcvBufBytes: 131_072,
  sndBufBytes: 262_144,
  defaultBacklog: 511,
};
