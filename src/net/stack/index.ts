// The pod network stack: socket calls in, Ethernet frames out, and back.
export { NetStack, CookieSource, DEFAULT_POD_MTU, EPHEMERAL_PORT_MIN, EPHEMERAL_PORT_MAX } from './stack.js';
export type { NetStackOptions, PingOptions, PingHandle } from './stack.js';
export { TcpSocket, TcpListener } from './tcp.js';
export type { TcpState } from './tcp.js';
export { UdpSocket } from './udp.js';
export { Errno, StackError, socketError } from './errno.js';
export type { ErrnoCode, SocketError } from './errno.js';
export { DEFAULT_TCP_CONFIG, newStackStats } from './types.js';
export type { SockAddrCtx, SockHooks, StackStats, TcpConfig } from './types.js';
