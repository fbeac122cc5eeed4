/**
 * SETTINGS (RFC 9113 §6.5): what replay's server announces, and the client's settings as they
 * apply to what the server sends.
 */
import { MAX_FRAME_SIZE_LIMIT } from '../../wire/frames.js';
import { DEFAULT_WINDOW, FlowError, MAX_WINDOW } from './flow.js';

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
} as const;

const MIN_FRAME_SIZE = 16384;

/** What replay's server tells clients about itself. */
export interface ServerSettings {
  /** Per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE). */
  streamWindow: number;
  /** Connection receive window, raised from 65 535 by a WINDOW_UPDATE right after SETTINGS. */
  connectionWindow: number;
  maxConcurrentStreams: number;
  /** Largest header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE); bigger blocks close the connection. */
  maxHeaderList: number;
}

export const DEFAULT_SERVER_SETTINGS: ServerSettings = {
  streamWindow: 4 * 1024 * 1024,
  connectionWindow: 16 * 1024 * 1024,
  maxConcurrentStreams: 4096,
  maxHeaderList: 1024 * 1024,
};

export function serverSettingsParams(s: ServerSettings): Array<[number, number]> {
  return [
    [Setting.MAX_CONCURRENT_STREAMS, s.maxConcurrentStreams],
    [Setting.INITIAL_WINDOW_SIZE, s.streamWindow],
    [Setting.MAX_HEADER_LIST_SIZE, s.maxHeaderList],
    // ENABLE_PUSH is a client's setting; a server never pushes here anyway.
  ];
}

/** The client's settings that shape what the server sends. */
export interface PeerSettings {
  /** Initial send window of every stream. */
  initialWindow: number;
  /** Largest frame payload the client accepts. */
  maxFrame: number;
  /**
   * The client's HPACK table size for our encoder. Replay encodes header blocks as literals
   * without indexing, which use no table, so any value (even 0) is honoured as it is.
   */
  headerTableSize: number;
}

export function defaultPeerSettings(): PeerSettings {
  return { initialWindow: DEFAULT_WINDOW, maxFrame: MIN_FRAME_SIZE, headerTableSize: 4096 };
}

/**
 * Applies a SETTINGS frame. Returns how much every open stream's send window changes
 * (§6.9.2: the difference between the new and old initial window). Throws FlowError on values
 * the protocol forbids.
 */
export function applyPeerSettings(peer: PeerSettings, params: ReadonlyArray<readonly [number, number]>): number {
  let delta = 0;
  for (const [id, value] of params) {
    switch (id) {
      case Setting.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW) throw new FlowError(`critap: SETTINGS_INITIAL_WINDOW_SIZE ${value} is past 2^31-1`, ErrorCode.FLOW_CONTROL_ERROR);
        delta += value - peer.initialWindow;
        peer.initialWindow = value;
        break;
      case Setting.MAX_FRAME_SIZE:
        if (value < MIN_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) {
          throw new FlowError(`critap: SETTINGS_MAX_FRAME_SIZE ${value} is outside 16384..16777215`, ErrorCode.PROTOCOL_ERROR);
        }
        peer.maxFrame = value;
        break;
      case Setting.HEADER_TABLE_SIZE:
        peer.headerTableSize = value;
        break;
      case Setting.ENABLE_PUSH:
        if (value > 1) throw new FlowError(`critap: SETTINGS_ENABLE_PUSH ${value} is not 0 or 1`, ErrorCode.PROTOCOL_ERROR);
        break;
      default:
        break; // MAX_CONCURRENT_STREAMS limits pushes (never sent); unknown settings are ignored (§6.5.2)
    }
  }
  return delta;
}
