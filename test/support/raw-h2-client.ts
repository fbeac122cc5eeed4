/**
 * An HTTP/2 client written frame by frame, for clients no well-behaved library plays: one that
 * never reads its answers (its socket is paused, while its flow-control windows say "send
 * everything"), or one that opens calls and never finishes them.
 */
import net from 'node:net';
import { encodeHeaderBlock, frame, headersFrames, settingsFrame } from '../../src/wire/frame-writer.js';
import { Flag, FrameType, PREFACE } from '../../src/wire/h2.js';

const SETTINGS_INITIAL_WINDOW_SIZE = 4;
const MAX_WINDOW = 0x7fffffff;

export interface RawH2Client {
  socket: net.Socket;
  /** Opens a gRPC call on a new stream; with `finish`, its (empty) request message and END_STREAM follow. */
  call(path: string, finish: boolean): number;
  destroy(): void;
}

export function connectRawH2(path: string, opts: { hugeWindows?: boolean } = {}): Promise<RawH2Client> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      const hello: Buffer[] = [PREFACE];
      if (opts.hugeWindows) {
        // Every stream and the connection may be sent up to 2 GiB unread: only the socket can push back.
        hello.push(settingsFrame([[SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW]]));
        const inc = Buffer.alloc(4);
        inc.writeUInt32BE(MAX_WINDOW - 65_535);
        hello.push(frame(FrameType.WINDOW_UPDATE, 0, 0, inc));
      } else {
        hello.push(settingsFrame());
      }
      socket.write(Buffer.concat(hello));
      let nextId = 1;
      resolve({
        socket,
        call(p, finish) {
          const id = nextId;
          nextId += 2;
          const block = encodeHeaderBlock([
            [':method', 'POST'],
            [':scheme', 'http'],
            [':path', p],
            [':authority', 'localhost'],
            ['content-type', 'application/grpc'],
            ['te', 'trailers'],
          ]);
          const out = headersFrames(id, block, false);
          if (finish) out.push(frame(FrameType.DATA, Flag.END_STREAM, id, Buffer.alloc(5)));
          socket.write(Buffer.concat(out));
          return id;
        },
        destroy: () => socket.destroy(),
      });
    });
  });
}
