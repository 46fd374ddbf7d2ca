// Template hashes as the Deployment and DaemonSet controllers spell them: a
// 32-bit FNV-1a hash of the pod template, its decimal digits mapped onto the
// vowel-free alphabet Kubernetes uses for generated names ("5d4f8c7b9").

import { canonicalJson } from '../../k8s/json.js';

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString: each character of `s` picks a letter of the safe alphabet. */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** pod-template-hash of a Deployment's template (collisionCount perturbs it after a name clash). */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const text = canonicalJson(template ?? {}) + (collisionCount ? `#${collisionCount}` : '');
  return safeEncode(String(fnv32a(text)));
}

/** controller-revision-hash of a DaemonSet template. */
export function controllerRevisionHash(template: unknown): string {
  return safeEncode(String(fnv32a(`ds:${canonicalJson(template ?? {})}`)));
}
