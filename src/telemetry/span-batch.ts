/**
 * One export's worth of encoded spans, written back to back exactly as they sit in the export
 * request: each as a ScopeSpans `spans` field (tag, length, the Span's bytes). An export then
 * frames the whole block with one copy (otlp-span-encoder.ts encodeExportRequest).
 *
 * Why not a Buffer per span: the queue held up to 2048 of them for up to a batch's fill time,
 * long enough for V8's young-generation collections to find them alive, copy them and promote
 * them; with spans copied into a batch's one buffer, a span leaves nothing behind on the heap.
 * A batch's buffer is reused once its export has answered (span-queue.ts).
 */
import { copyBytes } from '../copy-bytes.js';
import { LEN, ProtoWriter } from './proto-writer.js';

/** ScopeSpans.spans */
const SPANS_FIELD = 2;
export class SpanBatch {
  /** Spans in the batch. */
  count = 0;
  private readonly out: ProtoWriter;

  constructor(initialBytes = 16 * 1024) {
    this.out = new ProtoWriter(initialBytes);
  }

  /** Appends one encoded Span: the first `length` bytes of `span`. */
  add(span: Uint8Array, length = span.length): void {
    const out = this.out;
    out.tag(SPANS_FIELD, LEN);
    out.uint(length);
    out.room(length);
    copyBytes(span, 0, out.buf, out.pos, length);
    out.pos += length;
    this.count++;
  }

  /** The spans' fields, back to back: a view, valid until the batch is cleared or added to. */
  get bytes(): Uint8Array {
    return this.out.buf.subarray(0, this.out.pos);
  }

  /** Empties the batch, keeping its buffer for the next one. */
  clear(): void {
    this.count = 0;
    this.out.pos = 0;
  }
}
