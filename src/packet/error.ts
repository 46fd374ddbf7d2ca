// Parse errors are values, never exceptions: the datapath turns them into
// drop reasons, so a malformed packet must not unwind the stack.

export const enum ParseErrorCode {
  Truncated = 1,
  Malformed = 2,
  BadChecksum = 3,
  Unsupported = 4,
}

export type ParseErrorCodeValue = (typeof ParseErrorCode)[keyof typeof ParseErrorCode];

export interface ParseFailure {
  readonly error: number;
  /** Protocol layer that failed, e.g. "ipv4", "tcp". */
  readonly layer: string;
  readonly detail: string;
}

export function parseFailure(error: number, layer: string, detail: string): ParseFailure {
  return { error, layer, detail };
}

export function isParseFailure(x: unknown): x is ParseFailure {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o.error === 'number' && typeof o.layer === 'string' && typeof o.detail === 'string';
}

export function parseErrorName(code: number): string {
  switch (code) {
    case ParseErrorCode.Truncated:
      return 'Truncated';
    case ParseErrorCode.Malformed:
      return 'Malformed';
    case ParseErrorCode.BadChecksum:
      return 'BadChecksum';
    case ParseErrorCode.Unsupported:
      return 'Unsupported';
    default:
      return `Error(${code})`;
  }
}
