import type { CallRecord } from '../call.js';
import type { CallIds } from '../cri/ids.js';

/** A call as it sits in a recording: the record, its key, the ids found in it, what was redacted. */
export interface StoredCall extends CallRecord {
  key: string;
  ids: CallIds;
  /** What the recorder blanked before storing, e.g. ["request", "metadata:authorization"]. */
  redacted?: string[];
}
