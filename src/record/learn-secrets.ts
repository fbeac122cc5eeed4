/**
 * Learning redacted values as a call ends, before the recorder's batch gets to it, so live spans
 * (built at once) can be scrubbed of values a call just before revealed. Only calls whose
 * messages can hold something redactable are decoded; every other call costs a header scan.
 */
import type { CallRecord, Header, TimedMessage } from '../call.js';
import { lookupMethod } from '../cri/methods.js';
import { canRedact, redactMessage, type RedactionRules } from '../cri/redact.js';
import { isSecretHeader } from './secret-headers.js';
import type { SecretMemory } from './secret-memory.js';

/** Secret header values are remembered as they are and, for "Bearer x", the token alone. */
export function learnHeaders(headers: readonly Header[], secrets: SecretMemory): void {
  // Indexed: this runs for every header of every traced call, and destructuring each pair in a
  // for…of walks an iterator per header.
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i]![0];
    if (!isSecretHeader(name)) continue;
    const value = headers[i]![1];
    secrets.remember(Buffer.from(value, 'utf8'));
    const token = /^\S+\s+(\S+)$/.exec(value)?.[1];
    if (token) secrets.remember(Buffer.from(token, 'utf8'));
  }
}

function learnMessages(messages: readonly TimedMessage[], typeName: string, rules: RedactionRules | undefined, secrets: SecretMemory): void {
  if (!canRedact(typeName, rules)) return;
  const learn = secrets.learn;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.compressed) continue; // the recorder decompresses and learns these in its batch
    try {
      redactMessage(typeName, m.data, rules, learn);
    } catch {
      // An unparseable body: the recorder drops it; nothing to learn here.
    }
  }
}

export function learnSecrets(call: CallRecord, rules: RedactionRules | undefined, secrets: SecretMemory): void {
  learnHeaders(call.requestMetadata, secrets);
  learnHeaders(call.responseHeaders, secrets);
  learnHeaders(call.responseTrailers, secrets);
  const info = lookupMethod(call.method);
  if (!info) return;
  learnMessages(call.requests, info.requestType, rules, secrets);
  learnMessages(call.responses, info.responseType, rules, secrets);
}

/**
 * Header values scrubbed of values redacted before; the same array when none held one. A plain
 * loop, not a closure and forEach per call: this runs for every traced call once a value is known.
 */
function scrubHeaderValues(headers: Header[], secrets: SecretMemory): Header[] {
  let out: Header[] | undefined;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const clean = secrets.scrubText(h[1]);
    if (clean === undefined) continue;
    out ??= headers.slice();
    out[i] = [h[0], clean];
  }
  return out ?? headers;
}

/**
 * The call as live telemetry may see it: status message and header values scrubbed of values
 * redacted before. Spans carry no message bodies, so those are left as they are.
 */
export function scrubForTelemetry(call: CallRecord, secrets: SecretMemory): CallRecord {
  if (secrets.size === 0) return call;
  const message = secrets.scrubText(call.status.message);
  const requestMetadata = scrubHeaderValues(call.requestMetadata, secrets);
  const responseHeaders = scrubHeaderValues(call.responseHeaders, secrets);
  const responseTrailers = scrubHeaderValues(call.responseTrailers, secrets);
  if (message === undefined && requestMetadata === call.requestMetadata && responseHeaders === call.responseHeaders && responseTrailers === call.responseTrailers) return call;
  return { ...call, status: message === undefined ? call.status : { ...call.status, message }, requestMetadata, responseHeaders, responseTrailers };
}
