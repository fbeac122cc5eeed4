/**
 * Child process: one member of the client pool. A job arrives, the worker connects and warms
 * up, says `warm`, and starts measuring only on `go` — so every worker of a pool starts together.
 */
import { childArgs, failChild, onParentMessage, tell } from './children.js';
import { openCaller, runLoad, warmUp, type LoadJob } from './load.js';

childArgs<Record<string, never>>();
let pendingGo: (() => void) | undefined;

onParentMessage(async (msg) => {
  if (msg.type === 'go') {
    pendingGo?.();
    return;
  }
  if (msg.type === 'stop') {
    tell({ type: 'stopped' });
    setTimeout(() => process.exit(0), 20);
    return;
  }
  if (msg.type !== 'job') return;
  const job = msg.job as LoadJob;
  const caller = await openCaller(job);
  try {
    const warm = await warmUp(caller, job);
    const go = new Promise<void>((resolve) => (pendingGo = resolve));
    tell({ type: 'warm', errors: warm.errors, firstError: warm.firstError });
    await go;
    pendingGo = undefined;
    const result = await runLoad(caller, job);
    tell({ type: 'result', result });
  } finally {
    caller.close();
  }
});
tell({ type: 'ready' });

process.on('uncaughtException', failChild);
