/**
 * critap's own answer when the runtime cannot be reached: a minimal HTTP/2 server that answers
 * each call with UNAVAILABLE naming the upstream, then sends GOAWAY and closes, so the client
 * reconnects (and reaches the runtime again once it is back) on its next call.
 *
 * Written against the raw frames rather than node:http2 because nghttp2 rejects old Go clients
 * that send the socket path as :authority; they must get the same UNAVAILABLE as anyone.
 */
import type net from 'node:net';
import { Flag, FrameReader, FrameType } from '../wire/frames.js';
import { HpackDecoder } from '../wire/hpack.js';
import { frame, goawayFrame, grpcErrorFrames, settingsFrame } from '../wire/frame-writer.js';

/** How long the connection stays open after the first answer, so pipelined calls get answers too. */
const LINGER_MS = 50;

/**
 * @param observe sees every frame critap writes, so the connection's tap can record these calls.
 * @returns the reader of the client's bytes from now on: the caller feeds it each chunk read.
 */
export function answerUnavailable(
  client: net.Socket,
  pending: Buffer[],
  message: string,
  onError: (err: unknown) => void,
  observe?: (written: Buffer) => void,
): (chunk: Buffer) => void {
  const decoder = new HpackDecoder();
  let lastAnswered = 0;
  let closing: NodeJS.Timeout | undefined;
  const write = (buf: Buffer) => {
    if (!client.destroyed && client.writable) {
      client.write(buf);
      observe?.(buf);
    }
  };
  const reader = new FrameReader(
    {
      headers(id, block) {
        decoder.decode(block);
        if (id <= lastAnswered) return;
        lastAnswered = id;
        for (const f of grpcErrorFrames(id, 14, message, false)) write(f);
        closing ??= setTimeout(() => {
          write(goawayFrame(lastAnswered));
          client.end();
        }, LINGER_MS);
      },
      data() {},
      dataEnd() {},
      rstStream() {},
      goaway() {
        client.end();
      },
      settings() {
        write(frame(FrameType.SETTINGS, Flag.ACK, 0));
      },
    },
    { preface: true },
  );
  const feed = (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (err) {
      onError(err);
      client.destroy();
    }
  };
  write(settingsFrame());
  for (const chunk of pending) feed(chunk);
  client.on('close', () => clearTimeout(closing));
  // A client that never sends a call is not kept forever.
  client.setTimeout(10_000, () => client.destroy());
  return feed;
}
