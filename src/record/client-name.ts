import type { StoredCall } from './stored-call.js';

/**
 * Who made a call, as people name it: the client executable's file name where the proxy learnt
 * it from the socket (kubelet, crictl), else the gRPC user-agent's product (grpc-go), else the
 * TCP address.
 */
export function clientName(call: Pick<StoredCall, 'peer' | 'requestMetadata'>): string {
  const exe = call.peer?.exe;
  if (exe) return exe.slice(exe.lastIndexOf('/') + 1) || exe;
  const ua = call.requestMetadata.find(([k]) => k === 'user-agent')?.[1];
  if (ua) return ua.split(/[\s/]/)[0] || ua;
  return call.peer?.address ?? 'unknown client';
}
