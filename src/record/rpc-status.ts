import protobuf from 'protobufjs/light.js';

/** google.rpc.Status as people read it; each detail is a google.protobuf.Any, its value left as base64. */
export interface RpcStatusView {
  code: number;
  message: string;
  details: { typeUrl: string; value: string }[];
}

/**
 * Decodes `grpc-status-details-bin`. The two messages are tiny and fixed (google/rpc/status.proto,
 * google/protobuf/any.proto), so they are read field by field instead of loading their schema.
 * Returns undefined for bytes that are not such a message.
 */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatusView | undefined {
  try {
    const r = protobuf.Reader.create(bytes);
    const out: RpcStatusView = { code: 0, message: '', details: [] };
    while (r.pos < r.len) {
      const tag = r.uint32();
      switch (tag) {
        case (1 << 3) | 0: out.code = r.int32(); break;
        case (2 << 3) | 2: out.message = r.string(); break;
        case (3 << 3) | 2: out.details.push(decodeAny(r.bytes())); break;
        default: r.skipType(tag & 7);
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

function decodeAny(bytes: Uint8Array): { typeUrl: string; value: string } {
  const r = protobuf.Reader.create(bytes);
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | 2)) typeUrl = r.string();
    else if (tag === ((2 << 3) | 2)) value = r.bytes();
    else r.skipType(tag & 7);
  }
  return { typeUrl, value: Buffer.from(value).toString('base64') };
}
