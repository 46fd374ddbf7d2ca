// Linux errno values the stack reports, with the strerror text curl and
// friends print ("Failed to connect ...: No route to host").

export const Errno = {
  EPERM: 1,
  EINTR: 4,
  EAGAIN: 11,
  EACCES: 13,
  EINVAL: 22,
  EPIPE: 32,
  ENONET: 64,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
} as const;

export type ErrnoCode = keyof typeof Errno;

const MESSAGES: Record<number, string> = {
  [Errno.EPERM]: 'Operation not permitted',
  [Errno.EINTR]: 'Interrupted system call',
  [Errno.EAGAIN]: 'Resource temporarily unavailable',
  [Errno.EACCES]: 'Permission denied',
  [Errno.EINVAL]: 'Invalid argument',
  [Errno.EPIPE]: 'Broken pipe',
  [Errno.ENONET]: 'Machine is not on the network',
  [Errno.EDESTADDRREQ]: 'Destination address required',
  [Errno.EMSGSIZE]: 'Message too long',
  [Errno.ENOPROTOOPT]: 'Protocol not available',
  [Errno.EOPNOTSUPP]: 'Operation not supported',
  [Errno.EADDRINUSE]: 'Address already in use',
  [Errno.EADDRNOTAVAIL]: 'Cannot assign requested address',
  [Errno.ENETUNREACH]: 'Network is unreachable',
  [Errno.ECONNABORTED]: 'Software caused connection abort',
  [Errno.ECONNRESET]: 'Connection reset by peer',
  [Errno.ENOBUFS]: 'No buffer space available',
  [Errno.EISCONN]: 'Transport endpoint is already connected',
  [Errno.ENOTCONN]: 'Transport endpoint is not connected',
  [Errno.ETIMEDOUT]: 'Connection timed out',
  [Errno.ECONNREFUSED]: 'Connection refused',
  [Errno.EHOSTDOWN]: 'Host is down',
  [Errno.EHOSTUNREACH]: 'No route to host',
};

const NAMES = new Map<number, string>(Object.entries(Errno).map(([name, value]) => [value, name]));

/** A failed socket call: `errno` is the positive Linux value (ECONNREFUSED = 111), `message` is strerror(). */
export interface SocketError {
  code: ErrnoCode | string;
  errno: number;
  message: string;
}

/** Builds the error for an errno; accepts the negative form that hooks return (-113 = EHOSTUNREACH). */
export function socketError(errno: number): SocketError {
  const n = Math.abs(errno);
  return { code: NAMES.get(n) ?? `E${n}`, errno: n, message: MESSAGES[n] ?? `Unknown error ${n}` };
}

/** Thrown by calls that fail synchronously the way bind()/listen() do (EADDRINUSE). */
export class StackError extends Error implements SocketError {
  readonly code: string;
  readonly errno: number;
  constructor(errno: number, context: string) {
    const e = socketError(errno);
    super(`${context}: ${e.message}`);
    this.name = 'StackError';
    this.code = e.code;
    this.errno = e.errno;
  }
}
