/**
 * Calls that between them take every path of the recorder's preparation: no secret, message
 * redaction, credential headers, a value redacted once and repeated later, a failed call with
 * status details, a truncated one, a fault, a compressed body and one that does not parse.
 * record-stored-bytes.test.ts pins the bytes prepareCall stores for each, in this order (the
 * repeated secret is learned from an earlier call).
 */
import { gzipSync } from 'node:zlib';
import type { CallRecord } from '../../src/call.js';
import { SECRET_ENV, T0, V1, createContainer, makeCall, pullImage, runPodSandbox, startContainer, versionCall } from './record-fixtures.js';

export type GoldenCall = [name: string, call: CallRecord, rules?: { keepEnv?: boolean; redactPaths?: string[] }];

export function goldenCalls(): GoldenCall[] {
  const failed = makeCall({ method: V1 + 'StopPodSandbox', request: { podSandboxId: 'sb-gone' }, code: 5, startNs: T0 + 40n });
  failed.status.details = Buffer.from([0x08, 0x05, 0x12, 0x03, 0x6e, 0x6f, 0x21]);
  const truncated = startContainer('c-trunc', T0 + 50n);
  truncated.truncated = true;
  truncated.responses = [];
  const faulted = versionCall(T0 + 60n);
  faulted.fault = { ruleId: 2, rule: 'Version error=UNAVAILABLE', actions: ['error'] };
  const compressed = versionCall(T0 + 70n);
  compressed.requests = [{ offsetNs: 0, data: gzipSync(compressed.requests[0]!.data), compressed: true }];
  compressed.requestMetadata = [...compressed.requestMetadata, ['grpc-encoding', 'gzip']];
  const unparseable = createContainer('sb-1', 'c-bad', T0 + 80n);
  unparseable.requests = [{ offsetNs: 0, data: Buffer.from([0x0a, 0xff, 0xff, 0xff]) }];
  // The env value CreateContainer had blanked comes back in ExecSync's stdout.
  const echo = makeCall({ method: V1 + 'ExecSync', request: { containerId: 'c-1', cmd: ['env'] }, responses: [{ stdout: Buffer.from(`DB_PASSWORD=${SECRET_ENV}\n`).toString('base64'), exitCode: 0 }], startNs: T0 + 90n });
  const noPeer = versionCall(T0 + 100n);
  delete noPeer.peer;
  delete noPeer.authority;
  delete noPeer.propagatedTraceparent;
  return [
    ['version', versionCall(T0)],
    ['run-pod-sandbox', runPodSandbox('sb-1', T0 + 10n)],
    ['create-container', createContainer('sb-1', 'c-1', T0 + 20n)],
    ['create-container-keep-env', createContainer('sb-1', 'c-2', T0 + 21n), { keepEnv: true }],
    ['create-container-redact-labels', createContainer('sb-1', 'c-3', T0 + 22n), { redactPaths: ['*:config.metadata.name'] }],
    ['pull-image', pullImage(T0 + 30n)],
    ['failed-with-details', failed],
    ['truncated', truncated],
    ['fault', faulted],
    ['compressed', compressed],
    ['unparseable', unparseable],
    ['secret-repeated', echo],
    ['no-peer', noPeer],
  ];
}
