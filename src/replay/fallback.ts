/**
 * `--fallback <endpoint>`: calls the recording cannot answer go to a real runtime, raw bytes in
 * and out (nothing is decoded or re-encoded), and come back as a CallRecord so replay can relay
 * the answer and, with `--record`, add it to the recording. Only ever used when the user named
 * an endpoint: without it replay contacts no runtime.
 */
import * as grpc from '@grpc/grpc-js';
import type { CallRecord, TimedMessage } from '../call.js';
import { grpcTarget, parseEndpoint } from '../endpoint.js';
import { nowNs } from '../record/time.js';
import { fromMetadata, toMetadata } from './answer.js';
import type { Header } from '../call.js';

const identity = (b: Buffer) => b;

/** Request headers grpc-js sets on its own outgoing calls; forwarding them would duplicate them. */
const NOT_FORWARDED = new Set(['user-agent', 'grpc-timeout', 'content-type', 'te', 'grpc-encoding', 'grpc-accept-encoding']);

export interface FallbackEvents {
  headers(md: grpc.Metadata): void;
  message(data: Buffer): void;
}

export class Fallback {
  private readonly client: grpc.Client;
  readonly endpoint: string;

  constructor(endpoint: string) {
    const ep = parseEndpoint(endpoint);
    this.endpoint = endpoint;
    this.client = new grpc.Client(grpcTarget(ep), grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
  }

  /**
   * Forwards one call; `events` relays headers and messages as they arrive (streams are not
   * held back). Resolves with the whole call when the runtime ends it (or it is cancelled).
   */
  /** Recorded headers as this client's metadata (callers need not load grpc-js themselves). */
  metadataOf(headers: readonly Header[]): grpc.Metadata {
    return toMetadata(headers);
  }

  forward(
    path: string,
    request: Buffer,
    metadata: grpc.Metadata,
    opts: { streaming: boolean; deadline?: grpc.Deadline; signal: AbortSignal },
    events: FallbackEvents,
  ): Promise<CallRecord> {
    const md = new grpc.Metadata();
    for (const [k, values] of Object.entries(metadata.toJSON())) {
      if (NOT_FORWARDED.has(k)) continue;
      for (const v of values) md.add(k, v);
    }
    const startHr = process.hrtime.bigint();
    const startNs = nowNs();
    const since = () => Number(process.hrtime.bigint() - startHr);
    const responses: TimedMessage[] = [];
    const record: CallRecord = {
      method: path,
      startNs,
      durationNs: 0,
      // A copy: the server hands requests as slices of the socket's read, and this record may be kept.
      requests: [{ offsetNs: 0, data: Buffer.from(request) }],
      responses,
      status: { code: 0, message: '' },
      end: 'trailers',
      requestMetadata: fromMetadata(metadata).filter(([k]) => !NOT_FORWARDED.has(k)),
      responseHeaders: [],
      responseTrailers: [],
      requestBytes: request.length + 5,
      responseBytes: 0,
    };
    const callOpts: grpc.CallOptions = opts.deadline !== undefined && opts.deadline !== Infinity ? { deadline: opts.deadline } : {};
    return new Promise((resolve) => {
      const onMessage = (data: Buffer) => {
        responses.push({ offsetNs: since(), data });
        record.responseBytes += data.length + 5;
        events.message(data);
      };
      const call = opts.streaming
        ? this.client.makeServerStreamRequest(path, identity, identity, request, md, callOpts)
        : this.client.makeUnaryRequest(path, identity, identity, request, md, callOpts, (_err, value) => {
            if (value) onMessage(value);
          });
      if (opts.streaming) (call as grpc.ClientReadableStream<Buffer>).on('data', onMessage);
      call.on('metadata', (h: grpc.Metadata) => {
        record.responseHeaders = fromMetadata(h);
        events.headers(h);
      });
      // Streams report errors through 'error' as well as 'status'; 'status' carries everything.
      if (opts.streaming) call.on('error', () => {});
      const onAbort = () => call.cancel();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      call.on('status', (st: grpc.StatusObject) => {
        opts.signal.removeEventListener('abort', onAbort);
        record.durationNs = since();
        record.status = { code: st.code, message: st.details };
        const details = st.metadata.get('grpc-status-details-bin')[0];
        if (Buffer.isBuffer(details)) record.status.details = details;
        record.responseTrailers = fromMetadata(st.metadata).filter(([k]) => k !== 'grpc-status-details-bin');
        if (opts.signal.aborted) record.end = 'client-reset';
        // grpc-js runs the unary callback before 'status'; the message is in by now.
        setImmediate(() => resolve(record));
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
