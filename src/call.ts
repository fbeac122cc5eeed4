/**
 * The one record type that flows through critap: the forwarder produces it, the
 * recorder stores it, the tracer turns it into a span, the replayer serves it and
 * the CLI prints it. Message bodies are the raw protobuf bytes exactly as they
 * crossed the wire (without the 5-byte gRPC prefix); decoding is for people.
 */

/** A header as it crossed the wire. `-bin` values stay base64 text, exactly as sent. */
export type Header = [name: string, value: string];

export interface Peer {
  /** Client process id (unix sockets, where the OS tells it). */
  pid?: number;
  /** Client executable path, from /proc/<pid>/exe. */
  exe?: string;
  /** Remote address for TCP listeners. */
  address?: string;
}

export interface CallStatus {
  /** gRPC status code (0 OK … 16 UNAUTHENTICATED). */
  code: number;
  message: string;
  /** `grpc-status-details-bin`, decoded from base64 (a google.rpc.Status). */
  details?: Buffer;
}

/** One gRPC message of a response, with its offset from the call's start. */
export interface TimedMessage {
  offsetNs: number;
  data: Buffer;
  /** The gRPC compressed flag was set: `data` is compressed with the call's grpc-encoding. */
  compressed?: boolean;
  /**
   * A large body the proxy did not hold whole: its bytes went to the sink that spools bodies
   * (CallSink.spoolsBodies) in parts as they arrived, and `data` is empty. Other sinks see only
   * its length. See src/record/body-store.ts.
   */
  spooled?: SpooledBody;
}

export interface SpooledBody {
  /** Names the body's parts (CallSink.onBodyPart); unique within the proxy process. */
  id: number;
  /** The body's length in bytes. */
  length: number;
  /** Set by the recorder once the bytes are stored: the body file's name in the recording. */
  file?: string;
  /**
   * Set when the file holds the body packed (packed-bodies.ts) in this many bytes: a body that
   * repeats, kept once in a file several calls name (src/record/repeated-bodies.ts).
   */
  packedLength?: number;
}

/** A message's body length, whether held in `data` or spooled. */
export function messageLength(m: TimedMessage): number {
  return m.spooled ? m.spooled.length : m.data.length;
}

/** How a call ended, as the proxy saw it. */
export type CallEnd =
  | 'trailers' // normal: grpc-status arrived
  | 'client-reset' // client sent RST_STREAM (cancelled, deadline hit on the client side)
  | 'server-reset' // runtime sent RST_STREAM
  | 'connection-closed' // a socket closed with the call still open
  | 'refused'; // runtime GOAWAY'd the stream before processing it

export interface CallRecord {
  /** Full gRPC path: `/runtime.v1.RuntimeService/Version`. */
  method: string;
  /** Wall-clock start, nanoseconds since the Unix epoch. */
  startNs: bigint;
  /** Time from the request's HEADERS to the end of the call, in nanoseconds. */
  durationNs: number;
  /** Request messages (CRI requests are single messages; kept as a list for generality). */
  requests: TimedMessage[];
  /** Response messages: one for a unary call, every message for a server stream. */
  responses: TimedMessage[];
  status: CallStatus;
  end: CallEnd;
  /** Request metadata: non-pseudo headers the client sent (hop-by-hop headers dropped). */
  requestMetadata: Header[];
  responseHeaders: Header[];
  responseTrailers: Header[];
  /** Total gRPC payload bytes (prefix included) in each direction, counted even when bodies are not captured. */
  requestBytes: number;
  responseBytes: number;
  /** Bodies larger than the capture limit are not kept; this says so. */
  truncated?: boolean;
  peer?: Peer;
  /** `:authority` the client sent (old Go clients send the socket path). */
  authority?: string;
  /**
   * With `--propagate-trace`: the traceparent critap sent the runtime in place of the client's
   * (its own span's). The call's span carries these ids, so the runtime's span nests under it.
   */
  propagatedTraceparent?: string;
  /**
   * A fault rule fired on this call (critap proxy --fault): which one and what it did. An
   * error, hang or reset was critap's own answer, never the runtime's.
   */
  fault?: CallFault;
}

export interface CallFault {
  ruleId: number;
  rule: string;
  actions: string[];
}

/** What a sink learns when a call begins (for in-flight gauges and live spans). */
export interface CallStart {
  method: string;
  startNs: bigint;
  requestMetadata: Header[];
  peer?: Peer;
}

/**
 * Observers of forwarded calls. They run beside the forwarding path and must never
 * throw into it or block it; anything slow is queued by the sink itself.
 */
export interface CallSink {
  /** Whether this sink needs message bodies; when no sink does, the proxy keeps only sizes. */
  readonly needsBodies: boolean;
  /**
   * The sink gives each call's body bytes (bodyBytes(call)) back to the proxy's capture budget
   * itself, once it no longer holds them, instead of the proxy doing so when the call ends: one
   * budget then bounds the bodies until they are written, not only until the call ends. Such a
   * sink may also take the bodies' memory away (the observer thread moves large ones to its
   * thread), so it must be the proxy's only sink; startObservedProxy wires it to the same budget.
   */
  readonly releasesBudget?: boolean;
  onCallStart?(call: CallStart): void;
  /**
   * The sink takes large bodies (from SPOOL_FROM_BYTES on) in parts as they arrive instead of
   * whole: onBodyPart gets each part in order, then the call's TimedMessage names the body by
   * `spooled.id`; onBodyAbort says a body will never be finished (the stream was cut, or the
   * budget refused a part), so its parts may be thrown away. Without releasesBudget, a part is
   * given back to the budget as soon as onBodyPart returns, so the sink must be done with it.
   */
  readonly spoolsBodies?: boolean;
  onBodyPart?(id: number, part: Buffer): void;
  /** A buffer for the next part, of `bytes` (sinks that use part buffers again hand them out here). */
  newPart?(bytes: number): Buffer;
  onBodyAbort?(id: number): void;
  onCallEnd(call: CallRecord): void;
  close?(): Promise<void>;
}

/** Message body bytes a call carries (what the capture budget counts; status details excluded). */
export function bodyBytes(call: Pick<CallRecord, 'requests' | 'responses'>): number {
  let n = 0;
  // Indexed: called twice per recorded call, and a for…of walks an iterator.
  for (let i = 0; i < call.requests.length; i++) n += call.requests[i]!.data.length;
  for (let i = 0; i < call.responses.length; i++) n += call.responses[i]!.data.length;
  return n;
}

export const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION',
  'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `CODE_${code}`;
}
