import { gunzipSync, inflateSync } from 'node:zlib';
import type { CallRecord, Header, TimedMessage } from '../call.js';
import { decodeMessage } from '../cri/decode.js';
import { extractIds, requestHasIds, responseHasIds, type CallIds } from '../cri/ids.js';
import { lookupMethod, type MethodInfo } from '../cri/methods.js';
import { redactMessage, type RedactionRules } from '../cri/redact.js';
import { encodeCallValue } from './call-codec.js';
import { hasSecretHeader, redactHeaders } from './secret-headers.js';
import { learnHeaders } from './learn-secrets.js';
import type { SecretMemory } from './secret-memory.js';
import type { PreparedCall } from './store.js';

export type { RedactionRules };

/**
 * The rules object for a recorder's options. redactMessage compiles and caches a plan per rules
 * object, so a recorder builds this once and passes the same object for every call; undefined
 * means the defaults (which have their own cached plan).
 */
export function redactionRules(opts: { keepEnv?: boolean; redactPaths?: string[] }): RedactionRules | undefined {
  if (!opts.keepEnv && (opts.redactPaths ?? []).length === 0) return undefined;
  return { keepEnv: opts.keepEnv ?? false, extraPaths: opts.redactPaths ?? [] };
}

function headerValue(headers: readonly Header[], name: string): string | undefined {
  // Indexed, not `for (const [k, v] of headers)`: destructuring each pair walks an iterator, and
  // this runs twice per recorded call.
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h[0] === name) return h[1];
  }
  return undefined;
}

function decompress(data: Buffer, encoding: string | undefined): Buffer | undefined {
  try {
    if (encoding === 'gzip') return gunzipSync(data);
    if (encoding === 'deflate') return inflateSync(data);
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Redacts each message of one direction. A message that cannot be checked (a body that does not
 * parse, or compressed with an encoding we cannot undo) is dropped rather than stored, because
 * storing it could store a secret. Compressed messages are checked decompressed and stored
 * compressed as they were when nothing changed, decompressed when something did.
 */
function redactMessages(
  messages: TimedMessage[],
  typeName: string,
  encoding: string | undefined,
  rules: RedactionRules | undefined,
  label: string,
  flags: string[],
  learn: ((value: Buffer) => void) | undefined,
): TimedMessage[] {
  let out: TimedMessage[] | undefined;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const plain: Buffer | undefined = m.compressed ? decompress(m.data, encoding) : m.data;
    let replacement: TimedMessage | undefined;
    if (plain === undefined) {
      replacement = { offsetNs: m.offsetNs, data: Buffer.alloc(0) };
      flags.push(`${label}:dropped-undecodable-compressed`);
    } else {
      try {
        const red = redactMessage(typeName, plain, rules, learn);
        if (red !== plain) {
          replacement = { offsetNs: m.offsetNs, data: red };
          flags.push(label);
        }
      } catch {
        replacement = { offsetNs: m.offsetNs, data: Buffer.alloc(0) };
        flags.push(`${label}:dropped-unparseable`);
      }
    }
    if (replacement) {
      out ??= messages.slice();
      out[i] = replacement;
    }
  }
  return out ?? messages;
}

/**
 * Overwrites values redacted earlier wherever they come back in this call's bodies (compressed
 * ones are looked at decompressed, and stored decompressed when something was found).
 */
function scrubMessages(messages: TimedMessage[], encoding: string | undefined, secrets: SecretMemory, label: string, flags: string[]): TimedMessage[] {
  let out: TimedMessage[] | undefined;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const plain = m.compressed ? decompress(m.data, encoding) : m.data;
    if (plain === undefined) continue; // already dropped above when this type can hold secrets
    const clean = secrets.scrub(plain);
    if (!clean) continue;
    out ??= messages.slice();
    out[i] = { offsetNs: m.offsetNs, data: clean };
    flags.push(`${label}:redacted-value-repeated`);
  }
  return out ?? messages;
}

function scrubHeaders(headers: Header[], secrets: SecretMemory, flags: string[]): Header[] {
  let out: Header[] | undefined;
  headers.forEach(([name, value], i) => {
    const clean = secrets.scrubText(value);
    if (clean === undefined) return;
    out ??= headers.slice();
    out[i] = [name, clean];
    flags.push(`metadata:${name.toLowerCase()}:redacted-value-repeated`);
  });
  return out ?? headers;
}

function decodeFirst(typeName: string, messages: TimedMessage[]): Record<string, unknown> | undefined {
  const m = messages[0];
  if (!m || m.compressed) return undefined;
  try {
    return decodeMessage(typeName, m.data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * List and Stream answers are about many objects and give no ids (src/cri/ids.ts ignores them),
 * and they are the big ones: decoding them only to throw the result away was most of the
 * recorder's cost. Answers with no id field (ExecSync: stdout and stderr) are skipped for the same
 * reason. Server streams are skipped too: their messages are each about one object.
 */
function idsFromResponse(info: MethodInfo): boolean {
  return !info.serverStreaming && responseHasIds(info);
}

const scratchFlags: string[] = [];

/** The ids of a call that names nothing (most calls): one shared object, never changed, instead of a new {} per call. */
const NO_IDS: CallIds = Object.freeze({});

/**
 * Turns a finished call into what the store writes: secrets removed (message fields, and
 * credential headers), ids extracted from the redacted messages, value encoded. Runs in the
 * recorder's batch writer, never on the forwarding path.
 */
export function prepareCall(call: CallRecord, rules: RedactionRules | undefined, secrets?: SecretMemory, earlierFlags?: readonly string[], placer?: BodyPlacer): PreparedCall {
  // earlierFlags: redaction done before, outside the call's memory (spooled-bodies.ts scrubs body files).
  // One flags array, emptied per call: prepareCall runs synchronously, and what it returns holds a copy.
  const flags = scratchFlags;
  flags.length = 0;
  if (earlierFlags) flags.push(...earlierFlags);
  const info = lookupMethod(call.method);
  let stored = call;
  let ids: CallIds | undefined;
  const learn = secrets?.learn;
  let requestMetadata = call.requestMetadata;
  let responseHeaders = call.responseHeaders;
  let responseTrailers = call.responseTrailers;
  // Most calls carry no credential header: one scan, and nothing copied.
  if (hasSecretHeader(call.requestMetadata) || hasSecretHeader(call.responseHeaders) || hasSecretHeader(call.responseTrailers)) {
    if (secrets) for (const h of [call.requestMetadata, call.responseHeaders, call.responseTrailers]) learnHeaders(h, secrets);
    const md = redactHeaders(call.requestMetadata);
    const rh = redactHeaders(call.responseHeaders);
    const rt = redactHeaders(call.responseTrailers);
    for (const n of [...md.names, ...rh.names, ...rt.names]) flags.push(`metadata:${n}`);
    requestMetadata = md.headers;
    responseHeaders = rh.headers;
    responseTrailers = rt.headers;
  }
  let requests = call.requests;
  let responses = call.responses;
  let status = call.status;
  const reqEncoding = headerValue(call.requestMetadata, 'grpc-encoding');
  const resEncoding = headerValue(call.responseHeaders, 'grpc-encoding');
  if (info) {
    requests = redactMessages(call.requests, info.requestType, reqEncoding, rules, 'request', flags, learn);
    responses = redactMessages(call.responses, info.responseType, resEncoding, rules, 'response', flags, learn);
  }
  // After this call's own redaction, so a value redacted in one field is also caught in another.
  if (secrets && secrets.size > 0) {
    requests = scrubMessages(requests, reqEncoding, secrets, 'request', flags);
    responses = scrubMessages(responses, resEncoding, secrets, 'response', flags);
    requestMetadata = scrubHeaders(requestMetadata, secrets, flags);
    responseHeaders = scrubHeaders(responseHeaders, secrets, flags);
    responseTrailers = scrubHeaders(responseTrailers, secrets, flags);
    const message = secrets.scrubText(status.message);
    const details = status.details ? secrets.scrub(status.details) : undefined;
    if (message !== undefined || details !== undefined) {
      status = { ...status, ...(message !== undefined ? { message } : {}), ...(details !== undefined ? { details } : {}) };
      flags.push('status:redacted-value-repeated');
    }
  }
  if (info) {
    const req = requestHasIds(info) ? decodeFirst(info.requestType, requests) : undefined;
    const res = idsFromResponse(info) ? decodeFirst(info.responseType, responses) : undefined;
    // Version, Status and the like: nothing to decode, and nothing extractIds could find.
    if (req || res) ids = extractIds(info, req, res);
  }
  if (flags.length > 0) {
    stored = { ...call, requests, responses, status, requestMetadata, responseHeaders, responseTrailers };
  }
  ids ??= NO_IDS;
  const redacted = flags.length > 0 ? [...new Set(flags)] : undefined;
  return encodePlaced(stored, ids, redacted, placer);
}

/** For import: a call that already went through a recorder keeps its ids and flags as they are. */
export function prepareStoredCall(call: CallRecord & { ids: CallIds; redacted?: string[] }, placer?: BodyPlacer): PreparedCall {
  return encodePlaced(call, call.ids, call.redacted, placer);
}

/** The prepared call, its bodies placed first; a failure gives back the files placing made. */
function encodePlaced(call: CallRecord, ids: CallIds, redacted: string[] | undefined, placer: BodyPlacer | undefined): PreparedCall {
  const files: BodyFilesOf = {};
  try {
    const stored = placer ? placeBodies(call, placer, files) : call;
    const prepared: PreparedCall = {
      startNs: call.startNs,
      method: call.method,
      value: encodeCallValue(stored, ids, redacted),
      ids,
      redacted: (redacted?.length ?? 0) > 0,
    };
    if (files.bodyFiles) prepared.bodyFiles = files.bodyFiles;
    if (files.sharedFiles) prepared.sharedFiles = files.sharedFiles;
    return prepared;
  } catch (err) {
    placer?.release(files, false);
    throw err;
  }
}

/** The body files a prepared call names, as placing its bodies made them. */
export type BodyFilesOf = Pick<PreparedCall, 'bodyFiles' | 'sharedFiles'>;

/** Where a call's bodies are stored: in its value, or in files (repeated-bodies.ts, and for direct writes large-bodies.ts). */
export interface BodyPlacer {
  /**
   * The message as it is to be stored, once it is (redacted): itself, or one whose body is in a
   * file (`spooled.file`), which it adds to `into`.
   */
  place(m: TimedMessage, into: BodyFilesOf): TimedMessage;
  /** The call is stored (`stored`), or never will be: what placing its bodies holds is let go. */
  release(files: BodyFilesOf, stored: boolean): void;
}

function placeBodies(call: CallRecord, placer: BodyPlacer, into: BodyFilesOf): CallRecord {
  const requests = placeEach(call.requests, placer, into);
  const responses = placeEach(call.responses, placer, into);
  return requests === call.requests && responses === call.responses ? call : { ...call, requests, responses };
}

function placeEach(messages: TimedMessage[], placer: BodyPlacer, into: BodyFilesOf): TimedMessage[] {
  let out: TimedMessage[] | undefined;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const placed = placer.place(m, into);
    if (placed === m) continue;
    out ??= messages.slice();
    out[i] = placed;
  }
  return out ?? messages;
}
