import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfFs, BPF_FS_GLOBALS } from '../../src/bpf/fs.js';
import { createMap } from '../../src/bpf/create.js';
import { HashMap } from '../../src/bpf/hash.js';
import { LruHashMap } from '../../src/bpf/lru.js';
import { LpmTrieMap } from '../../src/bpf/lpm.js';
import { ArrayMap, PerCpuArrayMap } from '../../src/bpf/array.js';
import { PerCpuHashMap } from '../../src/bpf/hash.js';
import { ProgArray } from '../../src/bpf/prog-array.js';
import { EventRing, PerfEventArray } from '../../src/bpf/ringbuf.js';
import { BPF_F_NO_PREALLOC, BpfMapType, Errno, bpfMapTypeName } from '../../src/bpf/types.js';
import { u32Key, valueOf } from './helpers.js';

test('map type numbers and bpftool names match the kernel', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 9, 11, 27].map(bpfMapTypeName),
    ['hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array', 'lru_hash', 'lpm_trie', 'ringbuf'],
  );
  assert.equal(bpfMapTypeName(99), 'unknown(99)');
});

test('createMap picks the class from the spec type', () => {
  const base = { name: 'm', keySize: 8, valueSize: 4, maxEntries: 4 };
  assert.ok(createMap({ ...base, type: BpfMapType.HASH }) instanceof HashMap);
  assert.ok(createMap({ ...base, type: BpfMapType.LRU_HASH }) instanceof LruHashMap);
  assert.ok(createMap({ ...base, type: BpfMapType.LPM_TRIE, flags: BPF_F_NO_PREALLOC }) instanceof LpmTrieMap);
  assert.ok(createMap({ ...base, keySize: 4, type: BpfMapType.ARRAY }) instanceof ArrayMap);
  const pc = createMap({ ...base, type: BpfMapType.PERCPU_HASH }, { nCpus: 2 });
  assert.ok(pc instanceof PerCpuHashMap && pc.nCpus === 2);
  assert.ok(createMap({ ...base, keySize: 4, type: BpfMapType.PERCPU_ARRAY }) instanceof PerCpuArrayMap);
  assert.throws(() => createMap({ ...base, type: BpfMapType.PROG_ARRAY }));
});

test('pin, get by name or path, list sorted, unpin', () => {
  const fs = new BpfFs();
  const lxc = new HashMap({ name: 'cilium_lxc', keySize: 20, valueSize: 48, maxEntries: 65535 });
  const calls = new ProgArray<() => number>({ name: 'cilium_call_policy', maxEntries: 65535 });
  const events = new PerfEventArray();
  assert.equal(fs.pin(lxc), 0);
  assert.equal(fs.pin(calls), 0);
  assert.equal(fs.pin(events), 0);
  assert.equal(fs.pin(new EventRing(4096, 'hubble_ring')), 0);
  assert.equal(fs.pin(lxc), -Errno.EEXIST);
  assert.deepEqual(fs.list(), ['cilium_call_policy', 'cilium_events', 'cilium_lxc', 'hubble_ring']);
  assert.equal(fs.get('cilium_lxc'), lxc);
  assert.equal(fs.get(`${BPF_FS_GLOBALS}/cilium_lxc`), lxc);
  assert.equal(fs.path('cilium_lxc'), '/sys/fs/bpf/tc/globals/cilium_lxc');
  assert.equal(fs.map('cilium_lxc'), lxc);
  assert.equal(fs.progArray('cilium_call_policy'), calls);
  assert.equal(fs.perfEventArray('cilium_events'), events);
  assert.ok(fs.ring('hubble_ring') instanceof EventRing);
  assert.throws(() => fs.map('cilium_call_policy'), /not a key\/value map/);
  assert.throws(() => fs.getOrThrow('cilium_ipcache'), /no such pinned map/);
  assert.equal(fs.get('cilium_ipcache'), undefined);
  assert.equal(fs.unpin('cilium_lxc'), 0);
  assert.equal(fs.unpin('cilium_lxc'), -Errno.ENOENT);
  assert.equal(fs.has('cilium_lxc'), false);
});

test('fork deep-copies maps, copies prog slot tables, and recreates rings empty', () => {
  const fs = new BpfFs();
  const lxc = new HashMap({ name: 'cilium_lxc', keySize: 4, valueSize: 4, maxEntries: 16 });
  lxc.update(u32Key(1), valueOf(4, 1));
  const calls = new ProgArray<string>({ name: 'cilium_call_policy', maxEntries: 8 });
  calls.set(1, 'handle_policy');
  const events = new PerfEventArray({ ringBytes: 1024 });
  events.output(0, valueOf(8, 1), 0, 8);
  fs.pin(lxc);
  fs.pin(calls);
  fs.pin(events);
  const fork = fs.fork();
  assert.deepEqual(fork.list(), fs.list());
  const forkedLxc = fork.map('cilium_lxc');
  assert.notEqual(forkedLxc, lxc);
  forkedLxc.update(u32Key(1), valueOf(4, 9));
  forkedLxc.update(u32Key(2), valueOf(4, 2));
  assert.equal(lxc.values[lxc.lookup(u32Key(1))], 1);
  assert.equal(lxc.lookup(u32Key(2)), -1);
  const forkedCalls = fork.progArray<string>('cilium_call_policy');
  assert.equal(forkedCalls.get(1), 'handle_policy');
  forkedCalls.delete(1);
  assert.equal(calls.get(1), 'handle_policy');
  const forkedEvents = fork.perfEventArray('cilium_events');
  assert.equal(forkedEvents.consume(() => undefined), 0, 'fork starts with empty rings');
  forkedEvents.output(0, valueOf(8, 2), 0, 8);
  assert.equal(events.consume(() => undefined), 1, 'live ring only has its own event');
});
