/** criErrorKinds: the kinds of CRI error in a kubelet's klog output, ids and times left out. */
import assert from 'node:assert/strict';
import test from 'node:test';
import { criErrorKinds } from '../support/kubelet-log.js';

const log = [
  'I1201 23:38:46.100000    4242 kubelet.go:2133] "SyncLoop ADD" source="file" pods=[default/critap-web-critap-node]',
  'E1201 23:38:46.123456    4242 remote_runtime.go:415] "ContainerStatus from runtime service failed" err="rpc error: code = NotFound desc = an error occurred when try to find container \\"6e2eb2e24869\\": not found" containerID="6e2eb2e24869"',
  'E1201 23:38:47.654321    4242 remote_runtime.go:415] "ContainerStatus from runtime service failed" err="rpc error: code = NotFound desc = an error occurred when try to find container \\"aaaaaaaaaaaa\\": not found" containerID="aaaaaaaaaaaa"',
  'E1201 23:38:48.000001    4242 kuberuntime_manager.go:1000] "Failed to stop sandbox" err="rpc error: code = Unavailable desc = connection refused"',
  'E1201 23:38:49.000001    4242 kubelet.go:1397] "Image garbage collection failed once. Stats initialization may not have completed yet" err="invalid capacity 0 on image filesystem"',
  'W1201 23:38:49.000001    4242 remote_runtime.go:1] "a warning, not an error" err="rpc error: code = Internal desc = x"',
].join('\n');

test('the same kind of CRI error twice (other ids, other times) is one kind; non-CRI errors and warnings are not kinds', () => {
  assert.deepEqual(criErrorKinds(log), [
    'kuberuntime_manager.go:1000 Failed to stop sandbox [Unavailable]',
    'remote_runtime.go:415 ContainerStatus from runtime service failed [NotFound]',
  ]);
});

test('a log with no errors has no kinds', () => {
  assert.deepEqual(criErrorKinds('I1201 23:38:46.100000    4242 kubelet.go:1] "ok"\n'), []);
});
