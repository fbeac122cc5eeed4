/**
 * Writes JSON as UTF-8 straight into a reused buffer, byte for byte what JSON.stringify writes
 * for the same values (the JSON value header of value formats 1 and 2, call-codec.ts, must not
 * change a byte: it is still written for a call value format 3 cannot hold).
 *
 * Why not JSON.stringify: for the value header of a small call it was most of the recorder's
 * per-call cost on the observer thread (in a profile, more than redaction, ids and LevelDB's
 * batch call together), and it made a string per call that was then measured and copied into
 * the value. Most of what a call's header holds is short ASCII (methods, header names and
 * values, ids) and small integers: those are copied here character by character. Anything else
 * (a string with a character JSON escapes, or outside ASCII; a number that is not a safe
 * integer; an object of unknown shape) goes through JSON.stringify itself, so the bytes stay
 * exactly its bytes.
 */

import { GrowableBytes } from '../growable-bytes.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class JsonBytes extends GrowableBytes {
  constructor(initialSize = 4096) {
    super(initialSize);
  }

  /** ASCII text with nothing to escape (punctuation, key names written by the caller). */
  raw(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** One byte of ASCII punctuation. */
  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /** A string as JSON.stringify writes it, quotes included. */
  string(s: string): void {
    const n = s.length;
    this.room(n + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      // Printable ASCII but the quote and the backslash: as it is. Anything else: JSON.stringify's escapes.
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
        this.stringified(JSON.stringify(s));
        return;
      }
      b[p++] = c;
    }
    b[p++] = QUOTE;
    this.pos = p;
  }

  /** A number as JSON.stringify writes it. */
  number(v: number): void {
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v)) {
      this.room(16);
      const b = this.buf;
      if (v < 10) {
        b[this.pos++] = 0x30 + v;
        return;
      }
      // Digits from the right, then the run moved to where it starts.
      let digits = 0;
      for (let x = v; x >= 1; x = Math.floor(x / 10)) digits++;
      let p = this.pos + digits;
      this.pos = p;
      for (let x = v; x >= 1; x = Math.floor(x / 10)) b[--p] = 0x30 + (x % 10);
      return;
    }
    this.raw(JSON.stringify(v)); // negative, fractional, huge, NaN ("null"): JSON's own digits
  }

  /** Any JSON-able value through JSON.stringify (small objects of rare or open shape). */
  value(v: unknown): void {
    const json = JSON.stringify(v);
    if (json !== undefined) this.stringified(json);
  }

  /** An array of strings. */
  strings(list: readonly string[]): void {
    this.byte(0x5b);
    for (let i = 0; i < list.length; i++) {
      if (i > 0) this.byte(0x2c);
      this.string(list[i]!);
    }
    this.byte(0x5d);
  }

  /** Text JSON.stringify wrote, as UTF-8. */
  private stringified(json: string): void {
    const bytes = Buffer.byteLength(json, 'utf8');
    this.room(bytes);
    this.pos += this.buf.write(json, this.pos, bytes, 'utf8');
  }
}
