/**
 * The client→server half of replay's front: an HTTP/2 byte stream in, the same stream out with
 * every header block rewritten so that nghttp2 (inside grpc-js) accepts it.
 *
 * Why: Go CRI clients built before Kubernetes 1.30 send the socket path as `:authority`
 * (`/run/containerd/containerd.sock`); nghttp2 resets such streams with PROTOCOL_ERROR. The
 * front decodes each header block with a decoder that mirrors the client's encoder, replaces
 * an `:authority` that is not a valid host[:port] with `localhost`, and re-encodes the block as
 * HPACK literals without indexing, so the server's decoder table is never used. Because the
 * client's encoder believes the server's table holds what it indexed, EVERY block is rewritten
 * (passing one through unchanged could refer to entries the server never saw).
 *
 * Every other frame passes through byte for byte; DATA payloads are streamed, never buffered.
 * Server→client bytes are not touched at all (the caller pipes them straight through).
 */
import type { Header } from '../call.js';
import { encodeHeaderBlock, headersFrames } from '../wire/frame-writer.js';
import { Flag, FrameType, PREFACE, WireError } from '../wire/frames.js';
import { HpackDecoder } from '../wire/hpack.js';

const FRAME_HEADER = 9;
/** A header block larger than this is treated as hostile and ends the connection. */
const DEFAULT_MAX_HEADER_BLOCK = 1024 * 1024;
/** What the server accepts per frame until it says otherwise (RFC 9113 §6.5.2 default). */
const DEFAULT_MAX_FRAME = 16384;

/** host, host:port, [v6]:port: RFC 3986 reg-name characters only, no path, no spaces. */
const VALID_AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(?::\d{0,5})?$/;

export function isValidAuthority(value: string): boolean {
  return VALID_AUTHORITY.test(value);
}

/** The headers with a bad `:authority` replaced by `localhost`; everything else as it was. */
export function fixAuthority(headers: Header[]): Header[] {
  return headers.map((h) => (h[0] === ':authority' && !isValidAuthority(h[1]) ? [':authority', 'localhost'] : h));
}

export interface AuthorityFrontOptions {
  maxHeaderBlock?: number;
  /** Largest frame payload the server accepts (its SETTINGS_MAX_FRAME_SIZE); default 16384. */
  maxFrameSize?: number;
  /** Told about each rewritten `:authority` (for a debug log line). */
  onRewrite?: (from: string) => void;
}

/**
 * Incremental rewriter. `push(chunk)` returns the bytes to hand the server, possibly none yet
 * (a header block still arriving). Throws WireError/HpackError on input that is not HTTP/2;
 * the caller then closes that one connection.
 */
export class AuthorityFront {
  private prefaceLeft = PREFACE.length;
  private readonly hdr = Buffer.alloc(FRAME_HEADER);
  private hdrHave = 0;
  private inFrame = false;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private length = 0;
  private consumed = 0;
  /** Payload of a HEADERS/CONTINUATION frame being collected. */
  private payload: Buffer | null = null;
  /** The header block being joined across CONTINUATION frames. */
  private block: Buffer[] | null = null;
  private blockLen = 0;
  private blockStream = 0;
  private blockEndStream = false;
  private readonly decoder = new HpackDecoder();
  private readonly maxHeaderBlock: number;
  private readonly maxFrameSize: number;

  constructor(private readonly opts: AuthorityFrontOptions = {}) {
    this.maxHeaderBlock = opts.maxHeaderBlock ?? DEFAULT_MAX_HEADER_BLOCK;
    this.maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME;
  }

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    if (this.prefaceLeft > 0) {
      const start = PREFACE.length - this.prefaceLeft;
      const n = Math.min(this.prefaceLeft, chunk.length);
      if (chunk.compare(PREFACE, start, start + n, 0, n) !== 0) throw new WireError('critap: not an HTTP/2 client: bad connection preface');
      this.prefaceLeft -= n;
      out.push(chunk.subarray(0, n));
      pos = n;
    }
    while (pos < chunk.length) {
      if (!this.inFrame) {
        const n = Math.min(FRAME_HEADER - this.hdrHave, chunk.length - pos);
        chunk.copy(this.hdr, this.hdrHave, pos, pos + n);
        this.hdrHave += n;
        pos += n;
        if (this.hdrHave < FRAME_HEADER) break;
        this.hdrHave = 0;
        this.startFrame(out);
        if (this.length === 0) {
          this.finishFrame(out);
          continue;
        }
      }
      const take = Math.min(this.length - this.consumed, chunk.length - pos);
      if (this.payload) chunk.copy(this.payload, this.consumed, pos, pos + take);
      else out.push(chunk.subarray(pos, pos + take)); // passed-through frame: stream its payload
      pos += take;
      this.consumed += take;
      if (this.consumed === this.length) this.finishFrame(out);
    }
    return out;
  }

  private startFrame(out: Buffer[]): void {
    const h = this.hdr;
    this.length = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
    this.type = h[3]!;
    this.flags = h[4]!;
    this.streamId = h.readUInt32BE(5) & 0x7fffffff;
    this.consumed = 0;
    this.inFrame = true;
    const isHeaderFrame = this.type === FrameType.HEADERS || this.type === FrameType.CONTINUATION;
    if (this.block !== null && this.type !== FrameType.CONTINUATION) {
      throw new WireError(`critap: expected CONTINUATION for stream ${this.blockStream}, got frame type ${this.type}`);
    }
    if (isHeaderFrame) {
      if (this.length > this.maxHeaderBlock) throw new WireError(`critap: header frame of ${this.length} bytes`);
      this.payload = Buffer.allocUnsafe(this.length);
    } else {
      this.payload = null;
      out.push(Buffer.from(h)); // copy: this.hdr is reused for the next frame
    }
  }

  private finishFrame(out: Buffer[]): void {
    this.inFrame = false;
    const payload = this.payload;
    this.payload = null;
    if (payload === null) return; // passed through already
    if (this.type === FrameType.HEADERS) {
      if (this.streamId === 0) throw new WireError('critap: HEADERS frame on stream 0');
      let start = 0;
      let stop = payload.length;
      if (this.flags & Flag.PADDED) {
        if (stop < 1) throw new WireError('critap: HEADERS frame too short for its padding');
        start = 1;
        stop -= payload[0]!;
      }
      // Priority information is dropped: grpc-js ignores it, and it would not fit our frames.
      if (this.flags & Flag.PRIORITY) start += 5;
      if (stop < start) throw new WireError('critap: HEADERS frame padding exceeds its length');
      this.block = [payload.subarray(start, stop)];
      this.blockLen = stop - start;
      this.blockStream = this.streamId;
      this.blockEndStream = (this.flags & Flag.END_STREAM) !== 0;
    } else {
      if (this.block === null || this.streamId !== this.blockStream) {
        throw new WireError(`critap: unexpected CONTINUATION on stream ${this.streamId}`);
      }
      this.block.push(payload);
      this.blockLen += payload.length;
    }
    if (this.blockLen > this.maxHeaderBlock) throw new WireError(`critap: header block over ${this.maxHeaderBlock} bytes`);
    if ((this.flags & Flag.END_HEADERS) === 0) return;
    const joined = Buffer.concat(this.block, this.blockLen);
    this.block = null;
    const headers = this.decoder.decode(joined);
    const fixed = fixAuthority(headers);
    if (this.opts.onRewrite) {
      for (let i = 0; i < headers.length; i++) if (fixed[i] !== headers[i]) this.opts.onRewrite(headers[i]![1]);
    }
    out.push(...headersFrames(this.blockStream, encodeHeaderBlock(fixed), this.blockEndStream, this.maxFrameSize));
  }
}
