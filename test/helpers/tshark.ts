// Runs the real Wireshark dissector over pcaps we write, as an independent
// check of our bytes. Tests skip (with a reason) when tshark is not installed.
import { spawnSync } from 'node:child_process';

let cached: boolean | undefined;

export function tsharkAvailable(): boolean {
  if (cached === undefined) {
    const r = spawnSync('tshark', ['-v'], { encoding: 'utf8', timeout: 30_000 });
    cached = r.status === 0;
  }
  return cached;
}

/** Checksum validation on, and UDP 8472 decoded as VXLAN (Wireshark only maps 4789 by default). */
const COMMON_ARGS = [
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'tcp.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
  '-d',
  'udp.port==8472,vxlan',
];

export interface TsharkResult {
  /** One element per frame, as `tshark -T json` prints them. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any[];
  /** The `-V` packet details text. */
  text: string;
  stderr: string;
}

export function tsharkDecode(pcapPath: string, extraArgs: string[] = []): TsharkResult {
  const run = (format: string[]): { stdout: string; stderr: string } => {
    const r = spawnSync('tshark', ['-r', pcapPath, ...COMMON_ARGS, ...extraArgs, ...format], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
      env: { ...process.env, LC_ALL: 'C' },
    });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`tshark exited with ${r.status}: ${r.stderr}`);
    return { stdout: r.stdout, stderr: r.stderr };
  };
  // --no-duplicate-keys: a VXLAN frame has two eth/ip layers; without it the
  // JSON object repeats keys and JSON.parse keeps only the inner one.
  const j = run(['-T', 'json', '--no-duplicate-keys']);
  const t = run(['-V']);
  return { json: JSON.parse(j.stdout), text: t.stdout, stderr: j.stderr + t.stderr };
}

/**
 * The occurrences of a protocol layer in one frame's `_source.layers`, outer
 * first (a single occurrence is a plain object in tshark's JSON).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function tsharkLayers(frame: any, name: string): any[] {
  const v = frame?._source?.layers?.[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Depth-first search for a field anywhere under a layer (tshark nests fields in *_tree objects). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function tsharkField(node: any, field: string): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  if (Object.prototype.hasOwnProperty.call(node, field)) {
    const v = node[field];
    return Array.isArray(v) ? String(v[0]) : String(v);
  }
  for (const k of Object.keys(node)) {
    const found = tsharkField(node[k], field);
    if (found !== undefined) return found;
  }
  return undefined;
}
