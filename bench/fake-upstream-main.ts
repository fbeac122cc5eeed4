/**
 * Child process: a fake CRI runtime that answers instantly, for sizes and counts containerd
 * cannot produce on demand. It is the grpc-js fake of the integration tests with fixed answers.
 */
import * as grpc from '@grpc/grpc-js';
import { startFakeUpstream, type StreamHandler, type UnaryHandler } from '../test/support/fake-upstream.js';
import { childArgs, failChild, onParentMessage, tell } from './children.js';
import {
  EVENTS_HEADER, EVENTS_PATH, EXEC_SYNC_PATH, LIST_CONTAINERS_PATH, VERSION_PATH,
  containerEvents, execSyncRequest, execSyncResponse, listContainersResponse, versionResponse,
} from './fixtures.js';

export interface FakeUpstreamArgs {
  socketPath: string;
  listContainers: number;
  execSizes: number[];
}

async function main(): Promise<void> {
  const args = childArgs<FakeUpstreamArgs>();
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
  const up = await startFakeUpstream({ unary, stream, socketPath: args.socketPath });
  onParentMessage(async (msg) => {
    if (msg.type !== 'stop') return;
    await up.close();
    tell({ type: 'stopped' });
    process.exit(0);
  });
  tell({ type: 'ready', endpoint: up.endpoint });
}

main().catch(failChild);
