// Flow history: every flow also goes into SQLite, so `--since 1h` still has
// answers after the 4,095-entry ring has wrapped (and after a restart).
// Retention is by row count and by age; what retention removed is remembered
// per node, so a query reaching further back can say so. Rows carry a few
// indexed columns for pre-filtering in SQL; the exact filter runs on the
// decoded flow.

import Database from 'better-sqlite3';
import { parseCidr, parseIpv4Addr } from '../packet/ip.js';
import { DROP_REASON_BY_NAME, VERDICT_NAMES, timeMicros, type Flow } from './flow.js';
import type { FlowFilter } from './filter.js';

export interface HistoryOptions {
  /** SQLite file, or ':memory:' (default). */
  path?: string;
  /** Keep at most this many rows in all (default 1,000,000). */
  maxRows?: number;
  /** Drop rows older than this (default 24 h). */
  maxAgeMs?: number;
  /** Wall-clock now, in ms (for age-based retention). */
  now: () => number;
}

export interface StoredFlow {
  seq: number;
  flow: Flow;
}

export interface HistoryQuery {
  node: string;
  /** Only rows with seq < beforeSeq (the part the ring no longer holds). */
  beforeSeq?: number;
  sinceMicros?: number;
  untilMicros?: number;
  /** Allowlist used to narrow rows in SQL (a superset of the exact matches). */
  whitelist?: readonly FlowFilter[];
  order: 'asc' | 'desc';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS flows (
  id INTEGER PRIMARY KEY,
  node TEXT NOT NULL,
  seq INTEGER NOT NULL,
  time_us INTEGER NOT NULL,
  verdict INTEGER NOT NULL,
  event_type INTEGER NOT NULL,
  src_ip INTEGER,
  dst_ip INTEGER,
  src_port INTEGER,
  dst_port INTEGER,
  src_identity INTEGER,
  dst_identity INTEGER,
  src_ns TEXT,
  dst_ns TEXT,
  src_pod TEXT,
  dst_pod TEXT,
  drop_reason INTEGER,
  body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS flows_seq ON flows (node, seq);
CREATE INDEX IF NOT EXISTS flows_time ON flows (node, time_us);
CREATE INDEX IF NOT EXISTS flows_verdict ON flows (node, verdict, time_us);
CREATE TABLE IF NOT EXISTS retention (node TEXT PRIMARY KEY, pruned_before_us INTEGER NOT NULL);
`;

function ipNum(s: string | undefined): number | null {
  if (!s) return null;
  return parseIpv4Addr(s);
}

function portOf(f: Flow, source: boolean): number | null {
  const p = f.l4?.TCP ?? f.l4?.UDP ?? f.l4?.SCTP;
  if (!p) return null;
  return (source ? p.source_port : p.destination_port) ?? 0;
}

/** SQL conditions implied by one FlowFilter (only what the columns can decide; never narrower than the filter). */
function filterSql(ff: FlowFilter, params: unknown[]): string {
  const conds: string[] = [];
  const inList = (col: string, vals: readonly unknown[]): void => {
    conds.push(`${col} IN (${vals.map(() => '?').join(',')})`);
    params.push(...vals);
  };
  if (ff.verdict?.length) {
    const nums = ff.verdict.map((v) => (typeof v === 'number' ? v : VERDICT_NAMES.indexOf(v)));
    if (nums.every((n) => n >= 0)) inList('verdict', nums);
  }
  if (ff.drop_reason_desc?.length) {
    const nums = ff.drop_reason_desc.map((v) => (typeof v === 'number' ? v : DROP_REASON_BY_NAME[v]));
    if (nums.every((n) => n !== undefined)) inList('drop_reason', nums);
  }
  if (ff.event_type?.length) inList('event_type', ff.event_type.map((e) => e.type));
  if (ff.source_identity?.length) inList('src_identity', ff.source_identity);
  if (ff.destination_identity?.length) inList('dst_identity', ff.destination_identity);
  const ports = (col: string, vals: readonly string[] | undefined): void => {
    if (vals?.length) inList(col, vals.map(Number));
  };
  ports('src_port', ff.source_port);
  ports('dst_port', ff.destination_port);
  const ips = (col: string, vals: readonly string[] | undefined): void => {
    if (!vals?.length) return;
    const ors: string[] = [];
    for (const v of vals) {
      const c = v.includes('/') ? parseCidr(v) : null;
      const n = c ? null : parseIpv4Addr(v);
      if (c) {
        const mask = c.prefixLen === 0 ? 0 : (~0 << (32 - c.prefixLen)) >>> 0;
        const lo = (c.addr & mask) >>> 0;
        ors.push(`${col} BETWEEN ? AND ?`);
        params.push(lo, lo + (2 ** (32 - c.prefixLen) - 1));
      } else if (n !== null) {
        ors.push(`${col} = ?`);
        params.push(n);
      } else return;
    }
    conds.push(`(${ors.join(' OR ')})`);
  };
  ips('src_ip', ff.source_ip);
  ips('dst_ip', ff.destination_ip);
  const pods = (nsCol: string, podCol: string, vals: readonly string[] | undefined): void => {
    if (!vals?.length) return;
    const ors: string[] = [];
    for (const v of vals) {
      const i = v.indexOf('/');
      const ns = i < 0 ? 'default' : v.slice(0, i);
      const prefix = i < 0 ? v : v.slice(i + 1);
      const parts: string[] = [];
      if (ns) {
        parts.push(`${nsCol} = ?`);
        params.push(ns);
      } else parts.push(`(${nsCol} IS NOT NULL OR ${podCol} IS NOT NULL)`);
      if (prefix) {
        parts.push(`substr(${podCol}, 1, ?) = ?`);
        params.push(prefix.length, prefix);
      }
      ors.push(`(${parts.join(' AND ')})`);
    }
    conds.push(`(${ors.join(' OR ')})`);
  };
  pods('src_ns', 'src_pod', ff.source_pod);
  pods('dst_ns', 'dst_pod', ff.destination_pod);
  return conds.length ? conds.join(' AND ') : '1';
}

export class FlowHistory {
  private readonly db: Database.Database;
  private readonly insertStmt: Database.Statement;
  private readonly maxRows: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private rows: number;
  private readonly nodes = new Set<string>();
  private sincePrune = 0;
  private closed = false;

  constructor(opts: HistoryOptions) {
    this.db = new Database(opts.path ?? ':memory:');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.maxRows = opts.maxRows ?? 1_000_000;
    this.maxAgeMs = opts.maxAgeMs ?? 24 * 3600_000;
    this.now = opts.now;
    this.insertStmt = this.db.prepare(
      'INSERT OR REPLACE INTO flows (node, seq, time_us, verdict, event_type, src_ip, dst_ip, src_port, dst_port, src_identity, dst_identity, src_ns, dst_ns, src_pod, dst_pod, drop_reason, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)',
    );
    this.rows = (this.db.prepare('SELECT count(*) AS n FROM flows').get() as { n: number }).n;
    for (const r of this.db.prepare('SELECT DISTINCT node FROM flows').all() as { node: string }[]) this.nodes.add(r.node);
  }

  get size(): number {
    return this.rows;
  }

  get limits(): { maxRows: number; maxAgeMs: number } {
    return { maxRows: this.maxRows, maxAgeMs: this.maxAgeMs };
  }

  /** Append flows of one node (one transaction); prunes now and then. */
  append(node: string, batch: readonly StoredFlow[]): void {
    if (!batch.length || this.closed) return;
    this.nodes.add(node);
    const st = this.insertStmt;
    this.db.transaction(() => {
      for (const { seq, flow: f } of batch) {
        st.run(
          node,
          seq,
          timeMicros(f.time),
          f.verdict,
          f.event_type?.type ?? 0,
          ipNum(f.IP?.source),
          ipNum(f.IP?.destination),
          portOf(f, true),
          portOf(f, false),
          f.source?.identity ?? 0,
          f.destination?.identity ?? 0,
          f.source?.namespace ?? null,
          f.destination?.namespace ?? null,
          f.source?.pod_name ?? null,
          f.destination?.pod_name ?? null,
          f.drop_reason_desc ?? 0,
          JSON.stringify(f),
        );
      }
    })();
    this.rows += batch.length;
    this.sincePrune += batch.length;
    if (this.rows > this.maxRows || this.sincePrune >= 10_000) this.prune();
  }

  /** Apply retention: rows older than maxAgeMs, then the oldest rows past maxRows. */
  prune(): number {
    this.sincePrune = 0;
    let removed = 0;
    const record = this.db.prepare(
      'INSERT INTO retention (node, pruned_before_us) SELECT ?, max(time_us) FROM flows WHERE node = ? AND time_us < ? HAVING count(*) > 0 ON CONFLICT(node) DO UPDATE SET pruned_before_us = max(pruned_before_us, excluded.pruned_before_us)',
    );
    const del = this.db.prepare('DELETE FROM flows WHERE node = ? AND time_us < ?');
    const cut = (node: string, beforeUs: number): void => {
      record.run(node, node, beforeUs);
      const n = del.run(node, beforeUs).changes;
      removed += n;
      this.rows -= n;
    };
    this.db.transaction(() => {
      const cutoff = Math.floor((this.now() - this.maxAgeMs) * 1000);
      for (const node of this.nodes) cut(node, cutoff);
      if (this.rows > this.maxRows) {
        // The time of the (excess+1)-th oldest row over all nodes: everything before it goes.
        const excess = this.rows - this.maxRows;
        const times: number[] = [];
        for (const node of this.nodes) {
          for (const r of this.db.prepare('SELECT time_us FROM flows WHERE node = ? ORDER BY time_us LIMIT ?').all(node, excess + 1) as { time_us: number }[]) times.push(r.time_us);
        }
        times.sort((a, b) => a - b);
        const t = times[excess];
        if (t !== undefined) for (const node of this.nodes) cut(node, t);
      }
    })();
    return removed;
  }

  /** Newest time (µs) that retention removed for a node, if any. */
  prunedBefore(node: string): number | undefined {
    const row = this.db.prepare('SELECT pruned_before_us AS t FROM retention WHERE node = ?').get(node) as { t: number } | undefined;
    return row?.t;
  }

  /** The highest sequence number stored for a node (a restarted observer continues after it). */
  maxSeq(node: string): number {
    const row = this.db.prepare('SELECT max(seq) AS s FROM flows WHERE node = ?').get(node) as { s: number | null };
    return row.s ?? -1;
  }

  oldestMicros(node: string): number | undefined {
    const row = this.db.prepare('SELECT min(time_us) AS t FROM flows WHERE node = ?').get(node) as { t: number | null };
    return row.t ?? undefined;
  }

  /** Stored flows of a node in seq order, narrowed in SQL by time and the allowlist; lazily decoded. */
  *scan(q: HistoryQuery): Generator<StoredFlow> {
    const params: unknown[] = [q.node];
    let where = 'node = ?';
    if (q.beforeSeq !== undefined) {
      where += ' AND seq < ?';
      params.push(q.beforeSeq);
    }
    if (q.sinceMicros !== undefined) {
      where += ' AND time_us >= ?';
      params.push(q.sinceMicros);
    }
    if (q.untilMicros !== undefined) {
      where += ' AND time_us <= ?';
      params.push(q.untilMicros);
    }
    const filtered = !!(q.whitelist && q.whitelist.length);
    if (filtered) where += ` AND (${q.whitelist!.map((ff) => `(${filterSql(ff, params)})`).join(' OR ')})`;
    const desc = q.order === 'desc';
    if (!filtered) {
      // Everything in range: stream in seq order along the (node, seq) index.
      const sql = `SELECT seq, body FROM flows WHERE ${where} ORDER BY seq ${desc ? 'DESC' : 'ASC'}`;
      for (const row of this.db.prepare(sql).iterate(...params) as IterableIterator<{ seq: number; body: string }>) {
        yield { seq: row.seq, flow: JSON.parse(row.body) as Flow };
      }
      return;
    }
    // Narrowed: let the planner pick the best index for the filter (no ORDER BY to force the seq
    // index), order the matching sequence numbers here, and load bodies only as they are consumed.
    const seqs = (this.db.prepare(`SELECT seq FROM flows WHERE ${where}`).pluck().all(...params) as number[]).sort((a, b) => (desc ? b - a : a - b));
    const body = this.db.prepare('SELECT body FROM flows WHERE node = ? AND seq = ?').pluck();
    for (const seq of seqs) {
      const b = body.get(q.node, seq) as string | undefined;
      if (b !== undefined) yield { seq, flow: JSON.parse(b) as Flow };
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
