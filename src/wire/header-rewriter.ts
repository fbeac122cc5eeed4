/**
 * Rewrites the header blocks of one direction of an HTTP/2 connection (client → server) and
 * passes every other byte through untouched. critap uses it only when asked to propagate its own
 * trace context to the runtime (`--propagate-trace`); by default the proxy is a byte pipe.
 *
 * HPACK makes header blocks stateful: the client's encoder indexes headers into a table the
 * server's decoder mirrors. Once one block is changed, the server's table can no longer follow
 * the client's, so *every* block on the connection is decoded here (with a decoder mirroring the
 * client's encoder) and re-encoded as literals without indexing. The server's table then stays
 * empty, which is always consistent, whatever the client indexes. The cost is larger header
 * blocks (no indexing, no Huffman): a few hundred bytes per call.
 *
 * DATA, SETTINGS, PING, WINDOW_UPDATE, RST_STREAM, GOAWAY and unknown frames keep their exact
 * bytes and order; DATA payloads are never copied.
 */
import type { Header } from '../call.js';
import { encodeHeaderBlock, headersFrames } from './frame-writer.js';
import { HeaderBlockJoiner, headersFragment } from './header-block.js';
import { FrameType, PREFACE, WireError } from './h2.js';
import { HpackDecoder } from './hpack.js';

const HEADER_LEN = 9;

/** Returns the headers to send in place of a decoded block (the same array when unchanged); null sends nothing. */
export type HeaderBlockEdit = (streamId: number, headers: Header[], endStream: boolean) => Header[] | null;

/**
 * Takes frames out of the forwarded stream (fault injection: calls critap answers itself).
 * `takes` is asked at each non-header frame's start; a taken frame's whole payload goes to
 * `frame`, whose return value (if any) is forwarded in its place.
 */
export interface FrameDivert {
  takes(type: number, streamId: number): boolean;
  frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer | undefined;
}

export interface HeaderRewriterOptions {
  /** Expect (and pass through) the client connection preface first. */
  preface: boolean;
  /** Upper bound for one header block, as in FrameReader. */
  maxHeaderBlock?: number;
  divert?: FrameDivert;
}

export class HeaderRewriter {
  private readonly decoder = new HpackDecoder();
  private prefaceLeft: number;
  private readonly hdr = Buffer.alloc(HEADER_LEN);
  private hdrHave = 0;
  private inFrame = false;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private length = 0;
  private consumed = 0;
  /** Payload of the HEADERS/CONTINUATION frame being read. */
  private payload: Buffer | null = null;
  /** Joins a header block across CONTINUATION frames, exactly as the tap's FrameReader does. */
  private readonly joiner: HeaderBlockJoiner;
  private readonly maxHeaderBlock: number;
  private readonly divert: FrameDivert | undefined;
  /** The current frame goes to `divert` rather than on. */
  private diverted = false;

  constructor(
    private readonly edit: HeaderBlockEdit,
    opts: HeaderRewriterOptions,
  ) {
    this.prefaceLeft = opts.preface ? PREFACE.length : 0;
    this.maxHeaderBlock = opts.maxHeaderBlock ?? 16 * 1024 * 1024;
    this.joiner = new HeaderBlockJoiner(this.maxHeaderBlock);
    this.divert = opts.divert;
  }

  /** The server's SETTINGS_HEADER_TABLE_SIZE bounds the client's encoder, so the mirror too. */
  setPeerHeaderTableSize(n: number): void {
    this.decoder.setMaxTableSize(n);
  }

  /**
   * Takes the next bytes the client wrote; returns the bytes to forward in their place, in order.
   * Throws WireError/HpackError on a malformed stream (the connection must then be closed).
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const end = chunk.length;
    let pos = 0;
    /**
     * Start of the run of pass-through bytes in this chunk, or -1 when none is open. A chunk opens
     * with one when it continues the preface or a frame that passes through.
     */
    let passFrom = this.prefaceLeft > 0 || (this.inFrame && !this.held()) ? 0 : -1;
    if (this.prefaceLeft > 0) {
      // The tap's reader validates the preface; here it is only counted and passed on.
      const n = Math.min(this.prefaceLeft, end);
      this.prefaceLeft -= n;
      pos = n;
    }
    const closePass = (at: number) => {
      if (passFrom >= 0 && at > passFrom) out.push(passFrom === 0 && at === end ? chunk : chunk.subarray(passFrom, at));
      passFrom = -1;
    };
    while (pos < end) {
      if (!this.inFrame) {
        const frameStart = pos;
        let split = false;
        if (this.hdrHave === 0 && end - pos >= HEADER_LEN) {
          this.startFrame(chunk, pos);
          pos += HEADER_LEN;
        } else {
          // A frame header cut by the chunk boundary: hold it until its type is known.
          closePass(frameStart);
          const n = Math.min(HEADER_LEN - this.hdrHave, end - pos);
          chunk.copy(this.hdr, this.hdrHave, pos, pos + n);
          this.hdrHave += n;
          pos += n;
          if (this.hdrHave < HEADER_LEN) return out;
          this.hdrHave = 0;
          this.startFrame(this.hdr, 0);
          split = true;
        }
        if (this.held()) {
          closePass(frameStart);
        } else if (split) {
          out.push(Buffer.from(this.hdr));
          passFrom = pos;
        } else if (passFrom < 0) {
          passFrom = frameStart;
        }
        if (this.length === 0) {
          this.finishFrame(out);
          continue;
        }
        if (pos === end) break;
      }
      const take = Math.min(this.length - this.consumed, end - pos);
      if (this.payload !== null) chunk.copy(this.payload, this.consumed, pos, pos + take);
      pos += take;
      this.consumed += take;
      if (this.consumed === this.length) this.finishFrame(out);
    }
    closePass(end);
    return out;
  }

  private rewritten(): boolean {
    return this.type === FrameType.HEADERS || this.type === FrameType.CONTINUATION;
  }

  /** Not passed through as it came: a header frame (re-encoded) or a diverted one. */
  private held(): boolean {
    return this.diverted || this.rewritten();
  }

  private startFrame(buf: Buffer, at: number): void {
    this.length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
    this.type = buf[at + 3]!;
    this.flags = buf[at + 4]!;
    this.streamId = buf.readUInt32BE(at + 5) & 0x7fffffff;
    this.consumed = 0;
    this.inFrame = true;
    this.joiner.checkNext(this.type);
    this.diverted = this.divert !== undefined && !this.rewritten() && this.divert.takes(this.type, this.streamId);
    if (this.held()) {
      if (this.length > this.maxHeaderBlock) throw new WireError(`frame of type ${this.type} claims ${this.length} bytes`);
      this.payload = Buffer.allocUnsafe(this.length);
    } else {
      this.payload = null;
    }
  }

  private finishFrame(out: Buffer[]): void {
    this.inFrame = false;
    const payload = this.payload;
    this.payload = null;
    if (this.diverted) {
      this.diverted = false;
      const instead = this.divert!.frame(this.type, this.flags, this.streamId, payload!);
      if (instead) out.push(instead);
      return;
    }
    if (!this.rewritten()) return;
    // Priority information is dropped: RFC 9113 deprecates it and no gRPC server acts on it.
    const done =
      this.type === FrameType.HEADERS
        ? this.joiner.headers(this.streamId, headersFragment(payload, this.length, this.flags, this.streamId), this.flags)
        : this.joiner.continuation(this.streamId, payload, this.flags);
    if (!done) return;
    const headers = this.edit(done.streamId, this.decoder.decode(done.block), done.endStream);
    if (headers === null) return;
    // 16 KiB frames: the smallest SETTINGS_MAX_FRAME_SIZE a server may announce, so always allowed.
    for (const f of headersFrames(done.streamId, encodeHeaderBlock(headers), done.endStream)) out.push(f);
  }
}
