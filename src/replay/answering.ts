/**
 * The recording made ready to answer from: every recorded call filed in the Matcher (under the
 * phase it was recorded in, when replay follows the life cycle) and the chooser that reads each
 * incoming call in the client's world. Shared by `replay()` and the benchmark of answer choice.
 */
import type { CallRecord } from '../call.js';
import { lookupMethod } from '../cri/methods.js';
import type { RedactionRules } from '../cri/redact.js';
import type { IgnoreRule } from './ignore.js';
import { Matcher, type MatchMode, type OnExhausted } from './matcher.js';
import { requestView } from './replayer.js';
import type { StatefulChooser } from './state/chooser.js';
import { buildState } from './state/build.js';

export interface AnsweringOptions {
  mode: MatchMode;
  onExhausted: OnExhausted;
  ignore: IgnoreRule[];
  redaction?: RedactionRules;
  /** Follow the client's life cycle (never in sequence mode). */
  state: boolean;
  /** Synthesize the calls every runtime answers (off when a fallback runtime answers them). */
  housekeeping: boolean;
}

export function prepareAnswers(calls: readonly CallRecord[], opts: AnsweringOptions): { matcher: Matcher<CallRecord>; chooser?: StatefulChooser } {
  const matcher = new Matcher<CallRecord>([], { mode: opts.mode, onExhausted: opts.onExhausted, ignore: opts.ignore });
  // The recorded request was redacted by the recorder; the same redaction is applied again
  // (a no-op on it) so both sides are compared in the same terms.
  const views = calls.map((c) => requestView(lookupMethod(c.method), c.requests[0]?.data ?? Buffer.alloc(0), opts.redaction));
  if (opts.state && opts.mode !== 'sequence') {
    const state = buildState(calls, views, matcher, { housekeeping: opts.housekeeping });
    return { matcher, chooser: state.chooser };
  }
  calls.forEach((c, i) => matcher.add({ method: c.method, request: views[i]!, value: c }));
  return { matcher };
}
