import { BackupError } from './errors.ts';

/** Exact-size reads over a stream of chunks, copying only when a read spans chunks. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private available = 0;
  private done = false;
  private readonly source: AsyncIterator<Buffer>;

  constructor(source: AsyncIterator<Buffer>) {
    this.source = source;
  }

  /** n bytes, or undefined at a clean end of stream; a partial read is corruption. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.available < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.available += next.value.length;
      }
    }
    if (this.available === 0) return undefined;
    if (this.available < n)
      throw new BackupError(
        'corrupt-archive',
        'corrupt archive: it ends in the middle of a record',
      );
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[0] as Buffer;
        const take = Math.min(chunk.length, n - filled);
        chunk.copy(out, filled, 0, take);
        filled += take;
        if (take === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(take);
      }
    }
    this.available -= n;
    return out;
  }
}
