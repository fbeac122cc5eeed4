/**
 * What the benchmark's fake runtime answers, by method path: fixed Version and ListContainers
 * answers, ExecSync answers sized by the request, and a GetContainerEvents stream whose length
 * the call's metadata names. Shared by the bench child (fake-upstream-main.ts) and the tests
 * that check the load clients against it.
 */
import * as grpc from '@grpc/grpc-js';
import type { StreamHandler, UnaryHandler } from '../test/support/fake-upstream.js';
import {
  EVENTS_HEADER, EVENTS_PATH, EXEC_SYNC_PATH, LIST_CONTAINERS_PATH, VERSION_PATH,
  containerEvents, execSyncRequest, execSyncResponse, listContainersResponse, versionResponse,
} from './fixtures.js';

export interface FakeRuntimeAnswers {
  listContainers: number;
  execSizes: number[];
}

export function fakeRuntimeHandlers(args: FakeRuntimeAnswers): { unary: Record<string, UnaryHandler>; stream: Record<string, StreamHandler> } {
  const version = versionResponse();
  const list = listContainersResponse(args.listContainers);
  const execAnswers = new Map(args.execSizes.map((size) => [execSyncRequest(size).toString('hex'), execSyncResponse(size)]));
  const events = containerEvents();

  const unary: Record<string, UnaryHandler> = {
    [VERSION_PATH]: (_call, cb) => cb(null, version),
    [LIST_CONTAINERS_PATH]: (_call, cb) => cb(null, list),
    [EXEC_SYNC_PATH]: (call, cb) => {
      const answer = execAnswers.get(call.request.toString('hex'));
      if (answer) cb(null, answer);
      else cb({ code: grpc.status.INVALID_ARGUMENT, details: 'critap bench fake: unknown ExecSync size' });
    },
  };
  const stream: Record<string, StreamHandler> = {
    [EVENTS_PATH]: (call) => {
      const total = Number(call.metadata.get(EVENTS_HEADER)[0] ?? 0);
      let sent = 0;
      // Respect flow control: write until the stream buffers, resume on 'drain'.
      const pump = (): void => {
        while (sent < total) {
          const ok = call.write(events[sent % events.length]);
          sent++;
          if (!ok) {
            call.once('drain', pump);
            return;
          }
        }
        call.end();
      };
      call.on('cancelled', () => (sent = total));
      pump();
    },
  };
  return { unary, stream };
}
