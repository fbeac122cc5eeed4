import { readField, WIRE_LEN, WIRE_VARINT } from '../cri/proto-wire.js';

/** google.rpc.Status as people read it; each detail is a google.protobuf.Any, its value left as base64. */
export interface RpcStatusView {
  code: number;
  message: string;
  details: { typeUrl: string; value: string }[];
}

/**
 * Decodes `grpc-status-details-bin`. The two messages are tiny and fixed (google/rpc/status.proto,
 * google/protobuf/any.proto), so they are read field by field (proto-wire.ts) instead of loading
 * their schema, or protobuf.js. Returns undefined for bytes that are not such a message.
 */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatusView | undefined {
  try {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: RpcStatusView = { code: 0, message: '', details: [] };
    for (let pos = 0; pos < buf.length; ) {
      const f = readField(buf, pos, buf.length);
      if (f.fieldNo === 1 && f.wireType === WIRE_VARINT) out.code = int32At(buf, f.dataStart);
      else if (f.fieldNo === 2 && f.wireType === WIRE_LEN) out.message = buf.toString('utf8', f.dataStart, f.end);
      else if (f.fieldNo === 3 && f.wireType === WIRE_LEN) out.details.push(decodeAny(buf.subarray(f.dataStart, f.end)));
      pos = f.end;
    }
    return out;
  } catch {
    return undefined;
  }
}

/** An int32 varint (a negative one is 10 bytes long): its low 32 bits, signed. */
function int32At(buf: Buffer, pos: number): number {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const b = buf[pos++]!;
    value |= (b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  return value | 0;
}

function decodeAny(buf: Buffer): { typeUrl: string; value: string } {
  let typeUrl = '';
  let value = '';
  for (let pos = 0; pos < buf.length; ) {
    const f = readField(buf, pos, buf.length);
    if (f.fieldNo === 1 && f.wireType === WIRE_LEN) typeUrl = buf.toString('utf8', f.dataStart, f.end);
    else if (f.fieldNo === 2 && f.wireType === WIRE_LEN) value = buf.toString('base64', f.dataStart, f.end);
    pos = f.end;
  }
  return { typeUrl, value };
}
