/**
 * Module customization hooks (run on Node's loader thread) for record-loads.ts: every module URL
 * the loader is asked to load is posted back to the main thread.
 */
import type { InitializeHook, LoadHook } from 'node:module';
import type { MessagePort } from 'node:worker_threads';

let port: MessagePort | undefined;

export const initialize: InitializeHook<{ port: MessagePort }> = (data) => {
  port = data.port;
};

export const load: LoadHook = (url, context, nextLoad) => {
  port?.postMessage(url);
  return nextLoad(url, context);
};
