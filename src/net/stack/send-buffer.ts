// Bytes the app wrote that TCP has not seen acknowledged yet. Writes are
// copied into fixed-size chunks (the app may reuse its buffer), and segments
// are cut from it as views, copying only when a segment spans two chunks.

const CHUNK_BYTES = 16 * 1024;

interface Chunk {
  buf: Uint8Array;
  /** First unconsumed byte. */
  start: number;
  /** One past the last written byte. */
  end: number;
}

export class SendBuffer {
  private chunks: Chunk[] = [];
  private len = 0;

  get length(): number {
    return this.len;
  }

  append(bytes: Uint8Array): void {
    let src = 0;
    while (src < bytes.length) {
      let tail = this.chunks[this.chunks.length - 1];
      if (!tail || tail.end === tail.buf.length) {
        tail = { buf: new Uint8Array(CHUNK_BYTES), start: 0, end: 0 };
        this.chunks.push(tail);
      }
      const n = Math.min(bytes.length - src, tail.buf.length - tail.end);
      tail.buf.set(bytes.subarray(src, src + n), tail.end);
      tail.end += n;
      src += n;
    }
    this.len += bytes.length;
  }

  /** Drops the first n bytes (they were acknowledged). */
  consume(n: number): void {
    let left = Math.min(n, this.len);
    this.len -= left;
    while (left > 0) {
      const head = this.chunks[0]!;
      const take = Math.min(left, head.end - head.start);
      head.start += take;
      left -= take;
      if (head.start === head.end) this.chunks.shift();
    }
    if (this.len === 0) this.chunks.length = 0;
  }

  /** len bytes from offset (caller keeps offset+len ≤ length): a view when they lie in one chunk, else a copy. */
  read(offset: number, len: number): Uint8Array {
    let skip = offset;
    let i = 0;
    while (i < this.chunks.length && skip >= this.chunks[i]!.end - this.chunks[i]!.start) {
      skip -= this.chunks[i]!.end - this.chunks[i]!.start;
      i++;
    }
    const first = this.chunks[i];
    if (!first || len === 0) return new Uint8Array(0);
    const from = first.start + skip;
    if (from + len <= first.end) return first.buf.subarray(from, from + len);
    const out = new Uint8Array(len);
    let copied = 0;
    let pos = from;
    while (copied < len && i < this.chunks.length) {
      const c = this.chunks[i]!;
      const n = Math.min(len - copied, c.end - pos);
      out.set(c.buf.subarray(pos, pos + n), copied);
      copied += n;
      i++;
      pos = this.chunks[i]?.start ?? 0;
    }
    return out;
  }

  clear(): void {
    this.chunks.length = 0;
    this.len = 0;
  }
}
