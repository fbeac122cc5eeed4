/**
 * DATA bytes of one stream waiting to be sent, and their framing: as many DATA frames as the
 * allowance permits, each no larger than the peer's MAX_FRAME_SIZE. Message buffers are sliced,
 * never copied here (OutBuffer copies the small ones into its slab).
 */
import { FrameType } from '../../wire/frames.js';
import type { OutBuffer } from './out-buffer.js';

export class PendingData {
  private parts: Buffer[] = [];
  /** Index of the first part still (partly) unsent, and the offset into it. */
  private first = 0;
  private offset = 0;
  /** Bytes waiting. */
  length = 0;

  push(buf: Buffer): void {
    if (buf.length === 0) return;
    this.parts.push(buf);
    this.length += buf.length;
  }

  clear(): void {
    this.parts = [];
    this.first = this.offset = 0;
    this.length = 0;
  }

  /**
   * Frames up to `allowance` waiting bytes as DATA frames on `streamId` into `out`; returns the
   * bytes framed (what the caller takes off its flow-control windows).
   */
  writeFrames(out: OutBuffer, streamId: number, allowance: number, maxFrame: number): number {
    let left = Math.min(allowance, this.length);
    const total = left;
    while (left > 0) {
      const frameLen = Math.min(left, maxFrame);
      out.frameHeader(frameLen, FrameType.DATA, 0, streamId);
      let need = frameLen;
      while (need > 0) {
        const part = this.parts[this.first]!;
        const take = Math.min(part.length - this.offset, need);
        out.bytes(this.offset === 0 && take === part.length ? part : part.subarray(this.offset, this.offset + take));
        need -= take;
        this.offset += take;
        if (this.offset === part.length) {
          this.first++;
          this.offset = 0;
        }
      }
      left -= frameLen;
    }
    this.length -= total;
    if (this.first === this.parts.length) {
      this.parts = [];
      this.first = 0;
    } else if (this.first > 64) {
      this.parts = this.parts.slice(this.first); // keep the array from growing without bound
      this.first = 0;
    }
    return total;
  }
}
