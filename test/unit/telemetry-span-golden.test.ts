/**
 * The spans of a fixed set of calls, compared field by field (names, kinds, ids, parents, trace
 * state, times, status, attributes in order, events, links, drop counts, resource, scope) with
 * what revision 76c4a32 built for the same calls, before span attributes were built by
 * assignment. A change to what critap's spans say must change this file on purpose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, ParentBasedSampler, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { CallRecord } from '../../src/call.js';
import type { PodIds } from '../../src/telemetry/pod-links.js';
import { buildCallSpan, type SpanSource } from '../../src/telemetry/call-span.js';
import { upstreamAttributes } from '../../src/telemetry/call-attributes.js';
import { makeCall } from '../support/telemetry-calls.js';

const R = '/runtime.v1.RuntimeService';
const source: SpanSource = {
  resource: resourceFromAttributes({ 'service.name': 'critap-test' }),
  scope: { name: 'critap', version: 'test' },
  sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  eventLimit: 2,
};

function calls(): { c: CallRecord; ids: PodIds }[] {
  const failed = makeCall({
    method: `${R}/StartContainer`,
    request: { containerId: 'c1' },
    status: { code: 5, message: 'container "c1" not found' },
    startNs: 1_760_000_001_000_000_000n,
    metadata: [['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']],
  });
  failed.propagatedTraceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01';
  failed.truncated = true;
  failed.fault = { ruleId: 3, rule: 'method=StartContainer error=NOT_FOUND', actions: ['error'] };
  return [
    {
      c: makeCall({
        method: `${R}/Version`,
        request: { version: 'v1' },
        response: { version: '0.1.0' },
        startNs: 1_760_000_000_123_456_789n,
        durationNs: 2_500_000_001,
        metadata: [['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'], ['tracestate', 'k8s=1']],
      }),
      ids: {},
    },
    { c: failed, ids: { containerId: 'c1', podName: 'web-0', podNamespace: 'shop', podUid: 'u1', containerName: 'nginx', image: 'nginx:1', podSandboxId: 's1' } },
    {
      c: makeCall({
        method: `${R}/GetContainerEvents`,
        request: {},
        response: [{ containerId: 'a' }, { containerId: 'b' }, { containerId: 'c' }],
        offsetsNs: [10, 20, 30],
        startNs: 1_760_000_002_000_000_000n,
        metadata: [['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']],
      }),
      ids: {},
    },
  ];
}

/** A span as plain data; random span ids (calls sent on without a traceparent of critap's) pinned. */
function view(s: ReadableSpan): unknown {
  let ctx: SpanContext = s.spanContext();
  if (!s.attributes['critap.fault.rule']) ctx = { ...ctx, spanId: '2222222222222222' };
  const parent = s.parentSpanContext;
  return JSON.parse(
    JSON.stringify({
      name: s.name,
      kind: s.kind,
      context: { ...ctx, traceState: ctx.traceState?.serialize() },
      parent: parent && { ...parent, traceState: parent.traceState?.serialize() },
      startTime: s.startTime,
      endTime: s.endTime,
      duration: s.duration,
      status: s.status,
      attributes: Object.entries(s.attributes),
      events: s.events.map((e) => ({ ...e, attributes: Object.entries(e.attributes ?? {}) })),
      links: s.links,
      dropped: [s.droppedAttributesCount, s.droppedEventsCount, s.droppedLinksCount],
      resource: Object.entries(s.resource.attributes),
      scope: s.instrumentationScope,
    }),
  );
}

test('spans of fixed calls say exactly what they said before the attribute rewrite', () => {
  const up = upstreamAttributes('unix:///run/containerd/containerd.sock');
  const spans = calls().map(({ c, ids }) => buildCallSpan(source, { call: c, ids, upstream: up, serverStreaming: c.method.endsWith('Events') }));
  assert.ok(spans.every((s) => s !== undefined));
  assert.deepEqual(spans.map((s) => view(s!)), GOLDEN);
});

const GOLDEN: unknown = JSON.parse(`
[
 {
  "name": "runtime.v1.RuntimeService/Version",
  "kind": 1,
  "context": {
   "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
   "spanId": "2222222222222222",
   "traceFlags": 1,
   "traceState": "k8s=1"
  },
  "parent": {
   "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
   "spanId": "00f067aa0ba902b7",
   "traceFlags": 1,
   "isRemote": true,
   "traceState": "k8s=1"
  },
  "startTime": [
   1760000000,
   123456789
  ],
  "endTime": [
   1760000002,
   623456790
  ],
  "duration": [
   2,
   500000001
  ],
  "status": {
   "code": 0
  },
  "attributes": [
   [
    "server.address",
    "/run/containerd/containerd.sock"
   ],
   [
    "network.transport",
    "unix"
   ],
   [
    "rpc.system",
    "grpc"
   ],
   [
    "rpc.service",
    "runtime.v1.RuntimeService"
   ],
   [
    "rpc.method",
    "Version"
   ],
   [
    "rpc.grpc.status_code",
    0
   ],
   [
    "rpc.request.size",
    9
   ],
   [
    "rpc.response.size",
    12
   ],
   [
    "critap.call.end",
    "trailers"
   ],
   [
    "critap.peer.pid",
    4242
   ],
   [
    "critap.peer.exe",
    "/usr/bin/kubelet"
   ]
  ],
  "events": [],
  "links": [],
  "dropped": [
   0,
   0,
   0
  ],
  "resource": [
   [
    "service.name",
    "critap-test"
   ]
  ],
  "scope": {
   "name": "critap",
   "version": "test"
  }
 },
 {
  "name": "runtime.v1.RuntimeService/StartContainer",
  "kind": 1,
  "context": {
   "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
   "spanId": "1111111111111111",
   "traceFlags": 1
  },
  "parent": {
   "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
   "spanId": "00f067aa0ba902b7",
   "traceFlags": 1,
   "isRemote": true
  },
  "startTime": [
   1760000001,
   0
  ],
  "endTime": [
   1760000001,
   1234567
  ],
  "duration": [
   0,
   1234567
  ],
  "status": {
   "code": 2,
   "message": "container \\"c1\\" not found"
  },
  "attributes": [
   [
    "server.address",
    "/run/containerd/containerd.sock"
   ],
   [
    "network.transport",
    "unix"
   ],
   [
    "rpc.system",
    "grpc"
   ],
   [
    "rpc.service",
    "runtime.v1.RuntimeService"
   ],
   [
    "rpc.method",
    "StartContainer"
   ],
   [
    "rpc.grpc.status_code",
    5
   ],
   [
    "rpc.request.size",
    9
   ],
   [
    "rpc.response.size",
    0
   ],
   [
    "critap.call.end",
    "trailers"
   ],
   [
    "k8s.pod.name",
    "web-0"
   ],
   [
    "k8s.namespace.name",
    "shop"
   ],
   [
    "k8s.pod.uid",
    "u1"
   ],
   [
    "container.id",
    "c1"
   ],
   [
    "container.name",
    "nginx"
   ],
   [
    "container.image.name",
    "nginx:1"
   ],
   [
    "critap.pod_sandbox.id",
    "s1"
   ],
   [
    "critap.peer.pid",
    4242
   ],
   [
    "critap.peer.exe",
    "/usr/bin/kubelet"
   ],
   [
    "critap.body_truncated",
    true
   ],
   [
    "critap.fault.rule",
    "method=StartContainer error=NOT_FOUND"
   ],
   [
    "critap.fault.actions",
    [
     "error"
    ]
   ]
  ],
  "events": [
   {
    "name": "critap.fault.injected",
    "time": [
     1760000001,
     0
    ],
    "attributes": [
     [
      "critap.fault.rule_id",
      3
     ],
     [
      "critap.fault.rule",
      "method=StartContainer error=NOT_FOUND"
     ],
     [
      "critap.fault.actions",
      [
       "error"
      ]
     ]
    ],
    "droppedAttributesCount": 0
   }
  ],
  "links": [],
  "dropped": [
   0,
   0,
   0
  ],
  "resource": [
   [
    "service.name",
    "critap-test"
   ]
  ],
  "scope": {
   "name": "critap",
   "version": "test"
  }
 },
 {
  "name": "runtime.v1.RuntimeService/GetContainerEvents",
  "kind": 1,
  "context": {
   "traceId": "0af7651916cd43dd8448eb211c80319c",
   "spanId": "2222222222222222",
   "traceFlags": 1
  },
  "parent": {
   "traceId": "0af7651916cd43dd8448eb211c80319c",
   "spanId": "b7ad6b7169203331",
   "traceFlags": 1,
   "isRemote": true
  },
  "startTime": [
   1760000002,
   0
  ],
  "endTime": [
   1760000002,
   1234567
  ],
  "duration": [
   0,
   1234567
  ],
  "status": {
   "code": 0
  },
  "attributes": [
   [
    "server.address",
    "/run/containerd/containerd.sock"
   ],
   [
    "network.transport",
    "unix"
   ],
   [
    "rpc.system",
    "grpc"
   ],
   [
    "rpc.service",
    "runtime.v1.RuntimeService"
   ],
   [
    "rpc.method",
    "GetContainerEvents"
   ],
   [
    "rpc.grpc.status_code",
    0
   ],
   [
    "rpc.request.size",
    5
   ],
   [
    "rpc.response.size",
    24
   ],
   [
    "critap.call.end",
    "trailers"
   ],
   [
    "critap.peer.pid",
    4242
   ],
   [
    "critap.peer.exe",
    "/usr/bin/kubelet"
   ]
  ],
  "events": [
   {
    "name": "rpc.message",
    "time": [
     1760000002,
     20
    ],
    "attributes": [
     [
      "rpc.message.type",
      "SENT"
     ],
     [
      "rpc.message.id",
      2
     ],
     [
      "rpc.message.uncompressed_size",
      3
     ]
    ],
    "droppedAttributesCount": 0
   },
   {
    "name": "rpc.message",
    "time": [
     1760000002,
     30
    ],
    "attributes": [
     [
      "rpc.message.type",
      "SENT"
     ],
     [
      "rpc.message.id",
      3
     ],
     [
      "rpc.message.uncompressed_size",
      3
     ]
    ],
    "droppedAttributesCount": 0
   }
  ],
  "links": [],
  "dropped": [
   0,
   1,
   0
  ],
  "resource": [
   [
    "service.name",
    "critap-test"
   ]
  ],
  "scope": {
   "name": "critap",
   "version": "test"
  }
 }
]
`);
