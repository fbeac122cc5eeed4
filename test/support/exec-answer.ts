/** An ExecSyncResponse whose stdout is `stdout` (field 1, length-delimited), encoded by hand so a multi-MiB body is copied once. */
import { encodeVarint } from '../../src/cri/proto-wire.js';

export function execAnswer(stdout: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x0a]), encodeVarint(stdout.length), stdout]);
}
