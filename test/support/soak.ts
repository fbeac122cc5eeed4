/**
 * A soak of `critap proxy --record --otlp-endpoint` (the real CLI, a child process whose RSS is
 * read from /proc): several grpc-js clients make a bounded number of calls through it to a fake
 * runtime, a mix of small answers, ~16 KiB lists and 1 MiB ExecSync answers, while a counting
 * OTLP collector takes the spans. Afterwards every call must be accounted for: recorded or
 * counted as dropped in the recording's counters, exported as a span or counted as a dropped
 * span; the recording must open whole and hold what its counters say; and the RSS after warm-up
 * must stay near what it was early on (the curve is returned for the report).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { openRecording } from '../../src/record/reader.js';
import { startCliProxy } from './cli-proxy.js';
import type { AddCleanup } from './layered-cleanup.js';
import { rawClient, startFakeUpstream, unaryCall } from './fake-upstream.js';
import { decodeExportRequest, EXPORT_PATH } from './otlp-receiver.js';

const V1 = '/runtime.v1.RuntimeService/';
const identity = (b: Buffer) => b;

export interface SoakOptions {
  calls: number;
  clients: number;
  /** Calls each client keeps in flight. */
  inFlight: number;
  /** Recording folder (must not exist yet or be empty). */
  recording: string;
  listen: string;
  /** Retention for the recording, so a long soak does not fill the disk with 1 MiB answers. */
  maxBytes: string;
}

export interface SoakResult {
  calls: number;
  seconds: number;
  /** [calls done, critap RSS in MiB] sampled through the run. */
  rss: Array<[number, number]>;
  recorded: number;
  dropped: number;
  stored: number;
  spans: number;
  spansDropped: number;
}

/** Which method call number i makes: 1 in 100 gets 1 MiB back, 1 in 10 a list, the rest Version. */
export function soakMethod(i: number): string {
  if (i % 100 === 99) return V1 + 'ExecSync';
  if (i % 10 === 3) return V1 + 'ListContainers';
  return V1 + 'Version';
}

const ANSWERS: Record<string, Buffer> = {
  [V1 + 'Version']: Buffer.from('0a0331'.repeat(4), 'hex'),
  [V1 + 'ListContainers']: Buffer.alloc(16 * 1024, 0x62),
  [V1 + 'ExecSync']: Buffer.alloc(1024 * 1024, 0x63),
};

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** An OTLP trace collector that only counts spans (keeping a million would be the test's memory). */
async function startSpanCounter(): Promise<{ url: string; spans(): number; close(): Promise<void> }> {
  let spans = 0;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': -1 });
  server.register(
    EXPORT_PATH,
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      spans += decodeExportRequest(call.request).length;
      cb(null, Buffer.alloc(0));
    },
    identity,
    identity,
    'unary',
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

const lastNumber = (log: string[], msg: string, field: string): number => {
  let n = 0;
  for (const line of log) {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e['msg'] === msg && typeof e[field] === 'number') n = e[field] as number;
    } catch {
      // not a JSON line
    }
  }
  return n;
};

export async function runSoak(o: SoakOptions, cleanup: AddCleanup): Promise<SoakResult> {
  const handlers = Object.fromEntries(
    Object.entries(ANSWERS).map(([path, answer]) => [path, ((_c, cb) => cb(null, answer)) as grpc.handleUnaryCall<Buffer, Buffer>]),
  );
  const up = await startFakeUpstream({ unary: handlers });
  cleanup(() => up.close());
  const otlp = await startSpanCounter();
  cleanup(() => otlp.close());
  const proxy = await startCliProxy([
    '--listen', o.listen, '--upstream', up.endpoint, '--record', o.recording, '--max-bytes', o.maxBytes,
    '--otlp-endpoint', otlp.url, '--no-peer-lookup',
  ]);
  cleanup(() => proxy.stop('SIGKILL'));
  const pid = proxy.child.pid!;

  const rss: Array<[number, number]> = [];
  let done = 0;
  let next = 0;
  const sampler = setInterval(() => rss.push([done, rssMiB(pid)]), 500);
  cleanup(() => clearInterval(sampler));
  const started = performance.now();
  const clients = Array.from({ length: o.clients }, () => rawClient(proxy.endpoint));
  cleanup(() => clients.forEach((c) => c.close()));
  const failures: string[] = [];
  const worker = async (client: grpc.Client): Promise<void> => {
    while (next < o.calls) {
      const i = next++;
      const method = soakMethod(i);
      const r = await unaryCall(client, method, Buffer.alloc(0));
      if (r.error || r.response?.length !== ANSWERS[method]!.length) {
        if (failures.length < 5) failures.push(`call ${i} ${method}: ${r.error?.message ?? `${r.response?.length} bytes`}`);
      }
      done++;
    }
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: o.inFlight }, () => worker(c))));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  rss.push([done, rssMiB(pid)]);
  assert.deepEqual(failures, [], 'every call was forwarded whole');
  for (const c of clients) c.close();
  assert.equal(await proxy.stop(), 0, `critap exits 0 after the soak:\n${proxy.log.slice(-5).join('\n')}`);

  const r = await openRecording(o.recording);
  let stored = 0;
  let info;
  try {
    assert.equal(r.damage, undefined, `the recording opens whole: ${r.damage}`);
    for await (const c of r.calls()) {
      void c;
      stored++;
    }
    info = await r.info();
  } finally {
    await r.close();
  }
  // Give the collector a moment for an export still being answered as critap exited.
  await new Promise((res) => setTimeout(res, 200));
  return {
    calls: done,
    seconds,
    rss,
    recorded: info.recorded,
    dropped: info.dropped,
    stored,
    spans: otlp.spans(),
    spansDropped: lastNumber(proxy.log, 'critap: spans dropped (forwarding is not affected)', 'total'),
  };
}

/** Every call accounted for, the recording as counted, RSS flat after warm-up. */
export function assertSoakHealthy(s: SoakResult, storedLimit: (stored: number) => boolean): void {
  assert.equal(s.recorded + s.dropped, s.calls, `every call recorded or counted as dropped (${s.recorded} + ${s.dropped} of ${s.calls})`);
  assert.ok(storedLimit(s.stored), `the recording holds what its counters say (${s.stored} stored)`);
  assert.equal(s.spans + s.spansDropped, s.calls, `every call exported as a span or counted as dropped (${s.spans} + ${s.spansDropped} of ${s.calls})`);
  // Warm-up is the first fifth of the calls; later samples may not exceed the early peak by much.
  const warm = s.rss.filter(([n]) => n >= s.calls / 5);
  const early = warm.filter(([n]) => n < s.calls / 2).map(([, m]) => m);
  const late = warm.filter(([n]) => n >= s.calls / 2).map(([, m]) => m);
  if (early.length > 0 && late.length > 0) {
    const earlyMax = Math.max(...early);
    const lateMax = Math.max(...late);
    assert.ok(lateMax <= earlyMax * 1.25 + 32, `critap's RSS stays flat after warm-up: ${earlyMax} MiB early, ${lateMax} MiB late`);
  }
}

/** The RSS curve at about every tenth of the run, for the test's diagnostics. */
export function rssCurve(s: SoakResult): string {
  const points: string[] = [];
  for (let k = 0; k <= 10; k++) {
    const target = (s.calls * k) / 10;
    const sample = s.rss.find(([n]) => n >= target) ?? s.rss[s.rss.length - 1];
    if (sample) points.push(`${sample[0]}:${sample[1]}MiB`);
  }
  return points.join(' ');
}
