// Name, label and network-address syntax checks with the apiserver's wording.
// Each check returns a list of explanations (empty when valid); callers wrap
// them into field errors at the right path.

import { isIP, isIPv4, isIPv6 } from 'node:net';

/** "<msg> (e.g. 'a',  or 'b', regex used for validation is '<re>')", the apiserver's way of citing a regex. */
function regexMessage(msg: string, re: string, examples: readonly string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${re}')`;
  const shown = examples.map((e, i) => `${i > 0 ? ' or ' : ''}'${e}', `).join('');
  return `${msg} (e.g. ${shown}regex used for validation is '${re}')`;
}

function maxLenMessage(n: number): string {
  return `must be no more than ${n} characters`;
}

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME_PART = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';
const CONFIG_KEY = '[-._a-zA-Z0-9]+';

const full = (re: string): RegExp => new RegExp(`^${re}$`);
const dns1123LabelRe = full(DNS1123_LABEL);
const dns1123SubdomainRe = full(DNS1123_SUBDOMAIN);
const dns1035LabelRe = full(DNS1035_LABEL);
const qualifiedNamePartRe = full(QUALIFIED_NAME_PART);
const labelValueRe = full(LABEL_VALUE);
const configKeyRe = full(CONFIG_KEY);

export function checkDns1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenMessage(63));
  if (!dns1123LabelRe.test(v)) {
    errs.push(
      regexMessage(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL,
        ['my-name', '123-abc'],
      ),
    );
  }
  return errs;
}

export function checkDns1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenMessage(253));
  if (!dns1123SubdomainRe.test(v)) {
    errs.push(
      regexMessage(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN,
        ['example.com'],
      ),
    );
  }
  return errs;
}

export function checkDns1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenMessage(63));
  if (!dns1035LabelRe.test(v)) {
    errs.push(
      regexMessage(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL,
        ['my-name', 'abc-123'],
      ),
    );
  }
  return errs;
}

/** A label or annotation key: an optional DNS subdomain prefix, '/', and a name part of at most 63 characters. */
export function checkQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const e of checkDns1123Subdomain(prefix)) errs.push(`prefix part ${e}`);
  } else {
    return [
      regexMessage(
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME_PART,
        ['MyName', 'my.name', '123-abc'],
      ) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenMessage(63)}`);
  if (name.length > 0 && !qualifiedNamePartRe.test(name)) {
    errs.push(
      regexMessage(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME_PART,
        ['MyName', 'my.name', '123-abc'],
      ),
    );
  }
  return errs;
}

export function checkLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenMessage(63));
  if (!labelValueRe.test(v)) {
    errs.push(
      regexMessage(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE,
        ['MyValue', 'my_value', '12345'],
      ),
    );
  }
  return errs;
}

/** IANA service names as used for named ports (`http`, `metrics`). */
export function checkPortName(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 15) errs.push(maxLenMessage(15));
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (v.startsWith('-') || v.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function checkConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenMessage(253));
  if (!configKeyRe.test(v)) {
    errs.push(
      regexMessage("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_KEY, [
        'key.name',
        'KEY_NAME',
        'key-name',
      ]),
    );
  }
  if (v === '.') errs.push("must not be '.'");
  else if (v === '..') errs.push("must not be '..'");
  else if (v.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** Environment variable names: any printable ASCII except '=' (the relaxed rule on by default since 1.32). */
export function checkEnvVarName(v: string): string[] {
  if (v.length === 0 || !/^[\x20-\x7e]+$/.test(v) || v.includes('=')) {
    return ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
  }
  return [];
}

export function checkPortNumber(n: number): string[] {
  return n >= 1 && n <= 65535 ? [] : ['must be between 1 and 65535, inclusive'];
}

const IP_MESSAGE = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

export function checkIp(v: string): string[] {
  return isIP(v) ? [] : [IP_MESSAGE];
}

export function checkIpOfFamily(v: string, family: 'IPv4' | 'IPv6'): string[] {
  const ok = family === 'IPv4' ? isIPv4(v) : isIPv6(v);
  return ok ? [] : [`must be a valid ${family} address`];
}

export function checkCidr(v: string): string[] {
  const slash = v.indexOf('/');
  const bad = ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
  if (slash < 0) return bad;
  const addr = v.slice(0, slash);
  const bits = v.slice(slash + 1);
  const family = isIP(addr);
  if (!family || !/^\d{1,3}$/.test(bits)) return bad;
  return Number(bits) <= (family === 4 ? 32 : 128) ? [] : bad;
}

/** RFC 3339 timestamps as Go's time.Time marshals them. */
export function isRfc3339(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v));
}

/** Kubernetes resource quantities: "100m", "128Mi", "1.5", "2e3". */
export function isQuantity(v: string): boolean {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)((Ki|Mi|Gi|Ti|Pi|Ei)|[numkMGTPE]|[eE][+-]?\d+)?$/.test(v);
}

export const QUANTITY_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
