/**
 * Trace and span ids, and the W3C traceparent that carries them. Random ids come from a pooled
 * crypto buffer (one syscall per 512 span ids).
 */
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let poolAt = pool.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (poolAt + bytes > pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const hex = pool.toString('hex', poolAt, poolAt + bytes);
    poolAt += bytes;
    // All-zero ids are invalid (W3C trace context); 2^-64 odds, but cheap to rule out.
    if (!/^0+$/.test(hex)) return hex;
  }
}

export const randomTraceId = (): string => randomHex(16);

/**
 * Writes a random id of `bytes` bytes (never all zeros) into `target` at `at`: for an id that is
 * only ever encoded, without making its hex string and reading it back.
 */
export function randomIdInto(target: Uint8Array, at: number, bytes: number): void {
  for (;;) {
    if (poolAt + bytes > pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    let any = 0;
    for (let i = 0; i < bytes; i++) any |= target[at + i] = pool[poolAt + i]!;
    poolAt += bytes;
    if (any !== 0) return;
  }
}
export const randomSpanId = (): string => randomHex(8);

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;

export interface TraceParentIds {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** A W3C traceparent's ids, or undefined when it is not a valid one (version ff, zero ids). */
export function parseTraceparent(value: string): TraceParentIds | undefined {
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  // Version 00 must be exactly 55 characters; later versions may append fields.
  if (m[1] === '00' && value.trim().length !== 55) return undefined;
  return { traceId: m[2]!, spanId: m[3]!, sampled: (Number.parseInt(m[4]!, 16) & 1) === 1 };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}
