import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { RUNTIME, makeCall } from '../support/telemetry-calls.js';

// node --test runs each file in its own process, so changing process.env here touches no other test.
const saved = { ...process.env };
function resetEnv(): void {
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
  for (const [k, v] of Object.entries(saved)) if (k.startsWith('OTEL_')) process.env[k] = v;
}

test('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are honoured', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  t.after(resetEnv);
  process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = receiver.url;
  process.env.OTEL_SERVICE_NAME = 'critap-node-7';
  process.env.OTEL_RESOURCE_ATTRIBUTES = 'k8s.node.name=node-7,deployment.environment=test';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '10';
  const telemetry = await createTelemetry({ upstream: '/run/c.sock' });
  assert.equal(telemetry.tracing, true, 'an endpoint in the environment turns tracing on');
  telemetry.onCallEnd(makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} }));
  await telemetry.close();
  const [span] = await receiver.waitForSpans(1);
  assert.equal(span!.resource['service.name'], 'critap-node-7');
  assert.equal(span!.resource['k8s.node.name'], 'node-7');
  assert.equal(span!.resource['deployment.environment'], 'test');
});

test('OTEL_TRACES_SAMPLER=always_off keeps every span out', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  t.after(resetEnv);
  process.env.OTEL_TRACES_SAMPLER = 'always_off';
  const telemetry = await createTelemetry({ otlpEndpoint: receiver.url, upstream: '/run/c.sock' });
  for (let i = 0; i < 5; i++) telemetry.onCallEnd(makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} }));
  await telemetry.close();
  assert.equal(receiver.requests, 0);
  assert.equal(telemetry.spansDropped, 0, 'sampled out is not dropped');
});
