// Object storage: SQLite (better-sqlite3, WAL), one transaction per write, one
// global resourceVersion counter, and an in-memory change log that watches
// replay from. A write that fails (validation happens before, conflicts and
// missing objects here) leaves the database and the log exactly as they were.
//
// SQLite is the durable copy; reads by key are served from an in-memory index
// of the committed objects, frozen, which are also the objects the change
// events carry (no second copy, no JSON parse per read). A write stages its
// changes beside the index and applies them only when its transaction commits.

import Database from 'better-sqlite3';
import type { Clock } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import { RESOURCES, groupResource, storageKey, type ResourceInfo } from './resources.js';
import type { FieldSelector, LabelSelector } from './selectors.js';
import { selectableFieldsOf } from './selectors.js';
import { alreadyExists, badRequest, conflict, expired, notFound, StatusError } from './status.js';
import { clone, deepFreeze, isPlainObject, jsonEqual } from './json.js';
import type { KubeObject, WatchEventType } from './types.js';

export interface StoreOptions {
  /** A file path, or ':memory:' for tests. */
  path: string;
  clock: Clock;
  /** Source of uids and generated names; its draws are persisted so a reopened store never repeats a uid. */
  rng: Rng;
  /** How many changes a watch can replay; older resourceVersions answer 410 Expired. */
  eventLogSize?: number;
}

export interface StoreEvent {
  readonly type: WatchEventType;
  readonly resource: ResourceInfo;
  /** Frozen: listeners share it. Clone before editing. */
  readonly object: KubeObject;
  /** The object before this change (MODIFIED and DELETED), for selector transitions. */
  readonly previous?: KubeObject;
  readonly resourceVersion: number;
}

export interface ListQuery {
  namespace?: string;
  labelSelector?: LabelSelector;
  fieldSelector?: FieldSelector;
  limit?: number;
  /** The `continue` token from a previous page. */
  continue?: string;
}

export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
}

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WriteOptions {
  dryRun?: boolean;
  /**
   * The caller hands over an object nobody else holds (the apiserver's decoded
   * copy): the store keeps it, frozen, instead of copying it first.
   */
  adopt?: boolean;
}

/** Characters Kubernetes uses for generated name suffixes: no vowels, no look-alike digits. */
const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const NAME_SUFFIX_LENGTH = 5;
const MAX_GENERATED_PREFIX = 63 - NAME_SUFFIX_LENGTH;

/** Counts draws so a reopened store can skip past every value already handed out. */
class CountingRandom {
  draws = 0;
  constructor(private readonly rng: Rng) {}
  u32(): number {
    this.draws++;
    return this.rng.u32();
  }
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }
}

interface Subscriber {
  listener: (e: StoreEvent) => void;
  /** The resourceVersion of the last event delivered (or skipped as already known). */
  seen: number;
  active: boolean;
}

class DryRunAbort extends Error {
  constructor(readonly result: KubeObject) {
    super('dry run');
  }
}

/** RFC 3339 with whole seconds, as Kubernetes stamps metav1.Time. */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function metaOf(o: KubeObject): KubeObject['metadata'] {
  return o.metadata;
}

/** Everything but metadata and status: what a "spec change" means for metadata.generation. */
function specPart(o: KubeObject): unknown {
  const rest: Record<string, unknown> = {};
  for (const k in o) if (k !== 'metadata' && k !== 'status') rest[k] = o[k];
  return rest;
}

/** `namespace/name` ('' namespace for cluster-scoped objects): a key inside one resource's index. */
function indexKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The order of `ORDER BY resource, namespace, name` (BINARY collation; names are ASCII). */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** (namespace, name) order, as the rows sort: not the order of `namespace/name` keys ('-' sorts before '/'). */
function byNamespaceName(a: KubeObject, b: KubeObject): number {
  return byText(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || byText(a.metadata.name ?? '', b.metadata.name ?? '');
}

/** A row change of a write: the object to store (serialized when it runs), or null to delete the row. */
interface RowOp {
  skey: string;
  namespace: string;
  name: string;
  obj: KubeObject | null;
}

const PUT_SQL = `INSERT INTO objects (resource, namespace, name, uid, resource_version, body) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (resource, namespace, name) DO UPDATE SET uid = excluded.uid,
    resource_version = excluded.resource_version, body = excluded.body`;
const DELETE_SQL = 'DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?';

export class Store {
  private readonly db: Database.Database;
  /** Row changes of the write in progress, run when its body has succeeded. */
  private sql: RowOp[] = [];
  /** Inside batch(): one open SQLite transaction; the counters are written when it commits. */
  private inBatch = false;
  private batchMetaDirty = false;
  /** Inside batch(): the last change of each row, written when the batch commits (or a SQL read needs them). */
  private readonly deferred = new Map<string, RowOp>();
  /** Committed objects, frozen, by storage key and then `namespace/name`. */
  private readonly index = new Map<string, Map<string, KubeObject>>();
  /** Each resource's committed objects in list order, kept until the resource next changes. */
  private readonly sortedCache = new Map<string, readonly KubeObject[]>();
  /** Owner uid → the objects (storage key, index key) whose ownerReferences name it. */
  private readonly dependents = new Map<string, Map<string, { skey: string; key: string }>>();
  /** Changes of the write in progress (null = deleted), by `storageKey\nindexKey`; applied at commit. */
  private staged: Map<string, { skey: string; key: string; obj: KubeObject | null }> | null = null;
  private readonly clock: Clock;
  private readonly random: CountingRandom;
  private readonly logSize: number;
  private rv: number;
  /** Every change with resourceVersion > logStart is in `log`, oldest first. */
  private log: StoreEvent[] = [];
  private logStart: number;
  private subscribers = new Set<Subscriber>();
  /** Events of the write in progress; published only after its transaction commits. */
  private pending: StoreEvent[] = [];
  /** Committed events not yet delivered to every subscriber. */
  private outbox: StoreEvent[] = [];
  /** True while events are being delivered: writes made by listeners queue behind them. */
  private delivering = false;
  private nextRv = 0;
  private closed = false;

  constructor(opts: StoreOptions) {
    this.clock = opts.clock;
    this.logSize = Math.max(1, opts.eventLogSize ?? 10_000);
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        resource TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        uid TEXT NOT NULL,
        resource_version INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (resource, namespace, name)
      ) WITHOUT ROWID;
      -- An index on uid (random UUIDs, never queried: owners are found in memory) made every write 2-4x slower.
      DROP INDEX IF EXISTS objects_by_uid;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT OR IGNORE INTO meta (key, value) VALUES ('resource_version', 0), ('rng_draws', 0);
    `);
    this.rv = this.metaValue('resource_version');
    this.logStart = this.rv;
    this.random = new CountingRandom(opts.rng);
    const draws = this.metaValue('rng_draws');
    for (let i = 0; i < draws; i++) this.random.u32();
    for (const r of RESOURCES) this.index.set(storageKey(r), new Map());
    for (const row of this.stmt('SELECT resource, namespace, name, body FROM objects ORDER BY resource, namespace, name').iterate() as IterableIterator<{
      resource: string;
      namespace: string;
      name: string;
      body: string;
    }>) {
      const obj = deepFreeze(JSON.parse(row.body) as KubeObject);
      this.commitOne(row.resource, indexKey(row.namespace, row.name), obj);
    }
  }

  // ---- the in-memory index --------------------------------------------------

  /** The committed (or, inside a write, staged) object, frozen: callers must not edit it. */
  peek(resource: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const skey = storageKey(resource);
    const key = indexKey(resource.namespaced ? (namespace ?? '') : '', name);
    if (this.staged) {
      const s = this.staged.get(`${skey}\n${key}`);
      if (s) return s.obj ?? undefined;
    }
    return this.index.get(skey)?.get(key);
  }

  /**
   * Every committed object of a resource, frozen, in (namespace, name)
   * order: what list() returns. Callers must not edit them.
   */
  snapshot(resource: ResourceInfo): KubeObject[] {
    return [...this.sorted(storageKey(resource))];
  }

  private sorted(skey: string): readonly KubeObject[] {
    let s = this.sortedCache.get(skey);
    if (!s) {
      const m = this.index.get(skey);
      s = m ? [...m.values()].sort(byNamespaceName) : [];
      this.sortedCache.set(skey, s);
    }
    return s;
  }

  private stage(resource: ResourceInfo, obj: KubeObject, deleted: boolean): void {
    const skey = storageKey(resource);
    const key = indexKey(obj.metadata.namespace ?? '', obj.metadata.name ?? '');
    (this.staged ??= new Map()).set(`${skey}\n${key}`, { skey, key, obj: deleted ? null : obj });
  }

  /** Put a committed object into the index (or take it out), keeping the owner index current. */
  private commitOne(skey: string, key: string, obj: KubeObject | null): void {
    let m = this.index.get(skey);
    if (!m) this.index.set(skey, (m = new Map()));
    this.sortedCache.delete(skey);
    const before = m.get(key);
    for (const ref of before?.metadata.ownerReferences ?? []) {
      const deps = ref.uid ? this.dependents.get(ref.uid) : undefined;
      deps?.delete(`${skey}\n${key}`);
      if (deps && !deps.size) this.dependents.delete(ref.uid!);
    }
    if (!obj) {
      m.delete(key);
      return;
    }
    m.set(key, obj);
    for (const ref of obj.metadata.ownerReferences ?? []) {
      if (!ref.uid) continue;
      let deps = this.dependents.get(ref.uid);
      if (!deps) this.dependents.set(ref.uid, (deps = new Map()));
      deps.set(`${skey}\n${key}`, { skey, key });
    }
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** Prepared statements are cached: the same few queries run on every request. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private metaValue(key: string): number {
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: number } | undefined;
    return row?.value ?? 0;
  }

  /** The resourceVersion of the latest committed change. */
  get resourceVersion(): number {
    return this.rv;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscribers.clear();
    this.db.close();
  }

  // ---- reads ----------------------------------------------------------------

  /** An editable copy of the object (see peek() for the shared, frozen one). */
  get(resource: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.peek(resource, namespace, name);
    return obj ? clone(obj) : undefined;
  }

  /** Objects of a resource in (namespace, name) order, filtered by selectors, optionally paged: frozen, shared objects (clone to edit). */
  list(resource: ResourceInfo, query: ListQuery = {}): ListPage {
    // The committed objects are all in the index (deferred rows are only not yet written), so lists
    // read it instead of parsing every row again: a 10,000-pod list took 100+ ms of JSON.parse.
    const all = this.sorted(storageKey(resource));
    const ns = resource.namespaced ? query.namespace : undefined;
    let i = 0;
    if (query.continue) {
      const after = decodeContinue(query.continue);
      // The first object after (namespace, name): a binary search over the sorted objects.
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const m = all[mid]!.metadata;
        if ((byText(m.namespace ?? '', after.namespace) || byText(m.name ?? '', after.name)) <= 0) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const labels = query.labelSelector?.isEverything ? undefined : query.labelSelector;
    // Building an object's selectable fields costs more than the rest of the loop: only with a selector.
    const fields = query.fieldSelector?.requirements.length ? query.fieldSelector : undefined;
    const items: KubeObject[] = [];
    let more = false;
    for (; i < all.length; i++) {
      const obj = all[i]!;
      if (ns && obj.metadata.namespace !== ns) continue;
      if (labels && !labels.matches(metaOf(obj).labels)) continue;
      if (fields && !fields.matches(selectableFieldsOf(resource, obj))) continue;
      if (query.limit !== undefined && query.limit > 0 && items.length >= query.limit) {
        more = true;
        break;
      }
      items.push(obj);
    }
    const page: ListPage = { items, resourceVersion: String(this.rv) };
    if (more) {
      const last = items[items.length - 1]!;
      page.continue = encodeContinue(metaOf(last).namespace ?? '', metaOf(last).name ?? '');
    }
    return page;
  }


  /** A free name `<prefix><5 random characters>` (prefix cut to 58 characters, as Kubernetes does). */
  generateName(resource: ResourceInfo, namespace: string | undefined, prefix: string): string {
    const base = prefix.slice(0, MAX_GENERATED_PREFIX);
    for (;;) {
      let suffix = '';
      for (let i = 0; i < NAME_SUFFIX_LENGTH; i++) suffix += NAME_SUFFIX_ALPHABET[this.random.below(NAME_SUFFIX_ALPHABET.length)];
      const name = base + suffix;
      if (!this.peek(resource, namespace, name)) return name;
    }
  }

  /** A UUID v4 (random bits from the injected generator). */
  newUid(): string {
    const bytes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const w = this.random.u32();
      bytes.push(w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff);
    }
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** Every stored row and counter as text: equal dumps mean equal stores. */
  dump(): string {
    this.writeDeferred();
    const rows = this.stmt('SELECT resource, namespace, name, uid, resource_version, body FROM objects ORDER BY resource, namespace, name').all();
    const meta = this.stmt('SELECT key, value FROM meta ORDER BY key').all();
    return JSON.stringify({ rows, meta });
  }

  /** How many objects of each resource are stored (for status pages and tests). */
  counts(): Record<string, number> {
    this.writeDeferred();
    const out: Record<string, number> = {};
    for (const r of this.stmt('SELECT resource, COUNT(*) AS n FROM objects GROUP BY resource').all() as { resource: string; n: number }[]) {
      out[r.resource] = r.n;
    }
    return out;
  }

  // ---- writes ---------------------------------------------------------------

  /**
   * Store a new object. Fills uid, creationTimestamp, resourceVersion and
   * generation; generates the name from metadata.generateName when no name is
   * given. Throws StatusError AlreadyExists. Like update() and delete(), it
   * answers with the stored object itself, frozen (clone it to edit).
   */
  create(resource: ResourceInfo, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    return this.write(opts, () => {
      const obj = opts.adopt ? input : clone(input);
      const meta = metaOf(obj);
      const ns = resource.namespaced ? (meta.namespace ?? '') : '';
      if (resource.namespaced) meta.namespace = ns;
      else delete meta.namespace;
      if (!meta.name && meta.generateName) meta.name = this.generateName(resource, ns, meta.generateName);
      const name = meta.name ?? '';
      if (this.peek(resource, ns, name)) throw new StatusError(alreadyExists(groupResource(resource), name));
      meta.uid = this.newUid();
      meta.creationTimestamp = rfc3339Seconds(this.clock.wallNow());
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
      delete meta.selfLink;
      delete meta.managedFields;
      if (resource.tracksGeneration) meta.generation = 1;
      else delete meta.generation;
      return this.put(resource, obj, 'ADDED');
    });
  }

  /**
   * Replace an object. If the incoming metadata.resourceVersion is set it must
   * equal the stored one (optimistic concurrency). Identity fields are kept
   * from the stored object; generation moves when anything outside metadata
   * and status changes. An update that changes nothing writes nothing. An
   * object being deleted whose last finalizer is removed is deleted.
   */
  update(resource: ResourceInfo, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    return this.write(opts, () => {
      const obj = opts.adopt ? input : clone(input);
      const meta = metaOf(obj);
      const ns = resource.namespaced ? (meta.namespace ?? '') : '';
      const name = meta.name ?? '';
      const old = this.peek(resource, ns, name);
      if (!old) throw new StatusError(notFound(groupResource(resource), name));
      const oldMeta = metaOf(old);
      if (meta.resourceVersion && meta.resourceVersion !== oldMeta.resourceVersion) {
        throw new StatusError(conflict(groupResource(resource), name));
      }
      if (resource.namespaced) meta.namespace = ns;
      else delete meta.namespace;
      meta.uid = oldMeta.uid!;
      meta.creationTimestamp = oldMeta.creationTimestamp!;
      for (const f of ['deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
        if (oldMeta[f] !== undefined) (meta as Record<string, unknown>)[f] = oldMeta[f];
        else delete meta[f];
      }
      delete meta.selfLink;
      delete meta.managedFields;
      if (resource.tracksGeneration) {
        const before = oldMeta.generation ?? 1;
        meta.generation = jsonEqual(specPart(obj), specPart(old)) ? before : before + 1;
      } else {
        delete meta.generation;
      }
      meta.resourceVersion = oldMeta.resourceVersion!;
      if (jsonEqual(obj, old)) return old;
      if (meta.deletionTimestamp && !(meta.finalizers ?? []).length) return this.remove(resource, obj, old);
      return this.put(resource, obj, 'MODIFIED', old);
    });
  }

  /**
   * Delete an object. With finalizers it is only marked (deletionTimestamp)
   * until they are removed. Dependents (objects whose ownerReferences name its
   * uid) are deleted too, unless the policy is Orphan, which unlinks them.
   * Deleting a namespace deletes everything in it. Returns the object as last
   * stored. Throws StatusError NotFound or Conflict (failed preconditions).
   */
  delete(resource: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject {
    return this.write(opts, () => {
      const ns = resource.namespaced ? (namespace ?? '') : '';
      const current = this.peek(resource, ns, name);
      if (!current) throw new StatusError(notFound(groupResource(resource), name));
      const meta = metaOf(current);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== meta.uid) {
        throw new StatusError(
          conflict(groupResource(resource), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`),
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion) {
        throw new StatusError(
          conflict(
            groupResource(resource),
            name,
            `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`,
          ),
        );
      }
      return this.deleteWithDependents(resource, current, opts.propagationPolicy ?? 'Background', new Set());
    });
  }

  private deleteWithDependents(resource: ResourceInfo, obj: KubeObject, policy: PropagationPolicy, visited: Set<string>): KubeObject {
    const meta = metaOf(obj);
    // Owner references can form cycles; each object is handled once per delete.
    visited.add(meta.uid ?? '');
    if (resource.kind === 'Namespace') {
      for (const r of RESOURCES) {
        if (!r.namespaced) continue;
        for (const item of this.list(r, { namespace: meta.name ?? '' }).items) {
          const still = this.peek(r, metaOf(item).namespace, metaOf(item).name ?? '');
          if (still) this.markOrRemove(r, still);
        }
      }
    }
    for (const dep of this.dependentsOf(meta.uid ?? '', meta.namespace ?? '')) {
      const still = this.peek(dep.resource, metaOf(dep.object).namespace, metaOf(dep.object).name ?? '');
      if (!still || visited.has(metaOf(still).uid ?? '')) continue;
      if (policy === 'Orphan') {
        const orphan = clone(still);
        const m = metaOf(orphan);
        m.ownerReferences = (m.ownerReferences ?? []).filter((r) => r.uid !== meta.uid);
        if (!m.ownerReferences.length) delete m.ownerReferences;
        this.put(dep.resource, orphan, 'MODIFIED', still);
      } else {
        this.deleteWithDependents(dep.resource, still, policy, visited);
      }
    }
    const fresh = this.peek(resource, meta.namespace, meta.name ?? '');
    return fresh ? this.markOrRemove(resource, fresh) : obj;
  }

  /** Objects that name `uid` as an owner: same namespace, or cluster-scoped; by resource, namespace, name. */
  private dependentsOf(uid: string, namespace: string): { resource: ResourceInfo; object: KubeObject }[] {
    if (!uid) return [];
    // Committed dependents from the owner index, then what this write has staged so far.
    const candidates = new Map<string, { skey: string; key: string }>(this.dependents.get(uid) ?? []);
    for (const [k, s] of this.staged ?? []) if (s.obj) candidates.set(k, s);
    const found: { skey: string; key: string; resource: ResourceInfo; object: KubeObject }[] = [];
    for (const { skey, key } of candidates.values()) {
      const resource = resourceByStorageKey(skey);
      if (!resource) continue;
      const slash = key.indexOf('/');
      const object = this.peek(resource, key.slice(0, slash), key.slice(slash + 1));
      if (!object) continue;
      const ns = object.metadata.namespace ?? '';
      if (ns !== namespace && ns !== '') continue;
      if (!(object.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) continue;
      found.push({ skey, key, resource, object });
    }
    found.sort((a, b) => byText(a.skey, b.skey) || byText(a.object.metadata.namespace ?? '', b.object.metadata.namespace ?? '') || byText(a.object.metadata.name ?? '', b.object.metadata.name ?? ''));
    return found.map(({ resource, object }) => ({ resource, object }));
  }

  /** With finalizers: stamp deletionTimestamp (once). Without: remove now. */
  private markOrRemove(resource: ResourceInfo, obj: KubeObject): KubeObject {
    const meta = metaOf(obj);
    if ((meta.finalizers ?? []).length) {
      if (meta.deletionTimestamp) return obj;
      const marked = clone(obj);
      metaOf(marked).deletionTimestamp = rfc3339Seconds(this.clock.wallNow());
      metaOf(marked).deletionGracePeriodSeconds = 0;
      return this.put(resource, marked, 'MODIFIED', obj);
    }
    return this.remove(resource, obj, obj);
  }

  private allocateRv(): number {
    this.nextRv += 1;
    return this.nextRv;
  }

  /**
   * Write an object this store owns (a fresh copy nobody else holds): it is
   * frozen and becomes the index's object and the event's. `previous` is the
   * stored (frozen) object it replaces.
   */
  private put(resource: ResourceInfo, obj: KubeObject, type: 'ADDED' | 'MODIFIED', previous?: KubeObject): KubeObject {
    const meta = metaOf(obj);
    const rv = this.allocateRv();
    meta.resourceVersion = String(rv);
    this.sql.push({ skey: storageKey(resource), namespace: meta.namespace ?? '', name: meta.name ?? '', obj });
    deepFreeze(obj);
    this.stage(resource, obj, false);
    this.record(type, resource, obj, previous, rv);
    return obj;
  }

  private remove(resource: ResourceInfo, obj: KubeObject, previous: KubeObject): KubeObject {
    const meta = metaOf(obj);
    this.sql.push({ skey: storageKey(resource), namespace: meta.namespace ?? '', name: meta.name ?? '', obj: null });
    // The deletion is a change of its own: the DELETED event carries a new resourceVersion.
    const rv = this.allocateRv();
    const gone = clone(obj);
    metaOf(gone).resourceVersion = String(rv);
    deepFreeze(gone);
    this.stage(resource, gone, true);
    this.record('DELETED', resource, gone, previous, rv);
    return gone;
  }

  /** Queue the event of a change (objects already frozen: listeners share them). */
  private record(type: WatchEventType, resource: ResourceInfo, obj: KubeObject, previous: KubeObject | undefined, rv: number): void {
    const e: StoreEvent = previous ? { type, resource, object: obj, previous: deepFreeze(previous), resourceVersion: rv } : { type, resource, object: obj, resourceVersion: rv };
    this.pending.push(e);
  }

  /**
   * Run `fn` with its writes in one SQLite transaction that commits once at
   * the end, even when `fn` throws, so what was published is what is stored.
   * Each write is still atomic and a refused write changes nothing: a write's
   * body works in memory and publishes its changes whole, and only then are
   * its rows queued. Rows are written when the batch commits, the last
   * version of each only (a pod created, bound and given a status in one
   * settle round is one row write, not three), and the file always holds a
   * prefix of the history of writes, a whole batch at a time. Reads through
   * SQL (list, dump) first write what is queued. Nested batches join the
   * outer one.
   */
  batch<T>(fn: () => T): T {
    if (this.closed || this.inBatch) return fn();
    this.stmt('BEGIN').run();
    this.inBatch = true;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.endBatch();
      throw err;
    }
    this.endBatch();
    return result;
  }

  /** Write what the batch queued and commit it. */
  private endBatch(): void {
    this.inBatch = false;
    try {
      if (this.closed || !this.db.inTransaction) return;
      this.writeDeferred();
      // The counters once per batch: nothing outside this transaction sees the rows in between.
      if (this.batchMetaDirty) this.writeMeta();
      this.stmt('COMMIT').run();
    } catch (err) {
      // The file keeps the previous batch; memory is ahead of it until a restart reconciles.
      if (!this.closed && this.db.inTransaction) this.stmt('ROLLBACK').run();
      throw err;
    } finally {
      this.deferred.clear();
      this.batchMetaDirty = false;
    }
  }

  private runRow(op: RowOp): void {
    if (op.obj) {
      const meta = op.obj.metadata;
      this.stmt(PUT_SQL).run(op.skey, op.namespace, op.name, meta.uid ?? '', Number(meta.resourceVersion), JSON.stringify(op.obj));
    } else {
      this.stmt(DELETE_SQL).run(op.skey, op.namespace, op.name);
    }
  }

  /** Write the rows a batch has queued (before it commits, or before a SQL read inside it). */
  private writeDeferred(): void {
    for (const op of this.deferred.values()) this.runRow(op);
    this.deferred.clear();
  }

  private writeMeta(): void {
    this.stmt("UPDATE meta SET value = ? WHERE key = 'resource_version'").run(this.rv);
    this.stmt("UPDATE meta SET value = ? WHERE key = 'rng_draws'").run(this.random.draws);
  }

  /** Write the rows of one write: in its own transaction, or queued in the batch (the last change of a row wins). */
  private flush(ops: RowOp[], metaDirty: boolean): void {
    if (this.inBatch) {
      for (const op of ops) this.deferred.set(`${op.skey}\n${op.namespace}/${op.name}`, op);
      this.batchMetaDirty ||= metaDirty;
      return;
    }
    if (!ops.length && !metaDirty) return;
    this.db.transaction(() => {
      for (const op of ops) this.runRow(op);
      if (metaDirty) this.writeMeta();
    })();
  }

  /**
   * Run one write: the body works in memory (reads see what it staged), then
   * its SQL runs in one transaction (a statement or savepoint inside a
   * batch); its events are published only after that.
   */
  private write(opts: WriteOptions, body: () => KubeObject): KubeObject {
    if (this.closed) throw new Error('store is closed');
    this.pending = [];
    this.staged = null;
    this.sql = [];
    this.nextRv = this.rv;
    const drawsBefore = this.random.draws;
    const rvBefore = this.rv;
    let result: KubeObject;
    try {
      result = body();
      if (opts.dryRun) throw new DryRunAbort(result);
      this.rv = this.nextRv;
      this.flush(this.sql, this.nextRv !== rvBefore || this.random.draws !== drawsBefore);
    } catch (err) {
      this.rv = rvBefore;
      this.pending = [];
      this.staged = null;
      this.sql = [];
      if (err instanceof DryRunAbort) {
        const preview = clone(err.result);
        delete metaOf(preview).resourceVersion;
        return preview;
      }
      throw err;
    }
    this.sql = [];
    // (The body staged its changes; TypeScript cannot see that through the closure.)
    const staged = this.staged as Map<string, { skey: string; key: string; obj: KubeObject | null }> | null;
    for (const st of staged?.values() ?? []) this.commitOne(st.skey, st.key, st.obj);
    this.staged = null;
    const events = this.pending;
    this.pending = [];
    for (const e of events) {
      this.log.push(e);
      if (this.log.length > this.logSize) this.logStart = this.log.shift()!.resourceVersion;
      this.outbox.push(e);
    }
    this.drain();
    return result;
  }

  /**
   * Deliver queued events in resourceVersion order. A listener that writes
   * (a controller reacting to a change) queues its events behind the ones
   * still being delivered, so every subscriber sees changes in order.
   */
  private drain(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.outbox.length) {
        const e = this.outbox.shift()!;
        for (const sub of [...this.subscribers]) this.deliver(sub, e);
      }
    } finally {
      this.delivering = false;
    }
  }

  private deliver(sub: Subscriber, e: StoreEvent): void {
    if (!sub.active || e.resourceVersion <= sub.seen) return;
    sub.seen = e.resourceVersion;
    try {
      sub.listener(e);
    } catch (err) {
      process.emitWarning(`podpath store: a watch listener threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // ---- watch ----------------------------------------------------------------

  /**
   * Deliver every change after `fromResourceVersion` (replayed from the log,
   * then live), or only future changes when it is undefined. Throws StatusError
   * 410 Expired when the log no longer reaches back that far. Returns a
   * function that stops the subscription.
   */
  watch(fromResourceVersion: number | undefined, listener: (e: StoreEvent) => void): () => void {
    if (fromResourceVersion !== undefined && fromResourceVersion < this.logStart) {
      throw new StatusError(expired(`too old resource version: ${fromResourceVersion} (${this.logStart})`));
    }
    const sub: Subscriber = { listener, seen: fromResourceVersion ?? this.rv, active: true };
    this.subscribers.add(sub);
    if (fromResourceVersion !== undefined) {
      // Replay under the delivery lock so writes made by the listener queue behind the replay.
      const wasDelivering = this.delivering;
      this.delivering = true;
      try {
        for (const e of [...this.log]) this.deliver(sub, e);
      } finally {
        this.delivering = wasDelivering;
      }
      this.drain();
    }
    return () => {
      sub.active = false;
      this.subscribers.delete(sub);
    };
  }

  /** The oldest resourceVersion a watch can still start from. */
  get oldestWatchableResourceVersion(): number {
    return this.logStart;
  }
}

const RESOURCE_BY_STORAGE_KEY = new Map(RESOURCES.map((r) => [storageKey(r), r]));

function resourceByStorageKey(skey: string): ResourceInfo | undefined {
  return RESOURCE_BY_STORAGE_KEY.get(skey);
}

function encodeContinue(namespace: string, name: string): string {
  return Buffer.from(JSON.stringify({ v: 1, ns: namespace, n: name })).toString('base64url');
}

function decodeContinue(token: string): { namespace: string; name: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isPlainObject(parsed) && typeof parsed['ns'] === 'string' && typeof parsed['n'] === 'string') {
      return { namespace: parsed['ns'], name: parsed['n'] };
    }
  } catch {
    // fall through to the error below
  }
  throw new StatusError(badRequest(`invalid continue token: ${token}`));
}
