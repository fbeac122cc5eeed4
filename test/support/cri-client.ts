/**
 * A small promise-based CRI client for e2e tests: unary calls by method name, plain
 * objects in and out (protobuf.js `toObject` with keep-case field names), talking
 * over @grpc/grpc-js to any endpoint (containerd, `critap proxy`, `critap replay`).
 *
 * The schema comes from the project's proto/runtime/<version>/api.proto when that
 * file exists, otherwise from the shared wire descriptors (../shared/cri-wire, or $CRI_WIRE_DIR).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { wireDir } from '../../scripts/gen-proto.js';
import { repoRoot } from './paths.js';

export type CriApiVersion = 'v1' | 'v1alpha2';
export type CriServiceName = 'RuntimeService' | 'ImageService';
/** A decoded message: enums as names, 64-bit ints as decimal strings, bytes as Buffer. */
export type CriMessage = Record<string, any>;

export interface CallOptions {
  /** Milliseconds; default 30 s. */
  timeoutMs?: number;
  metadata?: Record<string, string>;
}

export interface CriClient {
  readonly apiVersion: CriApiVersion;
  /** RuntimeService unary call, e.g. runtime('Version', {}). */
  runtime(method: string, request?: CriMessage, opts?: CallOptions): Promise<CriMessage>;
  /** ImageService unary call, e.g. image('PullImage', { image: { image: ref } }). */
  image(method: string, request?: CriMessage, opts?: CallOptions): Promise<CriMessage>;
  /** The raw grpc-js clients, for tests that need streams or channel control. */
  readonly clients: Record<CriServiceName, grpc.Client>;
  close(): void;
}

const schemaCache = new Map<CriApiVersion, protobuf.Root>();

/** Loads the CRI schema: the project's proto/ if present, else the shared JSON descriptors. */
export function loadCriSchema(apiVersion: CriApiVersion = 'v1'): protobuf.Root {
  const hit = schemaCache.get(apiVersion);
  if (hit) return hit;
  const proto = join(repoRoot(), 'proto', 'runtime', apiVersion, 'api.proto');
  let root: protobuf.Root;
  if (existsSync(proto)) {
    root = new protobuf.Root().loadSync(proto, { keepCase: true });
  } else {
    const json = JSON.parse(readFileSync(join(wireDir(repoRoot()), `runtime-${apiVersion}.json`), 'utf8'));
    root = protobuf.Root.fromJSON(json);
  }
  root.resolveAll();
  schemaCache.set(apiVersion, root);
  return root;
}

const TO_OBJECT: protobuf.IConversionOptions = { enums: String, longs: String, bytes: Buffer, defaults: true };

function serviceConstructor(root: protobuf.Root, pkg: string, name: CriServiceName): grpc.ServiceClientConstructor {
  const service = root.lookupService(`${pkg}.${name}`);
  const definition: Record<string, grpc.MethodDefinition<CriMessage, CriMessage>> = {};
  for (const method of service.methodsArray) {
    if (method.requestStream || method.responseStream) continue; // unary only; streams via `clients`
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${pkg}.${name}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (obj: CriMessage) => Buffer.from(req.encode(req.fromObject(obj)).finish()),
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), TO_OBJECT),
      responseSerialize: (obj: CriMessage) => Buffer.from(res.encode(res.fromObject(obj)).finish()),
      responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), TO_OBJECT),
    };
  }
  return grpc.makeGenericClientConstructor(definition, name);
}

/** `endpoint` is 'unix:///path', a bare '/path', or 'host:port'. */
export function makeCriClient(endpoint: string, apiVersion: CriApiVersion = 'v1'): CriClient {
  const root = loadCriSchema(apiVersion);
  const pkg = `runtime.${apiVersion}`;
  const target = endpoint.startsWith('/') ? `unix://${endpoint}` : endpoint.replace(/^tcp:\/\//, '');
  const creds = grpc.credentials.createInsecure();
  const clients = {
    RuntimeService: new (serviceConstructor(root, pkg, 'RuntimeService'))(target, creds),
    ImageService: new (serviceConstructor(root, pkg, 'ImageService'))(target, creds),
  };
  const call = (svc: CriServiceName, method: string, request: CriMessage, opts: CallOptions): Promise<CriMessage> =>
    new Promise((resolve, reject) => {
      const client = clients[svc] as unknown as Record<string, unknown>;
      const fn = client[method];
      if (typeof fn !== 'function') {
        reject(new Error(`critap: ${pkg}.${svc} has no unary method ${method}`));
        return;
      }
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
      const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
      (fn as (...a: unknown[]) => void).call(client, request, md, { deadline }, (err: grpc.ServiceError | null, res: CriMessage) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
  return {
    apiVersion,
    runtime: (m, r = {}, o = {}) => call('RuntimeService', m, r, o),
    image: (m, r = {}, o = {}) => call('ImageService', m, r, o),
    clients,
    close() {
      clients.RuntimeService.close();
      clients.ImageService.close();
    },
  };
}
