/**
 * Replay's state, pure: the phases each recorded call saw, the client's world, and the answer
 * chosen for each call — one test per kind of answer (exact, nearest, state-chosen, templated,
 * synthesized, miss) and per rule (state follows the client, ids are the runtime's, life cycles
 * repeat, lists show the client's world).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord } from '../../src/call.js';
import { decodeMessage, encodeMessage } from '../../src/cri/codec.js';
import { resolveMethodName } from '../../src/cri/methods.js';
import { Matcher } from '../../src/replay/matcher.js';
import { requestView } from '../../src/replay/replayer.js';
import { buildState } from '../../src/replay/state/build.js';
import type { Choice } from '../../src/replay/state/chooser.js';
import { ClientWorld } from '../../src/replay/state/world.js';

type Json = Record<string, unknown>;

const S1 = '5a'.repeat(32);
const C1 = 'c1'.repeat(32);
const APP = '127.0.0.1:5000/app:1';
const NOT_FOUND_C1 = `an error occurred when try to find container "${C1}": not found`;

function rec(method: string, request: Json, response?: Json, code = 0, message = ''): CallRecord {
  const info = resolveMethodName(method)!;
  const data = response ? encodeMessage(info.responseType, response) : undefined;
  return {
    method: info.path,
    startNs: 0n,
    durationNs: 1000,
    requests: [{ offsetNs: 0, data: encodeMessage(info.requestType, request) }],
    responses: data ? [{ offsetNs: 0, data }] : [],
    status: { code, message },
    end: 'trailers',
    requestMetadata: [],
    responseHeaders: [],
    responseTrailers: [],
    requestBytes: 0,
    responseBytes: 0,
  };
}

const podConfig = { metadata: { name: 'web', uid: 'u1', namespace: 'ns' }, labels: { app: 'web' } };
const ctrConfig = { metadata: { name: 'c' }, image: { image: APP }, labels: { k: 'v' } };
const status = (state?: string, extra: Json = {}) => ({ status: { id: C1, metadata: { name: 'c' }, image: { image: APP }, imageRef: 'sha256:app', labels: { k: 'v' }, ...(state ? { state } : {}), ...extra } });

/** One pod's life, recorded: the image pulled, a sandbox and a container through every phase. */
const RECORDING: CallRecord[] = [
  rec('Version', {}, { version: '0.1.0', runtimeName: 'containerd', runtimeVersion: '1.6.20', runtimeApiVersion: 'v1' }), // 0
  rec('ListImages', {}, { images: [{ id: 'sha256:pause', repoTags: ['k8s/pause:1'], size: '100' }] }), // 1
  rec('ImageStatus', { image: { image: APP } }, {}), // 2: not there yet
  rec('PullImage', { image: { image: APP } }, { imageRef: 'sha256:app' }), // 3
  rec('ImageStatus', { image: { image: APP } }, { image: { id: 'sha256:app', repoTags: [APP], size: '200' } }), // 4
  rec('RunPodSandbox', { config: podConfig }, { podSandboxId: S1 }), // 5
  rec('CreateContainer', { podSandboxId: S1, config: ctrConfig, sandboxConfig: podConfig }, { containerId: C1 }), // 6
  rec('ContainerStatus', { containerId: C1 }, status()), // 7: created
  rec('StartContainer', { containerId: C1 }, {}), // 8
  rec('ContainerStatus', { containerId: C1 }, status('CONTAINER_RUNNING')), // 9
  rec('ListContainers', {}, { containers: [{ id: C1, podSandboxId: S1, metadata: { name: 'c' }, state: 'CONTAINER_RUNNING', labels: { k: 'v' } }] }), // 10
  rec('ListPodSandbox', {}, { items: [{ id: S1, metadata: podConfig.metadata, labels: podConfig.labels }] }), // 11
  rec('PodSandboxStatus', { podSandboxId: S1 }, { status: { id: S1, metadata: podConfig.metadata, labels: podConfig.labels } }), // 12: ready
  rec('ExecSync', { containerId: C1, cmd: ['true'] }, {}), // 13
  rec('StopContainer', { containerId: C1 }, {}), // 14
  rec('ContainerStatus', { containerId: C1 }, status('CONTAINER_EXITED', { finishedAt: '5', exitCode: 0 })), // 15
  rec('RemoveContainer', { containerId: C1 }, {}), // 16
  rec('ContainerStatus', { containerId: C1 }, undefined, 5, NOT_FOUND_C1), // 17
  rec('StopPodSandbox', { podSandboxId: S1 }, {}), // 18
  rec('RemovePodSandbox', { podSandboxId: S1 }, {}), // 19
];

function setup(calls: CallRecord[] = RECORDING) {
  const views = calls.map((c) => requestView(resolveMethodName(c.method), c.requests[0]!.data));
  const matcher = new Matcher<CallRecord>([], {});
  const state = buildState(calls, views, matcher, { housekeeping: true });
  const choose = (method: string, request: Json = {}): Choice => {
    const info = resolveMethodName(method)!;
    return state.chooser.choose(info.path, info, requestView(info, encodeMessage(info.requestType, request)));
  };
  return { ...state, choose };
}

/** The answer a choice sends, decoded (echo and edits applied), with its status code. */
function answer(method: string, c: Choice): { code: number; json: Json } {
  assert.notEqual(c.kind, 'miss', c.kind === 'miss' ? c.message : '');
  if (c.kind === 'miss') throw new Error('unreachable');
  const info = resolveMethodName(method)!;
  if (c.made) return { code: c.made.code, json: JSON.parse(JSON.stringify(c.made.answer)) };
  const data = c.call!.responses[0]?.data;
  let json = data ? decodeMessage(info.responseType, data) : {};
  let text = JSON.stringify(json);
  for (const [a, b] of c.echo) text = text.split(a).join(b);
  json = JSON.parse(text) as Json;
  c.edit?.(json);
  return { code: c.call!.status.code, json };
}

function kind(c: Choice): string {
  return c.kind;
}

test('the recording: each call knows the phases of what it names; what existed before is found', () => {
  const { recorded } = setup();
  const keys = recorded.facts.map((f) => f.key);
  assert.equal(keys[2], 'image:absent');
  assert.equal(keys[4], 'image:present');
  assert.equal(keys[6], 'sandbox:ready');
  assert.deepEqual([keys[7], keys[9], keys[15], keys[17]], ['container:created', 'container:running', 'container:exited', 'container:removed']);
  assert.equal(keys[19], 'sandbox:notready');
  assert.equal(recorded.entities.get('sha256:pause')?.initialPhase, 'present', 'listed before anything made it: it was there');
  assert.equal(recorded.entities.get(S1)?.initialPhase, undefined, 'made by the recorded client');
  assert.equal(recorded.entities.get(C1)?.sandboxId, S1);
  assert.equal(recorded.imageId('10.0.0.1:443/app:1'), 'sha256:app', 'the same name on another registry host');
});

test('exact: equal request, same phase; an image is absent until the client pulls it', () => {
  const { choose } = setup();
  assert.equal(kind(choose('Version')), 'exact');
  const before = choose('ImageStatus', { image: { image: APP } });
  assert.equal(kind(before), 'exact');
  assert.deepEqual(answer('ImageStatus', before).json, {});
  assert.equal(kind(choose('PullImage', { image: { image: APP } })), 'exact');
  const after = choose('ImageStatus', { image: { image: APP } });
  assert.deepEqual(answer('ImageStatus', after).json, { image: { id: 'sha256:app', repoTags: [APP], size: '200' } });
});

test('state follows the client: after a stop, status says EXITED though the client skipped the RUNNING status', () => {
  const { choose } = setup();
  assert.equal(answer('RunPodSandbox', choose('RunPodSandbox', { config: podConfig })).json.podSandboxId, S1);
  assert.equal(answer('CreateContainer', choose('CreateContainer', { podSandboxId: S1, config: ctrConfig, sandboxConfig: podConfig })).json.containerId, C1);
  choose('StartContainer', { containerId: C1 });
  choose('StopContainer', { containerId: C1 });
  const st = choose('ContainerStatus', { containerId: C1 });
  assert.equal(kind(st), 'exact');
  assert.equal((answer('ContainerStatus', st).json.status as Json).state, 'CONTAINER_EXITED');
  choose('RemoveContainer', { containerId: C1 });
  const gone = choose('ContainerStatus', { containerId: C1 });
  assert.deepEqual([answer('ContainerStatus', gone).code, kind(gone)], [5, 'exact'], 'the recorded NotFound after removal');
});

test('state-chosen: lists show the client world; a status in an unrecorded phase is moved to it', () => {
  const { choose } = setup();
  choose('RunPodSandbox', { config: podConfig });
  choose('CreateContainer', { podSandboxId: S1, config: ctrConfig, sandboxConfig: podConfig });
  choose('StartContainer', { containerId: C1 });
  const running = choose('ListContainers');
  assert.equal(kind(running), 'exact', 'the recording has this very list');
  choose('StopContainer', { containerId: C1 });
  const exited = choose('ListContainers');
  assert.equal(kind(exited), 'state-chosen');
  assert.deepEqual((answer('ListContainers', exited).json.containers as Json[]).map((c) => [c.id, c.state]), [[C1, 'CONTAINER_EXITED']]);
  assert.deepEqual(answer('ListContainers', choose('ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' } } })).json, {});
  assert.equal((answer('ListContainers', choose('ListContainers', { filter: { labelSelector: { k: 'v' } } })).json.containers as Json[]).length, 1);
  assert.deepEqual(answer('ListContainers', choose('ListContainers', { filter: { labelSelector: { k: 'w' } } })).json, {});
  choose('StopPodSandbox', { podSandboxId: S1 });
  const pod = choose('PodSandboxStatus', { podSandboxId: S1 });
  assert.equal(kind(pod), 'state-chosen', 'the recording inspected the pod only while ready');
  assert.equal((answer('PodSandboxStatus', pod).json.status as Json).state, 'SANDBOX_NOTREADY');
  choose('RemovePodSandbox', { podSandboxId: S1 });
  assert.deepEqual(answer('ListContainers', choose('ListContainers')).json, {}, 'removing the pod removed its container');
  assert.deepEqual(answer('ListPodSandbox', choose('ListPodSandbox')).json, {});
});

test('templated: a second life gets new ids of the same shape and the client values, answered like the first', () => {
  const { choose } = setup();
  const first = answer('RunPodSandbox', choose('RunPodSandbox', { config: podConfig })).json.podSandboxId as string;
  assert.equal(answer('CreateContainer', choose('CreateContainer', { podSandboxId: first, config: ctrConfig, sandboxConfig: podConfig })).json.containerId, C1);
  const again = choose('RunPodSandbox', { config: { ...podConfig, metadata: { ...podConfig.metadata, attempt: 1 } } });
  assert.equal(kind(again), 'templated');
  const second = answer('RunPodSandbox', again).json.podSandboxId as string;
  assert.equal(first, S1);
  assert.match(second, /^[0-9a-f]{64}$/);
  assert.notEqual(second, S1);
  const made = choose('CreateContainer', { podSandboxId: second, config: { ...ctrConfig, metadata: { name: 'c', attempt: 3 } }, sandboxConfig: podConfig });
  assert.equal(kind(made), 'templated');
  const cid = answer('CreateContainer', made).json.containerId as string;
  assert.match(cid, /^[0-9a-f]{64}$/);
  assert.notEqual(cid, C1);
  const st = answer('ContainerStatus', choose('ContainerStatus', { containerId: cid })).json.status as Json;
  assert.equal(st.id, cid);
  assert.deepEqual(st.metadata, { name: 'c', attempt: 3 }, 'the client asked for attempt 3');
  assert.equal(st.state, undefined, 'created: the JSON view leaves the zero state out');
  // The first pod is untouched by the second's life.
  choose('StartContainer', { containerId: cid });
  const list = answer('ListContainers', choose('ListContainers', { filter: { podSandboxId: second } })).json.containers as Json[];
  assert.deepEqual(list.map((c) => [c.id, c.podSandboxId, c.state]), [[cid, second, 'CONTAINER_RUNNING']]);
  // Ids are the same on every run of a replay: the same recording, the same calls, the same ids.
  const other = setup();
  other.choose('RunPodSandbox', { config: podConfig });
  other.choose('CreateContainer', { podSandboxId: first, config: ctrConfig, sandboxConfig: podConfig });
  assert.equal(answer('RunPodSandbox', other.choose('RunPodSandbox', { config: podConfig })).json.podSandboxId, second);
});

test('ids are the runtime\'s: unknown ids are NOT_FOUND in the recorded shape, prefixes resolve, removal is idempotent', () => {
  const { choose } = setup();
  const unknown = choose('ContainerStatus', { containerId: 'nope' });
  assert.equal(kind(unknown), 'synthesized');
  assert.deepEqual(answer('ContainerStatus', unknown), { code: 5, json: {} });
  assert.equal(unknown.kind !== 'miss' && unknown.made?.message, 'an error occurred when try to find container "nope": not found');
  assert.equal(answer('ContainerStatus', choose('ContainerStatus', { containerId: C1 })).code, 5, 'a recorded id the client never made is unknown too');
  assert.deepEqual(answer('RemoveContainer', choose('RemoveContainer', { containerId: 'nope' })), { code: 0, json: {} });
  choose('RunPodSandbox', { config: podConfig });
  choose('CreateContainer', { podSandboxId: S1, config: ctrConfig, sandboxConfig: podConfig });
  const short = choose('ContainerStatus', { containerId: C1.slice(0, 6) });
  assert.equal(kind(short), 'exact');
  assert.equal((answer('ContainerStatus', short).json.status as Json).id, C1, 'the full id, as containerd answers');
});

test('synthesized: the calls every runtime answers, derived from the recording', () => {
  const { choose } = setup();
  choose('PullImage', { image: { image: APP } });
  const fs = choose('ImageFsInfo');
  assert.equal(kind(fs), 'synthesized');
  const usage = (answer('ImageFsInfo', fs).json.imageFilesystems as Json[])[0]!;
  assert.deepEqual(usage.usedBytes, { value: '300' }, 'the recorded sizes of the images present');
  assert.deepEqual(usage.fsId, { mountpoint: '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs' });
  assert.equal(kind(choose('UpdateRuntimeConfig', { runtimeConfig: { networkConfig: { podCidr: '10.0.0.0/24' } } })), 'synthesized');
  assert.equal(answer('ReopenContainerLog', choose('ReopenContainerLog', { containerId: 'nope' })).code, 5);
  choose('RunPodSandbox', { config: podConfig });
  choose('CreateContainer', { podSandboxId: S1, config: ctrConfig, sandboxConfig: podConfig });
  assert.deepEqual(answer('ReopenContainerLog', choose('ReopenContainerLog', { containerId: C1 })), { code: 0, json: {} });
  const stats = answer('ContainerStats', choose('ContainerStats', { containerId: C1 })).json.stats as Json;
  assert.equal((stats.attributes as Json).id, C1);
  // Without a recorded Version, replay names itself.
  const bare = setup([RECORDING[1]!]);
  assert.equal(answer('Version', bare.choose('Version')).json.runtimeName, 'critap-replay');
});

test('nearest and miss: a differing request names its fields; a method never recorded nor answered by every runtime is a miss', () => {
  const { choose } = setup();
  choose('RunPodSandbox', { config: podConfig });
  choose('CreateContainer', { podSandboxId: S1, config: ctrConfig, sandboxConfig: podConfig });
  choose('StartContainer', { containerId: C1 });
  const near = choose('ExecSync', { containerId: C1, cmd: ['false'] });
  assert.equal(kind(near), 'nearest');
  assert.deepEqual(near.kind !== 'miss' && near.differences.map((d) => d.path), ['cmd[0]']);
  const miss = choose('ListMetricDescriptors');
  assert.equal(miss.kind, 'miss');
  assert.equal(miss.kind === 'miss' && miss.reason, 'no-method');
});

test('the client world: first life keeps the recorded id, later ones get new ids; ambiguous prefixes are errors', () => {
  const { recorded } = setup();
  const world = new ClientWorld(recorded);
  const a = world.create('sandbox', S1, {});
  const b = world.create('sandbox', S1, {});
  assert.equal(a.id, S1);
  assert.notEqual(b.id, S1);
  assert.equal(b.id.length, 64);
  const c = world.create('container', 'x1', {}, a.id);
  const d = world.create('container', 'x1', {}, a.id);
  assert.deepEqual([c.id, d.id], ['x1', 'x1-1'], 'a non-hex id keeps its text and gets a suffix');
  assert.ok('ambiguous' in world.resolve('container', 'x'));
  world.move(a, 'notready');
  assert.deepEqual([c.phase, d.phase], ['exited', 'exited'], 'stopping a pod stops its containers');
  world.move(a, 'removed');
  assert.deepEqual([c.phase, d.phase], ['removed', 'removed']);
  assert.ok('unknown' in world.resolve('container', 'x'), 'removed entities do not resolve by prefix');
  assert.ok('entity' in world.resolve('container', 'x1'), 'but by their whole id');
});

test('the end of a life the recording never saw: stop and removal are answered, and the world follows', () => {
  // A recording that ends with the container running (a kubelet recorded before its pod was deleted).
  const { choose } = setup(RECORDING.slice(0, 13));
  choose('RunPodSandbox', { config: podConfig });
  choose('CreateContainer', { podSandboxId: S1, config: ctrConfig, sandboxConfig: podConfig });
  choose('StartContainer', { containerId: C1 });
  for (const [method, req] of [['StopContainer', { containerId: C1 }], ['StopPodSandbox', { podSandboxId: S1 }], ['RemoveContainer', { containerId: C1 }], ['RemovePodSandbox', { podSandboxId: S1 }]] as const) {
    const c = choose(method, req);
    assert.equal(kind(c), 'synthesized', method);
    assert.equal(answer(method, c).code, 0, method);
  }
  assert.deepEqual(answer('ListContainers', choose('ListContainers')).json, {});
  assert.deepEqual(answer('ListPodSandbox', choose('ListPodSandbox')).json, {});
  assert.equal(answer('ContainerStatus', choose('ContainerStatus', { containerId: C1 })).code, 5, 'removed: NotFound');
});

test('CRI-O pulls answer a digest reference: the image is still known by its listed id', () => {
  const digestRef = '127.0.0.1:5000/app@sha256:' + 'd1'.repeat(32);
  const hexId = 'ab'.repeat(32);
  const item = { id: hexId, repoTags: [APP], repoDigests: [digestRef], size: '7' };
  const { choose, recorded } = setup([
    rec('ImageStatus', { image: { image: APP } }, {}),
    rec('PullImage', { image: { image: APP } }, { imageRef: digestRef }),
    rec('ListImages', {}, { images: [item] }),
    rec('ImageStatus', { image: { image: APP } }, { image: item }),
  ]);
  assert.equal(recorded.imageId(digestRef), hexId);
  assert.deepEqual(recorded.facts.map((f) => f.key), ['image:absent', 'image:absent', '', 'image:present']);
  assert.deepEqual(answer('ListImages', choose('ListImages')).json, {}, 'nothing pulled yet');
  choose('PullImage', { image: { image: APP } });
  const listed = choose('ListImages');
  assert.equal(kind(listed), 'exact');
  assert.deepEqual(answer('ListImages', listed).json, { images: [item] });
  assert.deepEqual(answer('ImageStatus', choose('ImageStatus', { image: { image: APP } })).json, { image: item });
});

test('GetContainerEvents follows the client: its own containers\' events, as its calls make them', () => {
  const events = rec('GetContainerEvents', {}, { containerId: C1, containerEventType: 'CONTAINER_STARTED_EVENT', createdAt: '9', containersStatuses: [status('CONTAINER_RUNNING').status] });
  const { chooser, choose } = setup([...RECORDING, events]);
  const stream = choose('GetContainerEvents');
  assert.equal(kind(stream), 'state-chosen');
  assert.equal(stream.kind !== 'miss' && stream.live, true);
  const got: Json[] = [];
  const unsubscribe = chooser.subscribe((e) => got.push(e));
  choose('RunPodSandbox', { config: podConfig });
  choose('CreateContainer', { podSandboxId: S1, config: ctrConfig, sandboxConfig: podConfig });
  choose('StartContainer', { containerId: C1 });
  choose('StopPodSandbox', { podSandboxId: S1 }); // stops the container with it
  choose('RemovePodSandbox', { podSandboxId: S1 });
  unsubscribe();
  choose('RunPodSandbox', { config: podConfig });
  assert.deepEqual(got.map((e) => [e.containerId, e.containerEventType ?? 'CONTAINER_CREATED_EVENT']), [
    [C1, 'CONTAINER_CREATED_EVENT'],
    [C1, 'CONTAINER_STARTED_EVENT'],
    [C1, 'CONTAINER_STOPPED_EVENT'],
    [C1, 'CONTAINER_DELETED_EVENT'],
  ]);
  assert.equal(((got[1]!.containersStatuses as Json[])[0]!).state, 'CONTAINER_RUNNING', 'the recorded STARTED event');
  assert.equal(((got[2]!.containersStatuses as Json[])[0]!).state, 'CONTAINER_EXITED', 'made from the recorded EXITED status');
  assert.notEqual(got[1]!.createdAt, '9', 'events carry the time they happen');
  // A stream about containers the recording knows nothing else of is replayed as recorded.
  const synthetic = setup([rec('GetContainerEvents', {}, { containerId: 'e'.repeat(64), containerEventType: 'CONTAINER_STARTED_EVENT' })]);
  assert.equal(kind(synthetic.choose('GetContainerEvents')), 'exact');
});

test('stats answers are learned when first asked for: a container stats answer is the newest recorded item of that container', () => {
  const D1 = 'd1'.repeat(32);
  const statsAt = (usage: string, ids: string[]) =>
    rec('ListContainerStats', {}, { stats: ids.map((id) => ({ attributes: { id, metadata: { name: 'c' } }, cpu: { timestamp: '1', usageCoreNanoSeconds: { value: usage } } })) });
  // C1 listed with 100, then 200; the newest answer lists only another container.
  const { choose, recorded } = setup([...RECORDING.slice(0, 10), statsAt('100', [C1, D1]), statsAt('200', [C1]), statsAt('300', [D1])]);
  choose('RunPodSandbox', { config: podConfig });
  choose('CreateContainer', { podSandboxId: S1, config: ctrConfig, sandboxConfig: podConfig });
  const stats = answer('ContainerStats', choose('ContainerStats', { containerId: C1 })).json.stats as Json;
  assert.deepEqual((stats.cpu as Json).usageCoreNanoSeconds, { value: '200' }, 'the newest answer that lists C1, not the first nor the newest of all');
  assert.deepEqual(((recorded.item('ListContainerStats', D1) as Json).cpu as Json).usageCoreNanoSeconds, { value: '300' });
  assert.equal(recorded.item('ListContainerStats', 'nope'), undefined);
});
