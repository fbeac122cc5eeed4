/** Recordings: the LevelDB format, the recorder sink, readers and the JSONL exchange format. */
export { RecordingError } from './errors.js';
export type { StoredCall } from './stored-call.js';
export { openRecorder, Recorder, type RecorderOptions } from './recorder.js';
export { openRecording, RecordingReader, type CallFilter, type RecordingInfo } from './reader.js';
export { createRecording, RecordingWriter } from './writer.js';
export { findRecordings, folderSize } from './find.js';
export { callView, type CallView } from './call-view.js';
export { callToJsonl, callFromJsonl, JsonlError, type JsonlCall } from './jsonl.js';
export { StatsCollector, percentile, type MethodStats } from './call-stats.js';
export { methodMatches, makeMethodFilter } from './method-filter.js';
export { MANIFEST_FILE, FORMAT_VERSION } from './manifest.js';
