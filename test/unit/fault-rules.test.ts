import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultRuleError, parseFaultRule } from '../../src/fault/rule.js';
import { FaultSet } from '../../src/fault/set.js';

const RUN = '/runtime.v1.RuntimeService/RunPodSandbox';
const VERSION = '/runtime.v1.RuntimeService/Version';
const PULL = '/runtime.v1.ImageService/PullImage';

function bad(rule: string, pattern: RegExp): void {
  assert.throws(() => parseFaultRule(rule), (err: unknown) => {
    assert.ok(err instanceof FaultRuleError, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

test('every key, action and condition parses', () => {
  const r = parseFaultRule('method=RunPodSandbox, error=UNAVAILABLE, message=disk full, retry later, pod=web-0,namespace=prod,container=app,image=127.0.0.1:5000/pause,percent=50,count=2,after=1');
  assert.equal(r.method, 'RunPodSandbox');
  assert.equal(r.error, 14);
  assert.equal(r.message, 'disk full, retry later');
  assert.deepEqual([r.pod, r.namespace, r.container, r.image], ['web-0', 'prod', 'app', '127.0.0.1:5000/pause']);
  assert.deepEqual([r.percent, r.count, r.after], [50, 2, 1]);
  assert.equal(parseFaultRule('method=Version,error=4').error, 4);
  assert.equal(parseFaultRule('method=Version,error=deadline_exceeded').error, 4);
  assert.equal(parseFaultRule('method=Version,delay=1500ms').delayMs, 1500);
  assert.equal(parseFaultRule('method=Version,delay-response=2s').delayResponseMs, 2000);
  assert.equal(parseFaultRule('method=Version,delay=1.5').delayMs, 1500);
  assert.equal(parseFaultRule('method=Version,hang').hang, true);
  assert.equal(parseFaultRule('method=ImageService/PullImage,reset').reset, true);
  const d = parseFaultRule('method=Version,delay=1s,error=INTERNAL,delay-response=10ms');
  assert.deepEqual([d.delayMs, d.error, d.delayResponseMs, d.percent, d.after], [1000, 13, 10, 100, 0]);
});

test('bad rules name the key and suggest what was meant', () => {
  bad('method=RunPodSandox,error=UNAVAILABLE', /RunPodSandox.*did you mean "RunPodSandbox"/);
  bad('method=Version,eror=UNAVAILABLE', /unknown key "eror".*did you mean "error"/);
  bad('method=Version,error=UNAVAILBLE', /error=UNAVAILBLE.*did you mean "UNAVAILABLE"/);
  bad('method=Version,error=OK', /not an error/);
  bad('method=Version,error=0', /not an error/);
  bad('method=Version,error=17', /1 to 16/);
  bad('error=UNAVAILABLE', /method= is required/);
  bad('method=Version', /what to do/);
  bad('method=Version,pod=web-0', /what to do/);
  bad('method=Version,delay=soon', /delay=soon is no duration/);
  bad('method=Version,delay-response=-1s', /no duration/);
  bad('method=Version,hang,error=INTERNAL', /cannot both/);
  bad('method=Version,reset,hang', /cannot both/);
  bad('method=Version,hang,delay-response=1s', /nothing to delay/);
  bad('method=Version,delay=1s,message=x', /message= goes with error=/);
  bad('method=Version,error=INTERNAL,percent=150', /percent=150/);
  bad('method=Version,error=INTERNAL,count=two', /count=two wants a whole number/);
  bad('method=Version,error=INTERNAL,count=0', /never fire/);
  bad('method=Version,error=INTERNAL,after=-1', /after=-1/);
  bad('method=Version,method=Status,error=INTERNAL', /method is given twice/);
  bad('method=Version,hang=no', /hang takes no value/);
  bad('method=,error=INTERNAL', /method wants a value/);
  bad('', /wants a rule/);
});

test('rules match by method in every spelling, first rule that fires wins', () => {
  const set = new FaultSet(['method=runpodsandbox,error=UNAVAILABLE', 'method=RuntimeService/Version,delay=1s', 'method=/runtime.v1.ImageService/PullImage,reset']);
  assert.deepEqual(set.decide(RUN)?.actions, ['error']);
  assert.deepEqual(set.decide(VERSION)?.actions, ['delay']);
  assert.deepEqual(set.decide(PULL)?.actions, ['reset']);
  assert.equal(set.decide('/runtime.v1.RuntimeService/Status'), undefined);
  assert.deepEqual(set.list().map((r) => [r.id, r.fired]), [[1, 1], [2, 1], [3, 1]]);
  assert.deepEqual(new FaultSet(['method=Version,delay=1s,error=INTERNAL,delay-response=1s']).decide(VERSION)?.actions, ['delay', 'error', 'delay-response']);
});

test('count spends a rule, after skips the first calls, percent draws a chance', () => {
  const counted = new FaultSet(['method=Version,error=INTERNAL,count=2']);
  assert.deepEqual([1, 2, 3, 4].map(() => counted.decide(VERSION) !== undefined), [true, true, false, false]);
  assert.deepEqual(counted.list()[0], { id: 1, rule: 'method=Version,error=INTERNAL,count=2', matched: 2, fired: 2, spent: true });
  const after = new FaultSet(['method=Version,error=INTERNAL,after=2,count=1']);
  assert.deepEqual([1, 2, 3, 4].map(() => after.decide(VERSION) !== undefined), [false, false, true, false]);
  // A spent rule lets the next rule for the same method fire.
  const chain = new FaultSet(['method=Version,error=INTERNAL,count=1', 'method=Version,error=UNAVAILABLE']);
  assert.deepEqual([1, 2].map(() => chain.decide(VERSION)?.rule.error), [13, 14]);
  const draws = [0.1, 0.6, 0.49, 0.5];
  const half = new FaultSet(['method=Version,error=INTERNAL,percent=50'], () => draws.shift()!);
  assert.deepEqual([1, 2, 3, 4].map(() => half.decide(VERSION) !== undefined), [true, false, true, false]);
  assert.equal(new FaultSet(['method=Version,error=INTERNAL,percent=0']).decide(VERSION), undefined);
});

test('pod, namespace, container and image match the call ids', () => {
  const set = new FaultSet(['method=StartContainer,pod=web-0,namespace=prod,container=app,delay=1s', 'method=PullImage,image=127.0.0.1:5000/pause,error=NOT_FOUND']);
  assert.equal(set.wantsIds, true);
  const start = '/runtime.v1.RuntimeService/StartContainer';
  assert.ok(set.decide(start, { podName: 'web-0', podNamespace: 'prod', containerName: 'app' }));
  assert.equal(set.decide(start, { podName: 'web-0', podNamespace: 'dev', containerName: 'app' }), undefined);
  assert.equal(set.decide(start, { podName: 'web-1', podNamespace: 'prod', containerName: 'app' }), undefined);
  assert.equal(set.decide(start), undefined);
  assert.ok(set.decide(PULL, { image: '127.0.0.1:5000/pause:3.9' }));
  assert.ok(set.decide(PULL, { image: '127.0.0.1:5000/pause@sha256:ab' }));
  assert.equal(set.decide(PULL, { image: '127.0.0.1:5000/pause-other:1' }), undefined);
  assert.equal(new FaultSet(['method=Version,hang']).wantsIds, false);
});

test('add, remove and clear change the live rules; a bad rule is refused and changes nothing', () => {
  const set = new FaultSet();
  assert.equal(set.decide(VERSION), undefined);
  const id = set.add('method=Version,error=INTERNAL');
  assert.throws(() => set.add('method=Versoin,error=INTERNAL'), /did you mean "Version"/);
  assert.equal(set.size, 1);
  assert.ok(set.decide(VERSION));
  assert.equal(set.remove(id), true);
  assert.equal(set.remove(id), false);
  assert.equal(set.decide(VERSION), undefined);
  set.add('method=Version,hang');
  set.add('method=Status,hang');
  assert.deepEqual(set.list().map((r) => r.id), [2, 3]);
  set.clear();
  assert.equal(set.size, 0);
});
