// The pinned-object namespace, /sys/fs/bpf/tc/globals/<name>: where the agent
// puts maps and where programs (and `cilium bpf ... list`) find them by name.
import { Errno, bpfMapTypeName } from './types.js';
import type { KeyValueMap } from './types.js';
import { ProgArray } from './prog-array.js';
import { EventRing, PerfEventArray } from './ringbuf.js';

export const BPF_FS_GLOBALS = '/sys/fs/bpf/tc/globals';

export type PinnedObject = KeyValueMap | ProgArray<unknown> | EventRing | PerfEventArray;

function isKeyValueMap(obj: PinnedObject): obj is KeyValueMap {
  return !(obj instanceof ProgArray || obj instanceof EventRing || obj instanceof PerfEventArray);
}

/** Accepts `cilium_lxc` or `/sys/fs/bpf/tc/globals/cilium_lxc`. */
function baseName(nameOrPath: string): string {
  const prefix = BPF_FS_GLOBALS + '/';
  return nameOrPath.startsWith(prefix) ? nameOrPath.slice(prefix.length) : nameOrPath;
}

export class BpfFs {
  private readonly objects = new Map<string, PinnedObject>();

  /** Pin under `name` (default: the object's spec name). 0, or -EEXIST if the name is taken. */
  pin(obj: PinnedObject, name: string = obj.spec.name): number {
    const key = baseName(name);
    if (this.objects.has(key)) return -Errno.EEXIST;
    this.objects.set(key, obj);
    return 0;
  }

  /** 0, or -ENOENT. */
  unpin(nameOrPath: string): number {
    return this.objects.delete(baseName(nameOrPath)) ? 0 : -Errno.ENOENT;
  }

  has(nameOrPath: string): boolean {
    return this.objects.has(baseName(nameOrPath));
  }

  get(nameOrPath: string): PinnedObject | undefined {
    return this.objects.get(baseName(nameOrPath));
  }

  getOrThrow(nameOrPath: string): PinnedObject {
    const obj = this.get(nameOrPath);
    if (obj === undefined) throw new Error(`${this.path(baseName(nameOrPath))}: no such pinned map`);
    return obj;
  }

  /** A pinned key/value map (hash, LRU, LPM, array, per-CPU); throws if missing or of another kind. */
  map(nameOrPath: string): KeyValueMap {
    const obj = this.getOrThrow(nameOrPath);
    if (!isKeyValueMap(obj)) throw new Error(`${this.path(baseName(nameOrPath))}: ${bpfMapTypeName(obj.spec.type)} is not a key/value map`);
    return obj;
  }

  progArray<P>(nameOrPath: string): ProgArray<P> {
    const obj = this.getOrThrow(nameOrPath);
    if (!(obj instanceof ProgArray)) throw new Error(`${this.path(baseName(nameOrPath))}: not a prog array`);
    return obj as ProgArray<P>;
  }

  ring(nameOrPath: string): EventRing {
    const obj = this.getOrThrow(nameOrPath);
    if (!(obj instanceof EventRing)) throw new Error(`${this.path(baseName(nameOrPath))}: not a ring buffer`);
    return obj;
  }

  perfEventArray(nameOrPath: string): PerfEventArray {
    const obj = this.getOrThrow(nameOrPath);
    if (!(obj instanceof PerfEventArray)) throw new Error(`${this.path(baseName(nameOrPath))}: not a perf event array`);
    return obj;
  }

  /** Full pin path of a name. */
  path(name: string): string {
    return `${BPF_FS_GLOBALS}/${name}`;
  }

  /** Pinned names, sorted. */
  list(): string[] {
    return [...this.objects.keys()].sort();
  }

  /**
   * A namespace for what-if traces that cannot disturb this one:
   * - key/value maps are deep-copied (clone()),
   * - prog arrays get new slot tables holding the same program objects
   *   (programs are stateless; re-pointing a slot in the fork stays in the fork),
   * - event rings and perf arrays are recreated empty with the same sizes, so
   *   events of a hypothetical trace never reach the live Hubble reader.
   */
  fork(): BpfFs {
    const copy = new BpfFs();
    for (const [name, obj] of this.objects) {
      let forked: PinnedObject;
      if (obj instanceof ProgArray) forked = obj.clone();
      else if (obj instanceof EventRing || obj instanceof PerfEventArray) forked = obj.recreate();
      else forked = obj.clone();
      copy.objects.set(name, forked);
    }
    return copy;
  }
}
