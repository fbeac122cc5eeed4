/**
 * Child process: what replay spends choosing and building each answer, without sockets. A
 * kubelet-like recording of 100 000 calls (bench/kubelet-like.ts) is served to a client that
 * makes the same calls again — once as the recorded pods' own lives (recorded ids), once as new
 * lives of them (every pod and container id new) — through replay's call handler, with the life
 * cycle followed (state on) and by request alone (--no-state), side by side in one process.
 */
import type { CallRecord } from '../src/call.js';
import { decodeMessage, encodeMessage } from '../src/cri/codec.js';
import { allMethods, lookupMethod } from '../src/cri/methods.js';
import { silentLogger } from '../src/log.js';
import { prepareAnswers } from '../src/replay/answering.js';
import { Replayer } from '../src/replay/replayer.js';
import { DEFAULT_IGNORE, parseIgnoreRule } from '../src/replay/ignore.js';
import type { ServerCall } from '../src/replay/h2/server.js';
import { childArgs, failChild, tell } from './children.js';
import { kubeletLikeCalls } from './kubelet-like.js';
import { percentile } from './stats.js';

export interface ReplayChoiceArgs {
  calls: number;
}

export interface ReplayChoiceFigures {
  calls: number;
  /** Building the answer index (and the recorded phases, with state) from the loaded calls. */
  loadMsState: number;
  loadMsNoState: number;
  /** Mean and p99 µs per call through the handler. */
  meanUsState: number;
  p99UsState: number;
  meanUsNoState: number;
  p99UsNoState: number;
  /** The same calls as new lives of the recorded pods (state on only: without state ids do not change). */
  meanUsStateNewLives: number;
  p99UsStateNewLives: number;
  misses: number;
}

/** A server call that keeps what is sent: the first message, the status. */
function serverCall(path: string, request: Buffer): ServerCall & { answer?: Buffer; code?: number } {
  const c: ServerCall & { answer?: Buffer; code?: number } = {
    path,
    request,
    metadata: [],
    signal: new AbortController().signal,
    deadline: undefined,
    closed: false,
    sendHeaders() {},
    sendMessage(data: Buffer) {
      c.answer ??= data;
    },
    endEncoded() {
      c.code = 0;
    },
    end(status: { code: number }) {
      c.code = status.code;
    },
  } as unknown as ServerCall & { answer?: Buffer; code?: number };
  return c;
}

function makeReplayer(calls: CallRecord[], state: boolean): { replayer: Replayer; loadMs: number } {
  const t0 = performance.now();
  const { matcher, chooser } = prepareAnswers(calls, { mode: 'nearest', onExhausted: 'repeat', ignore: DEFAULT_IGNORE.map(parseIgnoreRule), state, housekeeping: true });
  const replayer = new Replayer({ matcher, timing: undefined, logger: silentLogger, chooser });
  replayer.serve(calls, allMethods());
  return { replayer, loadMs: performance.now() - t0 };
}

/** Replays the recorded requests in order; with `rewrite`, ids the replay handed out replace the recorded ones. */
function drive(replayer: Replayer, calls: CallRecord[], rewrite: boolean): number[] {
  const ids = new Map<string, string>();
  const times: number[] = [];
  for (const c of calls) {
    let request = c.requests[0]!.data;
    const info = lookupMethod(c.method)!;
    if (rewrite && ids.size > 0) {
      let text = JSON.stringify(decodeMessage(info.requestType, request));
      for (const [from, to] of ids) if (text.includes(from)) text = text.split(from).join(to);
      request = encodeMessage(info.requestType, JSON.parse(text));
    }
    const call = serverCall(c.method, request);
    const t0 = performance.now();
    replayer.handle(call);
    times.push((performance.now() - t0) * 1000);
    if (call.code !== 0) throw new Error(`critap: bench replay-choice: ${c.method} answered code ${call.code}`);
    if (rewrite && (info.name === 'RunPodSandbox' || info.name === 'CreateContainer') && call.answer) {
      const field = info.name === 'RunPodSandbox' ? 'podSandboxId' : 'containerId';
      const mine = decodeMessage(info.responseType, call.answer)[field] as string;
      const recorded = decodeMessage(info.responseType, c.responses[0]!.data)[field] as string;
      ids.set(recorded, mine);
    }
  }
  return times;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const args = childArgs<ReplayChoiceArgs>();
  const calls = kubeletLikeCalls(args.calls);
  // Warm-up: the JIT, protobuf.js's generated coders.
  drive(makeReplayer(calls.slice(0, 2000), true).replayer, calls.slice(0, 2000), false);
  drive(makeReplayer(calls.slice(0, 2000), false).replayer, calls.slice(0, 2000), false);
  const withState = makeReplayer(calls, true);
  const stateTimes = drive(withState.replayer, calls, false);
  const newLives = drive(withState.replayer, calls, true);
  const without = makeReplayer(calls, false);
  const plainTimes = drive(without.replayer, calls, false);
  const figures: ReplayChoiceFigures = {
    calls: calls.length,
    loadMsState: withState.loadMs,
    loadMsNoState: without.loadMs,
    meanUsState: mean(stateTimes),
    p99UsState: percentile(stateTimes, 99),
    meanUsNoState: mean(plainTimes),
    p99UsNoState: percentile(plainTimes, 99),
    meanUsStateNewLives: mean(newLives),
    p99UsStateNewLives: percentile(newLives, 99),
    misses: withState.replayer.misses.length + without.replayer.misses.length,
  };
  if (process.send) tell({ type: 'ready', figures });
  else process.stdout.write(JSON.stringify(figures, null, 2) + '\n'); // run by hand
  setTimeout(() => process.exit(0), 20);
}

main().catch(failChild);
