/**
 * Values the recorder redacted once, so they can be scrubbed wherever they come back: an env
 * value blanked in CreateContainer returns as ExecSync stdout when the container prints it.
 *
 * The values themselves are not kept, only keyed hashes: an HMAC-SHA256 under a key made fresh
 * for each recorder (never written anywhere), plus a cheap rolling fingerprint under a random
 * base to find candidate windows in long bodies without an HMAC per byte. A heap dump of the
 * proxy then holds no redacted value in the clear.
 *
 * Runs in the recorder's batch writer on the observer thread, never on the forwarding path.
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';

/** Shorter values ("1", "yes") would scrub innocent bytes everywhere: they are not tracked. */
export const MIN_SECRET_BYTES = 4;
/** Longer values are not tracked: they are whole files or certificates, scrubbed where redacted. */
const MAX_SECRET_BYTES = 64 * 1024;
/** Bounds memory (and scan time) for a recorder that runs for months. */
const MAX_SECRETS = 10_000;
const FILL = 0x2a; // '*'

export class SecretMemory {
  private readonly key = randomBytes(32);
  /** Odd, so multiplication by it is invertible mod 2^32 (every window hash is as likely). */
  private readonly base = (randomInt(1, 2 ** 31) * 2 + 1) >>> 0;
  /** Length → rolling fingerprint → HMACs of the values with that length and fingerprint. */
  private readonly byLength = new Map<number, Map<number, string[]>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Length of the longest remembered value (how far apart pieces of one body must overlap to be scrubbed). */
  get longest(): number {
    let n = 0;
    for (const len of this.byLength.keys()) if (len > n) n = len;
    return n;
  }

  private hmac(bytes: Uint8Array): string {
    return createHmac('sha256', this.key).update(bytes).digest('base64');
  }

  private fingerprint(bytes: Uint8Array, start: number, length: number): number {
    let h = 0;
    for (let i = start; i < start + length; i++) h = (Math.imul(h, this.base) + bytes[i]!) >>> 0;
    return h;
  }

  /**
   * remember, bound to this memory once: the callback redaction hands values to, call after call,
   * without a closure made per call (learn-secrets.ts, prepare.ts).
   */
  readonly learn = (value: Uint8Array): void => this.remember(value);

  /** Remembers a redacted value (the caller then drops its own reference to it). */
  remember(value: Uint8Array): void {
    const n = value.length;
    if (n < MIN_SECRET_BYTES || n > MAX_SECRET_BYTES || this.count >= MAX_SECRETS) return;
    let prints = this.byLength.get(n);
    if (!prints) this.byLength.set(n, (prints = new Map()));
    const fp = this.fingerprint(value, 0, n);
    const mac = this.hmac(value);
    const macs = prints.get(fp);
    if (macs?.includes(mac)) return;
    if (macs) macs.push(mac);
    else prints.set(fp, [mac]);
    this.count++;
  }

  /**
   * Returns a copy of `data` with every remembered value overwritten by '*' of the same length
   * (so protobuf length prefixes stay right and the message still decodes), or undefined when
   * no remembered value occurs in it.
   */
  scrub(data: Uint8Array): Buffer | undefined {
    if (this.count === 0) return undefined;
    let out: Buffer | undefined;
    for (const [n, prints] of this.byLength) {
      if (data.length < n) continue;
      // Rolling hash over every window of length n: h(i+1) = (h(i) - b[i]·B^(n-1))·B + b[i+n].
      let top = 1;
      for (let i = 1; i < n; i++) top = Math.imul(top, this.base) >>> 0;
      // Windows are hashed over the original bytes, so earlier fills never disturb the roll.
      const src = data;
      let h = this.fingerprint(src, 0, n);
      for (let i = 0; ; i++) {
        const macs = prints.get(h);
        if (macs && macs.includes(this.hmac(src.subarray(i, i + n)))) {
          out ??= Buffer.from(data);
          out.fill(FILL, i, i + n);
        }
        if (i + n >= src.length) break;
        h = (Math.imul((h - Math.imul(src[i]!, top)) >>> 0, this.base) + src[i + n]!) >>> 0;
      }
    }
    return out;
  }

  /** scrub for text (header values, status messages). */
  scrubText(text: string): string | undefined {
    if (this.count === 0 || text.length < MIN_SECRET_BYTES) return undefined;
    const out = this.scrub(Buffer.from(text, 'utf8'));
    return out?.toString('utf8');
  }
}
