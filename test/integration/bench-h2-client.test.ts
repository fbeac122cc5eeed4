/**
 * The benchmark's cheap h2 load client checked against grpc-js on the same servers: the fake
 * runtime directly and critap's proxy in front of it. Both clients must see the same answers
 * (bytes), the same counts, stream messages, and the same error for a method nobody serves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeRuntimeHandlers } from '../../bench/fake-runtime-handlers.js';
import {
  EVENTS_HEADER, EVENTS_PATH, EXEC_SYNC_PATH, LIST_CONTAINERS_PATH, MiB, VERSION_PATH,
  eventsRequest, execSyncRequest, execSyncResponse, listContainersRequest, listContainersResponse, versionRequest, versionResponse,
} from '../../bench/fixtures.js';
import { LOAD_CLIENTS, openCaller, runLoad, type LoadClient, type LoadJob, type LoadResult } from '../../bench/load.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { startVariant } from '../../bench/variants.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { startSetup } from './proxy-harness.js';

const LIST = 50;
const handlers = () => fakeRuntimeHandlers({ listContainers: LIST, execSizes: [8 * MiB] });
const b64 = (b: Buffer) => b.toString('base64');

/** A job without its client and endpoint (Omit over each member of the union, so kind-specific fields stay). */
type JobShape = LoadJob extends infer J ? (J extends LoadJob ? Omit<J, 'client' | 'endpoint'> : never) : never;

async function load(client: LoadClient, endpoint: string, shape: JobShape): Promise<LoadResult> {
  const job = { ...shape, client, endpoint } as LoadJob;
  const caller = await openCaller(job);
  try {
    return await runLoad(caller, job);
  } finally {
    caller.close();
  }
}

const unary = (path: string, request: Buffer, calls: number, inFlight: number): JobShape => ({
  kind: 'unary', path, request: b64(request), inFlight, connections: 2, calls, warmup: 0, latencies: true,
});

/** Runs the same job with both clients and checks they agree with each other and with `expect`. */
async function bothAgree(endpoint: string, shape: JobShape, expect: { ok: number; messages: number; answer?: Buffer }): Promise<void> {
  const results = [];
  for (const client of LOAD_CLIENTS) {
    const r = await load(client, endpoint, shape);
    assert.equal(r.errors, 0, `${client}: ${r.firstError}`);
    assert.equal(r.ok, expect.ok, client);
    assert.equal(r.messages, expect.messages, client);
    if (expect.answer) assert.equal(r.firstAnswer, b64(expect.answer), `${client}: answer bytes`);
    if (shape.kind === 'unary') assert.equal(r.latenciesUs?.length, expect.ok, `${client}: one latency per call`);
    assert.ok(r.clientCpuUs > 0, `${client}: client CPU measured`);
    results.push(r);
  }
  const [h2, grpcJs] = results as [LoadResult, LoadResult];
  assert.equal(h2.responseBytes, grpcJs.responseBytes, 'same answer bytes counted by both clients');
  assert.equal(h2.firstAnswer, grpcJs.firstAnswer, 'same first answer');
}

async function checkAll(endpoint: string): Promise<void> {
  await bothAgree(endpoint, unary(VERSION_PATH, versionRequest(), 300, 32), { ok: 300, messages: 300, answer: versionResponse() });
  await bothAgree(endpoint, unary(LIST_CONTAINERS_PATH, listContainersRequest(), 40, 8), { ok: 40, messages: 40, answer: listContainersResponse(LIST) });
  const events: JobShape = {
    kind: 'stream', path: EVENTS_PATH, request: b64(eventsRequest()), metadata: { [EVENTS_HEADER]: '3000' }, inFlight: 2, connections: 1, streams: 3, warmup: 0,
  };
  await bothAgree(endpoint, events, { ok: 3, messages: 9000 });
  // A method nobody serves: both clients read UNIMPLEMENTED from the (trailers-only) answer.
  for (const client of LOAD_CLIENTS) {
    const r = await load(client, endpoint, unary('/runtime.v1.RuntimeService/NoSuchMethod', versionRequest(), 5, 2));
    assert.equal(r.ok, 0, client);
    assert.equal(r.errors, 5, client);
    assert.match(r.firstError ?? '', /^12 UNIMPLEMENTED/, client);
  }
}

test('the h2 client and grpc-js get the same answers from the fake runtime', async (t) => {
  const up = await startFakeUpstream(handlers());
  t.after(() => up.close());
  await checkAll(up.endpoint);
});

test('the h2 client and grpc-js get the same answers through critap proxy', async (t) => {
  const s = await startSetup(t, handlers());
  await checkAll(s.proxy.endpoint);
  // Every call of both clients went through critap and was seen ending: 2 × (300 + 40 + 3 + 5).
  await s.sink.waitFor(2 * (300 + 40 + 3 + 5));
});

test('the Node pipe of the benchmark (the Node floor) forwards every byte both ways: both clients get the runtime answers through it', async (t) => {
  const up = await startFakeUpstream(handlers());
  t.after(() => up.close());
  const workDir = await mkdtemp(join(os.tmpdir(), 'critap-node-pipe-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const pipe = await startVariant('node-pipe', { workDir, critapExecArgv: () => [] }, up.endpoint);
  assert.notEqual(pipe.endpoint, up.endpoint);
  try {
    await checkAll(pipe.endpoint);
    assert.ok((pipe.cpu?.().proxy ?? 0) > 0, 'the CPU of the pipe process is read');
  } finally {
    const figures = await pipe.stop();
    assert.ok((figures.peakRssBytes ?? 0) > 0, 'its peak RSS is read before it stops');
  }
});

test('the h2 client reads 8 MiB answers whole, several at once, past the default windows', async (t) => {
  const up = await startFakeUpstream(handlers());
  t.after(() => up.close());
  const r = await load('h2', up.endpoint, { ...unary(EXEC_SYNC_PATH, execSyncRequest(8 * MiB), 6, 3), connections: 1 });
  assert.equal(r.errors, 0, r.firstError);
  assert.equal(r.ok, 6);
  assert.equal(r.responseBytes, 6 * execSyncResponse(8 * MiB).length);
  assert.equal(r.firstAnswer, undefined, 'answers over 1 MiB are not carried back');
});

test('the h2 client reports a server that is not there, and a request it cannot send', async () => {
  await assert.rejects(load('h2', 'unix:///nonexistent/critap-bench.sock', unary(VERSION_PATH, versionRequest(), 1, 1)), /cannot connect to unix:\/\/\/nonexistent/);
  const up = await startFakeUpstream(handlers());
  try {
    await assert.rejects(load('h2', up.endpoint, unary(VERSION_PATH, Buffer.alloc(20_000), 1, 1)), /one DATA frame/);
  } finally {
    await up.close();
  }
});
