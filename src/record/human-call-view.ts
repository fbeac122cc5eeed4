import { humanMessage } from '../cri/human-view.js';
import { lookupMethod } from '../cri/methods.js';
import type { CallView } from './call-view.js';

/** The call view with its messages as people read them (see cri/human-view.ts). */
export function humanCallView(view: CallView): CallView {
  const info = lookupMethod(view.method);
  if (!info) return view;
  const out: CallView = { ...view };
  if (view.request !== undefined) out.request = humanMessage(info.requestType, view.request);
  if (view.response !== undefined) out.response = humanMessage(info.responseType, view.response);
  if (view.messages) out.messages = view.messages.map((m) => ({ offsetMs: m.offsetMs, message: humanMessage(info.responseType, m.message) }));
  return out;
}
