// A small busybox ash for `kubectl exec pod -- sh -c '...'`: lists (; && ||
// newlines), pipelines, ! , while/until/for/if, { } and ( ) groups,
// quoting, $VAR ${VAR} $? $# $1.. $(cmd) $((arith)), assignments, redirects
// to /dev/null and between 1 and 2, and the builtins scripts lean on (:, cd,
// export, exit, break, continue, test/[, printf, read). Other words run the
// pod's tools. There is no filesystem: "> file" writes nowhere.

import { Aborted, sleep as clockSleep, text, utf8 } from '../proc.js';
import { signalExitCode, type AppCommand, type PodEnv, type ProcessIO } from '../types.js';

// ------------------------------------------------------------------ lexing

type Seg = { text: string; quote: 'none' | 'single' | 'double' } | { sub: string; quote: 'none' | 'double' } | { arith: string; quote: 'none' | 'double' };

interface WordTok {
  kind: 'word';
  segs: Seg[];
  /** The raw source, to recognise reserved words and assignments. */
  raw: string;
}
interface OpTok {
  kind: 'op';
  op: string;
}
type Tok = WordTok | OpTok | { kind: 'nl' } | { kind: 'eof' };

export class ShSyntaxError extends Error {}

const OPS = ['&&', '||', ';;', '2>&1', '>&2', '1>&2', '2>>', '2>', '>>', '&>', ';', '|', '&', '(', ')', '<', '>'];

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\n') {
      out.push({ kind: 'nl' });
      i++;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    // "2>" is an operator only at the start of a word.
    if (op && !(op.startsWith('2') && out.length > 0 && i > 0 && !/[\s;|&()]/.test(src[i - 1]!))) {
      out.push({ kind: 'op', op });
      i += op.length;
      continue;
    }
    // A word: runs until an unquoted blank or operator character.
    const segs: Seg[] = [];
    const start = i;
    let buf = '';
    const flush = (): void => {
      if (buf) segs.push({ text: buf, quote: 'none' });
      buf = '';
    };
    while (i < n) {
      const d = src[i]!;
      if (d === ' ' || d === '\t' || d === '\n' || d === ';' || d === '|' || d === '&' || d === '(' || d === ')' || d === '<' || d === '>') break;
      if (d === '\\') {
        buf += src[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (d === "'") {
        const end = src.indexOf("'", i + 1);
        if (end < 0) throw new ShSyntaxError('unterminated quoted string');
        flush();
        segs.push({ text: src.slice(i + 1, end), quote: 'single' });
        i = end + 1;
        continue;
      }
      if (d === '"') {
        flush();
        i = lexDouble(src, i + 1, segs);
        continue;
      }
      if (d === '$' && src[i + 1] === '(') {
        flush();
        const [inner, next, arith] = scanParen(src, i + 1);
        segs.push(arith ? { arith: inner, quote: 'none' } : { sub: inner, quote: 'none' });
        i = next;
        continue;
      }
      if (d === '`') {
        const end = src.indexOf('`', i + 1);
        if (end < 0) throw new ShSyntaxError('unterminated quoted string');
        flush();
        segs.push({ sub: src.slice(i + 1, end), quote: 'none' });
        i = end + 1;
        continue;
      }
      buf += d;
      i++;
    }
    flush();
    out.push({ kind: 'word', segs, raw: src.slice(start, i) });
  }
  out.push({ kind: 'eof' });
  return out;
}

/** Inside "...": text with $-expansions marked as double-quoted. Returns the index after the closing quote. */
function lexDouble(src: string, from: number, segs: Seg[]): number {
  let i = from;
  let buf = '';
  while (i < src.length) {
    const d = src[i]!;
    if (d === '"') {
      if (buf) segs.push({ text: buf, quote: 'double' });
      return i + 1;
    }
    if (d === '\\' && '$`"\\\n'.includes(src[i + 1] ?? '')) {
      buf += src[i + 1] === '\n' ? '' : src[i + 1];
      i += 2;
      continue;
    }
    if (d === '$' && src[i + 1] === '(') {
      if (buf) segs.push({ text: buf, quote: 'double' });
      buf = '';
      const [inner, next, arith] = scanParen(src, i + 1);
      segs.push(arith ? { arith: inner, quote: 'double' } : { sub: inner, quote: 'double' });
      i = next;
      continue;
    }
    buf += d;
    i++;
  }
  throw new ShSyntaxError('unterminated quoted string');
}

/** From the "(" after "$": the inner text, the index after the closing paren, and whether it was $((...)). */
function scanParen(src: string, open: number): [string, number, boolean] {
  const arith = src[open + 1] === '(';
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) {
        if (arith) return [src.slice(open + 2, i - 1), i + 1, true];
        return [src.slice(open + 1, i), i + 1, false];
      }
    } else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) break;
      i = end;
    }
  }
  throw new ShSyntaxError('unterminated $(');
}

// ------------------------------------------------------------------ parsing

interface Redirect {
  op: string;
  target?: WordTok;
}

type Node =
  | { type: 'simple'; assigns: WordTok[]; words: WordTok[]; redirects: Redirect[] }
  | { type: 'pipeline'; negate: boolean; cmds: Node[] }
  | { type: 'andor'; first: Node; rest: { op: '&&' | '||'; node: Node }[] }
  | { type: 'list'; items: Node[] }
  | { type: 'while'; until: boolean; cond: Node; body: Node; redirects: Redirect[] }
  | { type: 'for'; name: string; words: WordTok[] | undefined; body: Node; redirects: Redirect[] }
  | { type: 'if'; branches: { cond: Node; body: Node }[]; otherwise: Node | undefined; redirects: Redirect[] }
  | { type: 'group'; body: Node; subshell: boolean; redirects: Redirect[] };

class Parser {
  private at = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.at]!;
  }
  private next(): Tok {
    return this.toks[this.at++]!;
  }
  private isWord(w: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.raw === w;
  }
  private isOp(op: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.op === op;
  }
  private unexpected(): never {
    const t = this.peek();
    if (t.kind === 'eof') throw new ShSyntaxError('unexpected end of file');
    const what = t.kind === 'word' ? t.raw : t.kind === 'op' ? t.op : 'newline';
    throw new ShSyntaxError(`unexpected "${what}"`);
  }
  private expectWord(w: string): void {
    this.skipNewlines();
    if (!this.isWord(w)) this.unexpected();
    this.next();
  }
  private skipNewlines(): void {
    while (this.peek().kind === 'nl') this.next();
  }

  program(): Node {
    const list = this.list(() => this.peek().kind === 'eof');
    if (this.peek().kind !== 'eof') this.unexpected();
    return list;
  }

  /** Commands until `stop` holds at a command boundary. */
  private list(stop: () => boolean): Node {
    const items: Node[] = [];
    for (;;) {
      this.skipNewlines();
      if (stop() || this.peek().kind === 'eof') break;
      items.push(this.andOr());
      const t = this.peek();
      if (t.kind === 'op' && (t.op === ';' || t.op === '&')) this.next();
      else if (t.kind === 'nl') this.next();
      else if (!stop() && t.kind !== 'eof' && !(t.kind === 'op' && t.op === ')')) this.unexpected();
    }
    return { type: 'list', items };
  }

  private andOr(): Node {
    const first = this.pipeline();
    const rest: { op: '&&' | '||'; node: Node }[] = [];
    while (this.isOp('&&') || this.isOp('||')) {
      const op = (this.next() as OpTok).op as '&&' | '||';
      this.skipNewlines();
      rest.push({ op, node: this.pipeline() });
    }
    return rest.length === 0 ? first : { type: 'andor', first, rest };
  }

  private pipeline(): Node {
    let negate = false;
    if (this.isWord('!')) {
      this.next();
      negate = true;
    }
    const cmds = [this.command()];
    while (this.isOp('|')) {
      this.next();
      this.skipNewlines();
      cmds.push(this.command());
    }
    return cmds.length === 1 && !negate ? cmds[0]! : { type: 'pipeline', negate, cmds };
  }

  private redirects(): Redirect[] {
    const out: Redirect[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || !['>', '>>', '<', '2>', '2>>', '&>', '2>&1', '>&2', '1>&2'].includes(t.op)) return out;
      this.next();
      if (t.op === '2>&1' || t.op === '>&2' || t.op === '1>&2') {
        out.push({ op: t.op });
        continue;
      }
      const target = this.next();
      if (target.kind !== 'word') this.unexpected();
      out.push({ op: t.op, target });
    }
  }

  private command(): Node {
    const t = this.peek();
    if (t.kind === 'word') {
      switch (t.raw) {
        case 'while':
        case 'until': {
          this.next();
          const cond = this.list(() => this.isWord('do'));
          this.expectWord('do');
          const body = this.list(() => this.isWord('done'));
          this.expectWord('done');
          return { type: 'while', until: t.raw === 'until', cond, body, redirects: this.redirects() };
        }
        case 'for': {
          this.next();
          const name = this.next();
          if (name.kind !== 'word' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name.raw)) this.unexpected();
          let words: WordTok[] | undefined;
          this.skipNewlines();
          if (this.isWord('in')) {
            this.next();
            words = [];
            while (this.peek().kind === 'word') words.push(this.next() as WordTok);
          }
          if (this.isOp(';')) this.next();
          this.expectWord('do');
          const body = this.list(() => this.isWord('done'));
          this.expectWord('done');
          return { type: 'for', name: name.raw, words, body, redirects: this.redirects() };
        }
        case 'if': {
          this.next();
          const branches: { cond: Node; body: Node }[] = [];
          let otherwise: Node | undefined;
          for (;;) {
            const cond = this.list(() => this.isWord('then'));
            this.expectWord('then');
            const body = this.list(() => this.isWord('elif') || this.isWord('else') || this.isWord('fi'));
            branches.push({ cond, body });
            if (this.isWord('elif')) {
              this.next();
              continue;
            }
            if (this.isWord('else')) {
              this.next();
              otherwise = this.list(() => this.isWord('fi'));
            }
            this.expectWord('fi');
            break;
          }
          return { type: 'if', branches, otherwise, redirects: this.redirects() };
        }
        case '{': {
          this.next();
          const body = this.list(() => this.isWord('}'));
          this.expectWord('}');
          return { type: 'group', body, subshell: false, redirects: this.redirects() };
        }
        case 'do':
        case 'done':
        case 'then':
        case 'fi':
        case 'elif':
        case 'else':
        case '}':
        case 'esac':
        case 'case':
          this.unexpected();
      }
    }
    if (this.isOp('(')) {
      this.next();
      const body = this.list(() => this.isOp(')'));
      if (!this.isOp(')')) this.unexpected();
      this.next();
      return { type: 'group', body, subshell: true, redirects: this.redirects() };
    }
    const assigns: WordTok[] = [];
    const words: WordTok[] = [];
    const redirects: Redirect[] = [];
    for (;;) {
      redirects.push(...this.redirects());
      const w = this.peek();
      if (w.kind !== 'word') break;
      if (words.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w.raw)) assigns.push(this.next() as WordTok);
      else words.push(this.next() as WordTok);
    }
    if (assigns.length === 0 && words.length === 0 && redirects.length === 0) this.unexpected();
    return { type: 'simple', assigns, words, redirects };
  }
}

export function parseScript(src: string): Node {
  return new Parser(lex(src)).program();
}

// ------------------------------------------------------------------ running

class LoopControl {
  constructor(
    readonly kind: 'break' | 'continue',
    public levels: number,
  ) {}
}

class ExitRequest {
  constructor(readonly code: number) {}
}

interface Streams {
  stdout(c: string | Uint8Array): void;
  stderr(c: string | Uint8Array): void;
  stdin?: AsyncIterable<Uint8Array>;
}

interface Shell {
  env: PodEnv;
  vars: Map<string, string>;
  positional: string[];
  status: number;
  signal: AbortSignal;
  tty: boolean;
  /** Looks up commands that are not builtins (the pod's tools). */
  lookup: (name: string) => AppCommand | undefined;
}

/** An async pipe: one side writes, the other iterates. */
function pipe(): { write(c: string | Uint8Array): void; close(): void; iterable: AsyncIterable<Uint8Array> } {
  const chunks: Uint8Array[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  return {
    write(c) {
      chunks.push(typeof c === 'string' ? utf8(c) : c);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          if (chunks.length > 0) {
            yield chunks.shift()!;
            continue;
          }
          if (closed) return;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      },
    },
  };
}

function fieldSplit(s: string): string[] {
  return s.split(/[ \t\n]+/).filter((x) => x.length > 0);
}

async function expandWord(sh: Shell, w: WordTok, split: boolean): Promise<string[]> {
  // Fields: unquoted expansion results split on blanks; quoted text joins the current field.
  const fields: string[] = [];
  let cur = '';
  let hasCur = false;
  const pushText = (t: string, quoted: boolean): void => {
    if (!split || quoted) {
      cur += t;
      hasCur = true;
      return;
    }
    const parts = t.split(/([ \t\n]+)/);
    for (const p of parts) {
      if (/^[ \t\n]+$/.test(p)) {
        if (hasCur) fields.push(cur);
        cur = '';
        hasCur = false;
      } else if (p.length > 0) {
        cur += p;
        hasCur = true;
      }
    }
  };
  for (const seg of w.segs) {
    if ('text' in seg) {
      if (seg.quote === 'single') {
        cur += seg.text;
        hasCur = true;
      } else if (seg.quote === 'double') {
        cur += expandVars(sh, seg.text);
        hasCur = true;
      } else {
        // Literal text is never split; only what $VAR produced is.
        const pieces = seg.text.split(/(\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|[0-9?#$@*!-]))/);
        for (const piece of pieces) {
          if (piece.startsWith('$') && piece.length > 1) pushText(expandVars(sh, piece), false);
          else if (piece.length > 0) {
            cur += piece;
            hasCur = true;
          }
        }
      }
    } else if ('sub' in seg) {
      const out = (await captureOutput(sh, seg.sub)).replace(/\n+$/, '');
      pushText(out, seg.quote === 'double');
      if (seg.quote === 'double') hasCur = true;
    } else {
      pushText(String(arith(sh, expandVars(sh, seg.arith))), seg.quote === 'double');
    }
  }
  if (hasCur || (!split && fields.length === 0)) fields.push(cur);
  return fields;
}

function varValue(sh: Shell, name: string): string {
  if (name === '?') return String(sh.status);
  if (name === '#') return String(sh.positional.length);
  if (name === '$') return '1';
  if (name === '@' || name === '*') return sh.positional.join(' ');
  if (/^[0-9]$/.test(name)) return name === '0' ? 'sh' : (sh.positional[Number(name) - 1] ?? '');
  return sh.vars.get(name) ?? '';
}

function expandVars(sh: Shell, s: string): string {
  return s.replace(/\$(\{([^}]*)\}|[A-Za-z_][A-Za-z0-9_]*|[0-9?#$@*!-])/g, (_m, all: string, braced: string | undefined) => {
    if (braced === undefined) return varValue(sh, all);
    const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9?#])(?::?([-=+?])(.*))?$/.exec(braced);
    if (!m) return '';
    const v = varValue(sh, m[1]!);
    const op = m[2];
    const word = m[3] ?? '';
    if (op === '-') return v === '' ? word : v;
    if (op === '=') {
      if (v === '') sh.vars.set(m[1]!, word);
      return v === '' ? word : v;
    }
    if (op === '+') return v === '' ? '' : word;
    return v;
  });
}

/** $((...)): integers, + - * / %, comparisons, parentheses, variables. */
function arith(sh: Shell, expr: string): number {
  const toks = expr.match(/\d+|[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=|&&|\|\||[-+*/%()<>!]/g) ?? [];
  let i = 0;
  const primary = (): number => {
    const t = toks[i++];
    if (t === undefined) return 0;
    if (t === '(') {
      const v = or();
      i++;
      return v;
    }
    if (t === '-') return -primary();
    if (t === '+') return primary();
    if (t === '!') return primary() === 0 ? 1 : 0;
    if (/^\d+$/.test(t)) return Number(t);
    return Number(sh.vars.get(t) ?? 0) || 0;
  };
  const binary = (next: () => number, ops: Record<string, (a: number, b: number) => number>) => (): number => {
    let v = next();
    while (toks[i] !== undefined && ops[toks[i]!]) {
      const f = ops[toks[i++]!]!;
      v = f(v, next());
    }
    return v;
  };
  const mul = binary(primary, { '*': (a, b) => a * b, '/': (a, b) => (b === 0 ? 0 : Math.trunc(a / b)), '%': (a, b) => (b === 0 ? 0 : a % b) });
  const add = binary(mul, { '+': (a, b) => a + b, '-': (a, b) => a - b });
  const cmp = binary(add, { '<': (a, b) => +(a < b), '>': (a, b) => +(a > b), '<=': (a, b) => +(a <= b), '>=': (a, b) => +(a >= b) });
  const eq = binary(cmp, { '==': (a, b) => +(a === b), '!=': (a, b) => +(a !== b) });
  const and = binary(eq, { '&&': (a, b) => +(a !== 0 && b !== 0) });
  const or = binary(and, { '||': (a, b) => +(a !== 0 || b !== 0) });
  return or();
}

async function captureOutput(sh: Shell, src: string): Promise<string> {
  let out = '';
  const sub: Shell = { ...sh, vars: new Map(sh.vars) };
  try {
    sub.status = await run(sub, parseScript(src), { stdout: (c) => (out += typeof c === 'string' ? c : text(c)), stderr: () => undefined });
  } catch (e) {
    if (!(e instanceof ExitRequest)) throw e;
  }
  sh.status = sub.status;
  return out;
}

/** Applies redirects to the streams of one command. */
async function redirect(sh: Shell, redirects: Redirect[], io: Streams): Promise<Streams | number> {
  let { stdout, stderr } = io;
  let stdin = io.stdin;
  const discard = (): void => undefined;
  for (const r of redirects) {
    const target = r.target ? (await expandWord(sh, r.target, false))[0] ?? '' : '';
    switch (r.op) {
      case '>':
      case '>>':
        // No filesystem: /dev/null and files alike swallow the output.
        stdout = target === '/dev/stderr' ? stderr : discard;
        break;
      case '2>':
      case '2>>':
        stderr = target === '/dev/stdout' ? stdout : discard;
        break;
      case '&>':
        stdout = discard;
        stderr = discard;
        break;
      case '2>&1':
        stderr = stdout;
        break;
      case '>&2':
      case '1>&2':
        stdout = stderr;
        break;
      case '<':
        if (target !== '/dev/null') {
          io.stderr(`sh: can't open '${target}': No such file or directory\n`);
          return 1;
        }
        stdin = (async function* () {})();
        break;
    }
  }
  return { stdout, stderr, ...(stdin ? { stdin } : {}) };
}

async function run(sh: Shell, node: Node, io: Streams): Promise<number> {
  if (sh.signal.aborted) throw new Aborted(sh.signal.reason);
  switch (node.type) {
    case 'list': {
      let status = sh.status;
      for (const item of node.items) {
        status = await run(sh, item, io);
        sh.status = status;
      }
      return status;
    }
    case 'andor': {
      let status = await run(sh, node.first, io);
      sh.status = status;
      for (const { op, node: n } of node.rest) {
        if ((op === '&&' && status === 0) || (op === '||' && status !== 0)) {
          status = await run(sh, n, io);
          sh.status = status;
        }
      }
      return status;
    }
    case 'pipeline': {
      let status: number;
      if (node.cmds.length === 1) status = await run(sh, node.cmds[0]!, io);
      else {
        const runs: Promise<number>[] = [];
        let input = io.stdin;
        node.cmds.forEach((cmd, idx) => {
          const last = idx === node.cmds.length - 1;
          const p = last ? undefined : pipe();
          const streams: Streams = { stdout: p ? p.write : io.stdout, stderr: io.stderr, ...(input ? { stdin: input } : {}) };
          runs.push(run({ ...sh, vars: new Map(sh.vars) }, cmd, streams).finally(() => p?.close()));
          input = p?.iterable;
        });
        const statuses = await Promise.all(runs);
        status = statuses[statuses.length - 1]!;
      }
      return node.negate ? (status === 0 ? 1 : 0) : status;
    }
    case 'while': {
      const r = await redirect(sh, node.redirects, io);
      if (typeof r === 'number') return r;
      let status = 0;
      for (;;) {
        const c = await run(sh, node.cond, r);
        if ((c === 0) === node.until) break;
        try {
          status = await run(sh, node.body, r);
        } catch (e) {
          if (!(e instanceof LoopControl)) throw e;
          if (e.levels > 1) {
            e.levels--;
            throw e;
          }
          if (e.kind === 'break') break;
        }
        // Every round gives the rest of the world a turn, as a busy loop's time slice would.
        if (!(await clockSleep(sh.env.clock, 0, sh.signal))) throw new Aborted(sh.signal.reason);
      }
      return status;
    }
    case 'for': {
      const r = await redirect(sh, node.redirects, io);
      if (typeof r === 'number') return r;
      const items: string[] = [];
      if (node.words) for (const w of node.words) items.push(...(await expandWord(sh, w, true)));
      else items.push(...sh.positional);
      let status = 0;
      for (const item of items) {
        sh.vars.set(node.name, item);
        try {
          status = await run(sh, node.body, r);
        } catch (e) {
          if (!(e instanceof LoopControl)) throw e;
          if (e.levels > 1) {
            e.levels--;
            throw e;
          }
          if (e.kind === 'break') break;
        }
      }
      return status;
    }
    case 'if': {
      const r = await redirect(sh, node.redirects, io);
      if (typeof r === 'number') return r;
      for (const b of node.branches) {
        if ((await run(sh, b.cond, r)) === 0) return run(sh, b.body, r);
      }
      return node.otherwise ? run(sh, node.otherwise, r) : 0;
    }
    case 'group': {
      const r = await redirect(sh, node.redirects, io);
      if (typeof r === 'number') return r;
      if (!node.subshell) return run(sh, node.body, r);
      const sub: Shell = { ...sh, vars: new Map(sh.vars) };
      try {
        return await run(sub, node.body, r);
      } catch (e) {
        if (e instanceof ExitRequest) return e.code;
        throw e;
      }
    }
    case 'simple':
      return runSimple(sh, node, io);
  }
}

async function runSimple(sh: Shell, node: Extract<Node, { type: 'simple' }>, io: Streams): Promise<number> {
  const argv: string[] = [];
  for (const w of node.words) argv.push(...(await expandWord(sh, w, true)));
  const assigned: [string, string][] = [];
  for (const a of node.assigns) {
    const eq = a.raw.indexOf('=');
    const name = a.raw.slice(0, eq);
    const value = (await expandWord(sh, { kind: 'word', raw: a.raw.slice(eq + 1), segs: stripName(a.segs, eq + 1) }, false))[0] ?? '';
    assigned.push([name, value]);
  }
  const r = await redirect(sh, node.redirects, io);
  if (typeof r === 'number') return r;
  if (argv.length === 0) {
    for (const [k, v] of assigned) sh.vars.set(k, v);
    return 0;
  }
  const name = argv[0]!;
  const builtin = BUILTINS[name];
  if (builtin) return builtin(sh, argv, r);
  const cmd = sh.lookup(name);
  if (!cmd) {
    r.stderr(`sh: ${name}: not found\n`);
    return 127;
  }
  const procIo: ProcessIO = { stdout: r.stdout, stderr: r.stderr, signal: sh.signal, ...(r.stdin ? { stdin: r.stdin } : {}), ...(sh.tty ? { tty: true } : {}) };
  return cmd(sh.env, argv, procIo);
}

/** The segments of an assignment word after "NAME=". */
function stripName(segs: Seg[], skip: number): Seg[] {
  const out: Seg[] = [];
  let left = skip;
  for (const s of segs) {
    if (left > 0 && 'text' in s && s.quote === 'none') {
      if (s.text.length <= left) {
        left -= s.text.length;
        continue;
      }
      out.push({ text: s.text.slice(left), quote: 'none' });
      left = 0;
      continue;
    }
    out.push(s);
  }
  return out;
}

type Builtin = (sh: Shell, argv: string[], io: Streams) => Promise<number> | number;

function testExpr(args: string[]): boolean | string {
  if (args.length === 0) return false;
  if (args[0] === '!') {
    const r = testExpr(args.slice(1));
    return typeof r === 'string' ? r : !r;
  }
  if (args.length === 1) return args[0]!.length > 0;
  if (args.length === 2) {
    const [op, v] = args as [string, string];
    if (op === '-z') return v.length === 0;
    if (op === '-n') return v.length > 0;
    if (op === '-e' || op === '-f' || op === '-d' || op === '-r' || op === '-x' || op === '-s') return v === '/' || v === '/tmp' || v.startsWith('/dev/');
    return `${op}: unary operator expected`;
  }
  const andAt = args.indexOf('-a');
  if (andAt > 0) {
    const a = testExpr(args.slice(0, andAt));
    const b = testExpr(args.slice(andAt + 1));
    return typeof a === 'string' ? a : typeof b === 'string' ? b : a && b;
  }
  const orAt = args.indexOf('-o');
  if (orAt > 0) {
    const a = testExpr(args.slice(0, orAt));
    const b = testExpr(args.slice(orAt + 1));
    return typeof a === 'string' ? a : typeof b === 'string' ? b : a || b;
  }
  const [l, op, r] = args as [string, string, string];
  const num = (s: string): number | string => (/^-?\d+$/.test(s.trim()) ? Number(s) : `${s}: bad number`);
  switch (op) {
    case '=':
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '-eq':
    case '-ne':
    case '-lt':
    case '-le':
    case '-gt':
    case '-ge': {
      const a = num(l);
      const b = num(r);
      if (typeof a === 'string') return a;
      if (typeof b === 'string') return b;
      return { '-eq': a === b, '-ne': a !== b, '-lt': a < b, '-le': a <= b, '-gt': a > b, '-ge': a >= b }[op];
    }
    default:
      return `${op}: unknown operand`;
  }
}

function printf(format: string, args: string[]): string {
  let out = '';
  let ai = 0;
  const esc = (s: string): string => s.replace(/\\(n|t|r|\\|0[0-7]{0,3})/g, (_m, e: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[e] ?? String.fromCharCode(parseInt(e, 8)));
  do {
    out += esc(format).replace(/%(-?\d*)([sdx%])/g, (_m, width: string, conv: string) => {
      if (conv === '%') return '%';
      const a = args[ai++] ?? '';
      let v = conv === 'd' ? String(Number.parseInt(a, 10) || 0) : conv === 'x' ? (Number.parseInt(a, 10) || 0).toString(16) : a;
      const w = Number(width.replace('-', '')) || 0;
      if (v.length < w) v = width.startsWith('-') ? v.padEnd(w) : v.padStart(w);
      return v;
    });
  } while (ai > 0 && ai < args.length);
  return out;
}

const BUILTINS: Record<string, Builtin> = {
  ':': () => 0,
  true: () => 0,
  false: () => 1,
  cd: () => 0,
  export: (sh, argv) => {
    for (const a of argv.slice(1)) {
      const eq = a.indexOf('=');
      if (eq > 0) sh.vars.set(a.slice(0, eq), a.slice(eq + 1));
    }
    return 0;
  },
  unset: (sh, argv) => {
    for (const a of argv.slice(1)) sh.vars.delete(a);
    return 0;
  },
  exit: (sh, argv) => {
    throw new ExitRequest(argv[1] !== undefined ? Number(argv[1]) & 0xff : sh.status);
  },
  break: (_sh, argv) => {
    throw new LoopControl('break', Number(argv[1] ?? 1) || 1);
  },
  continue: (_sh, argv) => {
    throw new LoopControl('continue', Number(argv[1] ?? 1) || 1);
  },
  test: (_sh, argv, io) => {
    const r = testExpr(argv.slice(1));
    if (typeof r === 'string') {
      io.stderr(`sh: ${r}\n`);
      return 2;
    }
    return r ? 0 : 1;
  },
  '[': (_sh, argv, io) => {
    if (argv[argv.length - 1] !== ']') {
      io.stderr('sh: missing ]\n');
      return 2;
    }
    const r = testExpr(argv.slice(1, -1));
    if (typeof r === 'string') {
      io.stderr(`sh: ${r}\n`);
      return 2;
    }
    return r ? 0 : 1;
  },
  printf: (_sh, argv, io) => {
    if (argv.length < 2) {
      io.stderr('printf: usage: printf FORMAT [ARGUMENT...]\n');
      return 1;
    }
    io.stdout(printf(argv[1]!, argv.slice(2)));
    return 0;
  },
  read: async (sh, argv, io) => {
    const names = argv.slice(1).filter((a) => !a.startsWith('-'));
    if (!io.stdin) return 1;
    let line = '';
    const it = io.stdin[Symbol.asyncIterator]();
    for (;;) {
      const n = await it.next();
      if (n.done) {
        if (line === '') return 1;
        break;
      }
      line += text(n.value);
      if (line.includes('\n')) {
        line = line.slice(0, line.indexOf('\n'));
        break;
      }
    }
    const fields = fieldSplit(line);
    names.forEach((name, i) => sh.vars.set(name, i === names.length - 1 ? fields.slice(i).join(' ') : (fields[i] ?? '')));
    if (names.length === 0) sh.vars.set('REPLY', line);
    return 0;
  },
};

/**
 * The shell, given how to find the commands it does not implement itself
 * (the registry passes its tool table; a factory avoids an import cycle).
 */
export function makeShell(lookup: (name: string) => AppCommand | undefined): AppCommand {
  return async (env, argv, io) => {
    const args = argv.slice(1);
    let tree: Node | undefined;
    let positional: string[] = [];
    if (args[0] === '-c') {
      if (args.length < 2) {
        io.stderr('sh: -c requires an argument\n');
        return 2;
      }
      positional = args.slice(3);
      try {
        tree = parseScript(args[1]!);
      } catch (e) {
        if (e instanceof ShSyntaxError) {
          io.stderr(`sh: syntax error: ${e.message}\n`);
          return 2;
        }
        throw e;
      }
    } else if (args.length > 0) {
      io.stderr(`sh: can't open '${args[0]}': No such file or directory\n`);
      return 2;
    }
    const shell: Shell = {
      env,
      vars: new Map([
        ['HOSTNAME', env.hostname],
        ['HOME', '/root'],
        ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ['PWD', '/'],
      ]),
      positional,
      status: 0,
      signal: io.signal,
      tty: io.tty === true,
      lookup,
    };
    try {
      if (!tree) return await runFromStdin(shell, io);
      return await run(shell, tree, { stdout: io.stdout, stderr: io.stderr, ...(io.stdin ? { stdin: io.stdin } : {}) });
    } catch (e) {
      if (e instanceof ExitRequest) return e.code;
      if (e instanceof Aborted) return signalExitCode(io.signal);
      if (e instanceof LoopControl) return 0;
      throw e;
    }
  };
}

/** Syntax errors that only say the input stopped early: more lines may complete the command. */
const INCOMPLETE = new Set(['unexpected end of file', 'unterminated quoted string', 'unterminated $(']);

/**
 * "sh" reading its commands from stdin (`kubectl exec -i pod -- sh`): each
 * complete command runs as soon as its last line has arrived, as a shell
 * reading a pipe or a terminal does; a syntax error stops the shell (status 2).
 */
async function runFromStdin(shell: Shell, io: ProcessIO): Promise<number> {
  const decoder = new TextDecoder();
  let pending = '';
  // Runs what has arrived up to the last newline (everything, at EOF); undefined: keep reading.
  const runArrived = async (atEof: boolean): Promise<number | undefined> => {
    const cut = atEof ? pending.length : pending.lastIndexOf('\n') + 1;
    if (cut === 0) return undefined;
    let tree: Node;
    try {
      tree = parseScript(pending.slice(0, cut));
    } catch (e) {
      if (!(e instanceof ShSyntaxError)) throw e;
      if (!atEof && INCOMPLETE.has(e.message)) return undefined;
      io.stderr(`sh: syntax error: ${e.message}\n`);
      return 2;
    }
    pending = pending.slice(cut);
    // The commands get no stdin: the shell is reading it. Behind a terminal, each gets the signal of the
    // moment: a Ctrl-C interrupts the command that runs, and the shell prompts again.
    shell.signal = io.signal;
    try {
      shell.status = await run(shell, tree, { stdout: io.stdout, stderr: io.stderr });
    } catch (e) {
      if (!(e instanceof Aborted) || !shell.tty || io.signal.aborted) throw e;
      shell.status = 130;
    }
    return undefined;
  };
  // On a terminal the shell is interactive: it prompts (busybox's "/ # ", and "> " for a command not yet complete).
  const prompt = (): void => {
    if (shell.tty) io.stdout(pending ? '> ' : '/ # ');
  };
  prompt();
  for await (const chunk of io.stdin ?? []) {
    pending += decoder.decode(chunk, { stream: true });
    const stop = await runArrived(false);
    if (stop !== undefined) return stop;
    prompt();
  }
  pending += decoder.decode();
  return (await runArrived(true)) ?? shell.status;
}
