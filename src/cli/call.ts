import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Command } from './main.js';
import { cleanGrpcText } from '../grpc-text.js';
import { UsageError, durationFlag, intFlag, parseCommandArgs } from './args.js';
import { statusName } from '../call.js';
import { decodeMessage, encodeMessage } from '../cri/codec.js';
import { resolveMethodName, type MethodInfo } from '../cri/methods.js';
import { grpcTarget, parseEndpoint } from '../endpoint.js';

const HELP = `Usage: critap call <endpoint> <Method> [request JSON] [flags]

A small CRI client, like grpcurl for the CRI: sends one request and prints the answer as JSON
(the field names crictl prints with -o json). Server streams print one JSON value per message.
An error prints "<code> <NAME>: <message>" on stderr and exits 1.

  <endpoint>       unix:///path.sock, /path.sock or tcp://host:port
  <Method>         Version, RuntimeService/Version, runtime.v1alpha2.RuntimeService/Version
                   or the full path /runtime.v1.RuntimeService/Version (runtime.v1 by default)
  [request JSON]   the request, lowerCamelCase or snake_case field names (default {});
                   @file reads it from a file, - from standard input

Flags:
  --json             one compact JSON line per message (default: indented)
  --timeout <d>      deadline, e.g. 10s, 500ms (default 10s for unary calls, none for streams)
  --count <n>        streams: stop after n messages (exit 0)

Examples:
  critap call /tmp/cri.sock Version
  critap call unix:///run/containerd/containerd.sock ListContainers '{"filter":{"state":{"state":"CONTAINER_RUNNING"}}}'
  critap call /tmp/cri.sock ImageService/PullImage '{"image":{"image":"busybox:1.36"}}' --timeout 2m
  critap call /tmp/cri.sock GetContainerEvents --count 4 --json
`;

const FLAGS = {
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  count: { type: 'string' },
} as const;

const identity = (b: Buffer) => b;

function requestText(arg: string | undefined): string {
  if (arg === undefined) return '{}';
  try {
    if (arg === '-') return readFileSync(0, 'utf8');
    if (arg.startsWith('@')) return readFileSync(arg.slice(1), 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the request from ${arg === '-' ? 'standard input' : arg.slice(1)}: ${(err as Error).message}`);
  }
  return arg;
}

function encodeRequest(info: MethodInfo, text: string): Buffer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the request is not valid JSON: ${(err as Error).message}`);
  }
  try {
    return encodeMessage(info.requestType, json);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^critap:\s*/, ''));
  }
}

function printer(info: MethodInfo, compact: boolean): (data: Buffer) => void {
  return (data) => {
    const view = decodeMessage(info.responseType, data);
    process.stdout.write((compact ? JSON.stringify(view) : JSON.stringify(view, null, 2)) + '\n');
  };
}

function failure(err: grpc.ServiceError | grpc.StatusObject): number {
  const details = cleanGrpcText('details' in err ? String(err.details) : '');
  process.stderr.write(`${err.code} ${statusName(err.code)}: ${details}\n`);
  return 1;
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const { values: v, positionals } = parseCommandArgs(argv, FLAGS);
    if (positionals.length < 2) throw new UsageError('needs an endpoint and a method, e.g. critap call /tmp/cri.sock Version');
    if (positionals.length > 3) throw new UsageError(`unexpected argument "${positionals[3]}"`);
    const [endpointText, methodText, requestArg] = positionals as [string, string, string | undefined];
    let endpoint;
    try {
      endpoint = parseEndpoint(endpointText);
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/^critap:\s*/, ''));
    }
    const info = resolveMethodName(methodText);
    if (!info) throw new UsageError(`"${methodText}" is not a CRI method (try Version, RuntimeService/Status or ImageService/ListImages)`);
    const request = encodeRequest(info, requestText(requestArg));
    const timeoutMs = durationFlag('timeout', v.timeout) ?? (info.serverStreaming ? undefined : 10_000);
    const count = v.count === undefined ? undefined : intFlag('count', v.count, 0);
    if (count !== undefined && !info.serverStreaming) throw new UsageError(`--count is for streams; ${info.name} answers once`);
    const print = printer(info, v.json === true);
    const client = new grpc.Client(grpcTarget(endpoint), grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
    const options: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
    try {
      return await new Promise<number>((resolve) => {
        if (!info.serverStreaming) {
          client.makeUnaryRequest(info.path, identity, identity, request, new grpc.Metadata(), options, (err, value) => {
            if (err) return resolve(failure(err));
            print(value ?? Buffer.alloc(0));
            resolve(0);
          });
          return;
        }
        const call = client.makeServerStreamRequest(info.path, identity, identity, request, new grpc.Metadata(), options);
        let seen = 0;
        let done = false;
        const finish = (code: number) => {
          if (done) return;
          done = true;
          resolve(code);
        };
        if (count === 0) {
          call.cancel();
          finish(0);
        }
        call.on('data', (data: Buffer) => {
          if (done) return;
          print(data);
          if (count !== undefined && ++seen >= count) {
            call.cancel();
            finish(0);
          }
        });
        call.on('error', (err: grpc.ServiceError) => finish(failure(err)));
        call.on('end', () => finish(0));
      });
    } finally {
      client.close();
    }
  },
};
