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
  for (const [name, value] of headers) {
    if (!isSecretHeader(name)) continue;
    secrets.remember(Buffer.from(value, 'utf8'));
    const token = /^\S+\s+(\S+)$/.exec(value)?.[1];
    if (token) secrets.remember(Buffer.from(token, 'utf8'));
  }
}

function learnMessages(messages: readonly TimedMessage[], typeName: string, rules: RedactionRules | undefined, secrets: SecretMemory): void {
  if (!canRedact(typeName, rules)) return;
  const learn = (v: Buffer) => secrets.remember(v);
  for (const m of messages) {
    if (m.compressed) continue; // the recorder decompresses and learns these in its batch
    try {
      redactMessage(typeName, m.data, rules, learn);
    } catch {
      // An unparseable body: the recorder drops it; nothing to learn here.
    }
  }
}

export function learnSecrets(call: CallRecord, rules: RedactionRules | undefined, secrets: SecretMemory): void {
  for (const h of [call.requestMetadata, call.responseHeaders, call.responseTrailers]) learnHeaders(h, secrets);
  const info = lookupMethod(call.method);
  if (!info) return;
  learnMessages(call.requests, info.requestType, rules, secrets);
  learnMessages(call.responses, info.responseType, rules, secrets);
}

/**
 * The call as live telemetry may see it: status message and header values scrubbed of values
 * redacted before. Spans carry no message bodies, so those are left as they are.
 */
export function scrubForTelemetry(call: CallRecord, secrets: SecretMemory): CallRecord {
  if (secrets.size === 0) return call;
  const headers = (hs: Header[]): Header[] => {
    let out: Header[] | undefined;
    hs.forEach(([k, v], i) => {
      const clean = secrets.scrubText(v);
      if (clean === undefined) return;
      out ??= hs.slice();
      out[i] = [k, clean];
    });
    return out ?? hs;
  };
  const message = secrets.scrubText(call.status.message);
  const requestMetadata = headers(call.requestMetadata);
  const responseHeaders = headers(call.responseHeaders);
  const responseTrailers = headers(call.responseTrailers);
  if (message === undefined && requestMetadata === call.requestMetadata && responseHeaders === call.responseHeaders && responseTrailers === call.responseTrailers) return call;
  return { ...call, status: message === undefined ? call.status : { ...call.status, message }, requestMetadata, responseHeaders, responseTrailers };
}
