/**
 * HPACK Huffman decoding (RFC 7541 §5.2, Appendix B).
 *
 * The HPACK code is canonical: codes are handed out in order of (length, symbol),
 * so the whole table follows from the code length of each of the 257 symbols.
 * At module load we build the code tree and, from it, a byte-at-a-time state
 * machine: 256 states (the tree's internal nodes) × 256 input bytes. Each entry
 * says where the walk ends and which symbols (at most two: the shortest code is
 * 5 bits) it completed, so decoding is one table load per input byte and no
 * allocation but the final string.
 */

/** Code length in bits of each symbol 0..255 and EOS (256), RFC 7541 Appendix B. */
const CODE_LENGTHS: readonly number[] = [
  // 0x00-0x1f: control characters
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  // 0x20-0x3f: ' ' ! " # $ % & ' ( ) * + , - . /  0-9 : ; < = > ?
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // 0x40-0x5f: @ A-Z [ \ ] ^ _
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // 0x60-0x7f: ` a-z { | } ~ DEL
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 0x80-0xff
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  // EOS
  30,
];

const EOS = 256;

/** [code, bit length] of every symbol 0..256, derived canonically from CODE_LENGTHS. */
export const HUFFMAN_CODES: ReadonlyArray<readonly [code: number, bits: number]> = buildCodes();

function buildCodes(): Array<readonly [number, number]> {
  const order = CODE_LENGTHS.map((len, sym) => sym).sort(
    (a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b,
  );
  const codes = new Array<readonly [number, number]>(CODE_LENGTHS.length);
  let code = 0;
  let prevLen = CODE_LENGTHS[order[0]!]!;
  for (const sym of order) {
    const len = CODE_LENGTHS[sym]!;
    code *= 2 ** (len - prevLen); // codes reach 30 bits: stay in float arithmetic, not int32 shifts
    codes[sym] = [code, len];
    code += 1;
    prevLen = len;
  }
  return codes;
}

// --- decoding state machine -------------------------------------------------

// Entry layout of TRANSITIONS[state << 8 | byte]:
const NEXT_MASK = 0xff; //          bits 0-7: state after the byte
const SYM1_SHIFT = 8; //            bits 8-15: first completed symbol
const SYM2_SHIFT = 16; //           bits 16-23: second completed symbol
const COUNT_SHIFT = 24; //          bits 24-25: how many symbols completed (0..2)
const FAIL = 1 << 26; //            the byte completed EOS: a decoding error
const ACCEPT = 1 << 27; //          ending here is valid: the pending bits are ≤7 ones (EOS prefix)

const TRANSITIONS: Uint32Array = buildTransitions();

function buildTransitions(): Uint32Array {
  // Code tree: internal nodes are 0..255 (root 0); a child < 0 is leaf -(symbol + 1).
  const child0 = new Int16Array(256);
  const child1 = new Int16Array(256);
  let nodes = 1;
  HUFFMAN_CODES.forEach(([code, bits], sym) => {
    let node = 0;
    for (let i = bits - 1; i > 0; i--) {
      const side = Math.floor(code / 2 ** i) % 2 === 1 ? child1 : child0;
      if (side[node] === 0) side[node] = nodes++;
      node = side[node]!;
    }
    (code % 2 === 1 ? child1 : child0)[node] = -(sym + 1);
  });

  // Valid end states: the root, or the node reached by 1..7 one-bits from it.
  const accepting = new Uint8Array(256);
  for (let node = 0, depth = 0; depth <= 7 && node >= 0; depth++, node = child1[node]!) {
    accepting[node] = 1;
  }

  const table = new Uint32Array(256 * 256);
  for (let state = 0; state < 256; state++) {
    for (let byte = 0; byte < 256; byte++) {
      let node = state;
      let count = 0;
      let syms = 0;
      let fail = false;
      for (let bit = 7; bit >= 0; bit--) {
        const next = (byte >> bit) & 1 ? child1[node]! : child0[node]!;
        if (next >= 0) {
          node = next;
          continue;
        }
        const sym = -next - 1;
        if (sym === EOS) {
          fail = true;
          break;
        }
        syms |= sym << (count === 0 ? SYM1_SHIFT : SYM2_SHIFT);
        count++;
        node = 0;
      }
      table[(state << 8) | byte] = fail
        ? FAIL
        : (node | syms | (count << COUNT_SHIFT) | (accepting[node] ? ACCEPT : 0)) >>> 0;
    }
  }
  return table;
}

/** Huffman-coded input that RFC 7541 §5.2 says must be rejected. */
export class HuffmanError extends Error {
  override name = 'HuffmanError';
}

/** Reused output space; grown when a longer string arrives. Decoding is synchronous, so sharing is safe. */
let scratch = Buffer.allocUnsafe(4096);

/**
 * Decodes the Huffman-coded octets buf[start, end) to a latin1 string (one char per octet).
 * Throws HuffmanError when the input contains EOS or ends in padding that is longer than
 * 7 bits or not all ones.
 */
export function huffmanDecode(buf: Buffer, start: number, end: number): string {
  if (!(start >= 0 && end >= start && end <= buf.length)) {
    throw new HuffmanError(`critap: huffman range [${start}, ${end}) is outside a ${buf.length}-byte buffer`);
  }
  // Each input byte completes at most two symbols.
  const need = (end - start) * 2;
  if (scratch.length < need) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  let entry = ACCEPT; // the empty string is valid
  for (let i = start; i < end; i++) {
    entry = TRANSITIONS[(state << 8) | buf[i]!]!;
    if (entry & FAIL) throw new HuffmanError('critap: huffman-coded string contains EOS');
    const count = (entry >>> COUNT_SHIFT) & 3;
    if (count !== 0) {
      out[n++] = (entry >>> SYM1_SHIFT) & 0xff;
      if (count === 2) out[n++] = (entry >>> SYM2_SHIFT) & 0xff;
    }
    state = entry & NEXT_MASK;
  }
  if ((entry & ACCEPT) === 0) {
    throw new HuffmanError('critap: huffman-coded string ends in invalid padding (not an EOS prefix of at most 7 bits)');
  }
  return out.toString('latin1', 0, n);
}
