// Field errors are data: a path, a kind of failure, the offending value and
// an explanation. They are rendered the way the Kubernetes apiserver renders
// them ("spec.ports[0].port: Invalid value: 70000: must be between ..."), so
// people can paste kubectl habits into podpath and read familiar answers.

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTypeInvalid'
  | 'InternalError';

export interface FieldError {
  /** Dotted path with indices and map keys in brackets: `spec.containers[0].ports[1].name`, `metadata.labels[app]`. */
  field: string;
  type: FieldErrorType;
  /** The explanation that follows the value; may be empty (e.g. a bare "Required value"). */
  message: string;
  /** The rejected value, when it helps; absent means "do not print a value". */
  badValue?: unknown;
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
  InternalError: 'Internal error',
};

// The apiserver never prints the value for these kinds of error.
const VALUELESS = new Set<FieldErrorType>(['FieldValueRequired', 'FieldValueForbidden', 'FieldValueTooLong', 'InternalError']);

// ---- paths ------------------------------------------------------------------

export function childPath(base: string, name: string): string {
  return base === '' ? name : `${base}.${name}`;
}

export function indexPath(base: string, i: number): string {
  return `${base}[${i}]`;
}

export function keyPath(base: string, k: string): string {
  return `${base}[${k}]`;
}

// ---- constructors -----------------------------------------------------------

export function fieldInvalid(field: string, badValue: unknown, message: string): FieldError {
  return { field, type: 'FieldValueInvalid', message, badValue };
}

export function fieldRequired(field: string, message = ''): FieldError {
  return { field, type: 'FieldValueRequired', message };
}

export function fieldForbidden(field: string, message: string): FieldError {
  return { field, type: 'FieldValueForbidden', message };
}

export function fieldDuplicate(field: string, badValue: unknown): FieldError {
  return { field, type: 'FieldValueDuplicate', message: '', badValue };
}

export function fieldNotFound(field: string, badValue: unknown): FieldError {
  return { field, type: 'FieldValueNotFound', message: '', badValue };
}

export function fieldNotSupported(field: string, badValue: unknown, supported: readonly string[]): FieldError {
  const list = [...supported]
    .sort()
    .map((s) => JSON.stringify(s))
    .join(', ');
  return { field, type: 'FieldValueNotSupported', message: `supported values: ${list}`, badValue };
}

export function fieldTooLong(field: string, maxBytes: number): FieldError {
  return { field, type: 'FieldValueTooLong', message: `may not be more than ${maxBytes} bytes` };
}

export function fieldTooMany(field: string, actual: number, max: number): FieldError {
  return { field, type: 'FieldValueTooMany', message: `must have at most ${max} items`, badValue: actual };
}

// ---- rendering --------------------------------------------------------------

/** A value as the apiserver prints it: strings quoted, numbers bare, string maps as Go map literals. */
export function renderValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isStringMap(value)) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`);
    return `map[string]string{${entries.join(', ')}}`;
  }
  return JSON.stringify(value);
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** The part after the path: "Invalid value: 70000: must be between 1 and 65535, inclusive". */
export function fieldErrorBody(e: FieldError): string {
  let s = TYPE_TEXT[e.type];
  if (!VALUELESS.has(e.type) && 'badValue' in e) s += `: ${renderValue(e.badValue)}`;
  if (e.message) s += `: ${e.message}`;
  return s;
}

/** The whole line: "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive". */
export function renderFieldError(e: FieldError): string {
  return e.field === '' ? fieldErrorBody(e) : `${e.field}: ${fieldErrorBody(e)}`;
}

/** Several errors joined as the apiserver aggregates them: one bare, several in brackets, duplicates dropped. */
export function renderFieldErrors(errors: readonly FieldError[]): string {
  const lines = [...new Set(errors.map(renderFieldError))];
  return lines.length === 1 ? lines[0]! : `[${lines.join(', ')}]`;
}
