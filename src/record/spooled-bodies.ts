/**
 * The recorder's side of spooled bodies (CallSink.spoolsBodies): when a call that names some
 * ends, each is finished in its body file, then made as safe to store as a body held in memory.
 *
 * Most large bodies are answers nothing is taken from (ExecSync's stdout, lists): they stay in
 * their files and are only scrubbed there, a window at a time, when the recorder remembers
 * redacted values. A spooled body that redaction or id extraction must read (a type with fields
 * to redact, a call's request, an answer that names a pod, a compressed body) is read back whole
 * and goes through prepareCall like any other; if that changes it, it is stored in the value and
 * its file removed.
 */
import type { CallRecord, TimedMessage } from '../call.js';
import { responseHasIds } from '../cri/ids.js';
import { lookupMethod } from '../cri/methods.js';
import { canRedact, type RedactionRules } from '../cri/redact.js';
import { readBodyFile, removeBodyFileNow, scrubBodyFile, type BodySpool } from './body-store.js';
import { bodyFilesOf, decodeValueHeader } from './call-codec.js';
import type { SecretMemory } from './secret-memory.js';
import type { PreparedCall } from './store.js';

const EMPTY = Buffer.alloc(0);

export interface SettledCall {
  call: CallRecord;
  /** Redaction flags of what was scrubbed in body files (prepareCall adds its own). */
  flags: string[];
  /** Body files written for this call (all of them: the ones its value does not name are removed). */
  files: string[];
  /** Why a spooled body could not be kept, when one could not (the call is then marked truncated). */
  lost: string[];
}

/** Whether a call names spooled bodies at all (the common case is no: nothing to do). */
export function hasSpooled(call: CallRecord): boolean {
  return anySpooled(call.requests) || anySpooled(call.responses);
}

/** Indexed: asked of every recorded call, twice, and a for…of walks an iterator. */
function anySpooled(messages: readonly TimedMessage[]): boolean {
  for (let i = 0; i < messages.length; i++) if (messages[i]!.spooled) return true;
  return false;
}

/** A dropped call's spooled bodies are of no use: their files go. */
export function abortSpooled(call: CallRecord, spool: BodySpool): void {
  for (const list of [call.requests, call.responses]) for (const m of list) if (m.spooled) spool.abort(m.spooled.id);
}

export function settleSpooled(call: CallRecord, spool: BodySpool, dir: string, rules: RedactionRules | undefined, secrets: SecretMemory | undefined): SettledCall {
  const info = lookupMethod(call.method);
  const flags: string[] = [];
  const files: string[] = [];
  const lost: string[] = [];
  const settle = (list: TimedMessage[], label: 'request' | 'response', typeName: string | undefined, decodedForIds: boolean): TimedMessage[] =>
    list.map((m, i) => {
      if (!m.spooled) return m;
      const done = spool.finish(m.spooled.id, m.spooled.length);
      if ('error' in done) {
        lost.push(`${label} of ${m.spooled.length} bytes: ${done.error}`);
        return { offsetNs: m.offsetNs, data: EMPTY };
      }
      files.push(done.file);
      const kept: TimedMessage = { ...m, spooled: { ...m.spooled, file: done.file } };
      const mustRead = m.compressed === true || (decodedForIds && i === 0) || (typeName !== undefined && canRedact(typeName, rules));
      if (mustRead) {
        kept.data = readBodyFile(dir, done.file, m.spooled.length);
      } else if (secrets && secrets.size > 0 && scrubBodyFile(dir, done.file, secrets)) {
        flags.push(`${label}:redacted-value-repeated`);
      }
      return kept;
    });
  const requests = settle(call.requests, 'request', info?.requestType, info !== undefined);
  const responses = settle(call.responses, 'response', info?.responseType, info !== undefined && !info.serverStreaming && responseHasIds(info));
  const settled: CallRecord = { ...call, requests, responses };
  if (lost.length > 0) settled.truncated = true;
  return { call: settled, flags, files, lost };
}

/**
 * After prepareCall: which of the call's body files its value names (stored with it), and
 * removes the others (bodies redaction rewrote into the value).
 */
export function keepNamedFiles(prepared: PreparedCall, files: readonly string[], dir: string): void {
  if (files.length === 0) return;
  // Repeated bodies' files are counted apart (shared-files.ts): other calls may name them too.
  const shared = new Set(prepared.sharedFiles?.map((f) => f.file));
  const named = bodyFilesOf(decodeValueHeader(prepared.value).header).filter((f) => !shared.has(f.file));
  if (named.length > 0) prepared.bodyFiles = named;
  const keep = new Set(named.map((f) => f.file));
  for (const f of files) if (!keep.has(f)) removeBodyFileNow(dir, f);
}
