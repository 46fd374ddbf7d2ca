// Conntrack survives a daemon restart the way pinned maps survive a
// cilium-agent restart: the CT maps of every node are written to a file
// (with the virtual time they refer to) and loaded back on start.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { KeyValueMap } from '../bpf/types.js';
import { BPF_ANY } from '../bpf/types.js';
import type { NodeDatapath } from '../datapath/sim/node-datapath.js';
import { concatBytes } from '../util/bytes.js';

const MAGIC = 0x50504354; // "PPCT"
const VERSION = 1;

export interface SnapshotNode {
  name: string;
  dp: NodeDatapath;
}

function ctMaps(dp: NodeDatapath): KeyValueMap[] {
  return [dp.ct4, dp.ctAny4];
}

/** Serialize every node's CT maps, stamped with the clock time (ms) they belong to. */
export function encodeConntrack(nodes: SnapshotNode[], clockMs: number, wallMs: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  const head = new DataView(new ArrayBuffer(24));
  head.setUint32(0, MAGIC, true);
  head.setUint32(4, VERSION, true);
  head.setFloat64(8, clockMs, true);
  head.setFloat64(16, wallMs, true);
  chunks.push(new Uint8Array(head.buffer));
  const enc = new TextEncoder();
  for (const n of nodes) {
    for (const m of ctMaps(n.dp)) {
      const label = enc.encode(`${n.name}\0${m.spec.name}`);
      const entries: Uint8Array[] = [];
      const { keySize, valueSize } = m.spec;
      m.forEach((keys, keyOff, valueOff) => {
        const e = new Uint8Array(keySize + valueSize);
        e.set(keys.subarray(keyOff, keyOff + keySize), 0);
        e.set(m.values.subarray(valueOff, valueOff + valueSize), keySize);
        entries.push(e);
      });
      const h = new DataView(new ArrayBuffer(12));
      h.setUint32(0, label.length, true);
      h.setUint32(4, entries.length, true);
      h.setUint32(8, keySize + valueSize, true);
      chunks.push(new Uint8Array(h.buffer), label, ...entries);
    }
  }
  return concatBytes(chunks);
}

export interface DecodedSnapshot {
  clockMs: number;
  wallMs: number;
  /** Entries restored per "node/map". */
  restored: Record<string, number>;
}

/** Load a snapshot into the nodes' CT maps (unknown nodes/maps are skipped). Throws on a corrupt file. */
export function decodeConntrack(bytes: Uint8Array, nodes: SnapshotNode[]): DecodedSnapshot {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24 || v.getUint32(0, true) !== MAGIC || v.getUint32(4, true) !== VERSION) throw new Error('not a podpath conntrack snapshot');
  const clockMs = v.getFloat64(8, true);
  const wallMs = v.getFloat64(16, true);
  const byName = new Map<string, KeyValueMap>();
  for (const n of nodes) for (const m of ctMaps(n.dp)) byName.set(`${n.name}\0${m.spec.name}`, m);
  const dec = new TextDecoder();
  const restored: Record<string, number> = {};
  let o = 24;
  while (o < bytes.length) {
    if (o + 12 > bytes.length) throw new Error('truncated conntrack snapshot');
    const labelLen = v.getUint32(o, true);
    const count = v.getUint32(o + 4, true);
    const size = v.getUint32(o + 8, true);
    o += 12;
    if (o + labelLen + count * size > bytes.length) throw new Error('truncated conntrack snapshot');
    const label = dec.decode(bytes.subarray(o, o + labelLen));
    o += labelLen;
    const m = byName.get(label);
    const fits = m && m.spec.keySize + m.spec.valueSize === size;
    let n = 0;
    for (let i = 0; i < count; i++, o += size) {
      if (!fits) continue;
      if (m.update(bytes, bytes, BPF_ANY, o, o + m.spec.keySize) === 0) n++;
    }
    restored[label.replace('\0', '/')] = n;
  }
  return { clockMs, wallMs, restored };
}

export function saveConntrack(path: string, nodes: SnapshotNode[], clockMs: number): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, encodeConntrack(nodes, clockMs, Date.now()), { mode: 0o600 });
  renameSync(tmp, path);
}

export function loadConntrack(path: string, nodes: SnapshotNode[]): DecodedSnapshot | null {
  if (!existsSync(path)) return null;
  return decodeConntrack(new Uint8Array(readFileSync(path)), nodes);
}

/** Where the clock starts after a restart: the snapshot's time plus the wall time that passed. */
export function resumeClockMs(snapshot: { clockMs: number; wallMs: number } | null, nowWallMs: number): number {
  if (!snapshot) return 0;
  return snapshot.clockMs + Math.max(0, nowWallMs - snapshot.wallMs);
}

/** Read only the header (times) without touching maps. */
export function peekConntrackTimes(path: string): { clockMs: number; wallMs: number } | null {
  if (!existsSync(path)) return null;
  const b = readFileSync(path);
  if (b.length < 24) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(0, true) !== MAGIC) return null;
  return { clockMs: v.getFloat64(8, true), wallMs: v.getFloat64(16, true) };
}
