/** Bad protobuf bytes, or JSON that does not fit a CRI message type. Messages start with `critap:`. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}
