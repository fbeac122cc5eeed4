/**
 * Child process: a fake CRI runtime that answers instantly, for sizes and counts containerd
 * cannot produce on demand. It is the grpc-js fake of the integration tests with fixed answers
 * (fake-runtime-handlers.ts).
 */
import { startFakeUpstream } from '../test/support/fake-upstream.js';
import { childArgs, failChild, onParentMessage, tell } from './children.js';
import { fakeRuntimeHandlers } from './fake-runtime-handlers.js';

export interface FakeUpstreamArgs {
  socketPath: string;
  listContainers: number;
  execSizes: number[];
}

async function main(): Promise<void> {
  const args = childArgs<FakeUpstreamArgs>();
  const up = await startFakeUpstream({ ...fakeRuntimeHandlers(args), socketPath: args.socketPath });
  onParentMessage(async (msg) => {
    if (msg.type !== 'stop') return;
    await up.close();
    tell({ type: 'stopped' });
    process.exit(0);
  });
  tell({ type: 'ready', endpoint: up.endpoint });
}

main().catch(failChild);
