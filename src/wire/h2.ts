/** HTTP/2 wire constants (RFC 9113) shared by the frame reader, the header-block joiner and writers. */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** The largest frame payload any peer may announce (2^24 - 1). */
export const MAX_FRAME_SIZE_LIMIT = 0xffffff;

/** Malformed HTTP/2: a connection error, the connection must be closed. */
export class WireError extends Error {}
