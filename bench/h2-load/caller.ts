/** The cheap client behind a load job: its connections, opened up front, and one call template. */
import type { Caller, LoadJob } from '../load.js';
import { H2LoadConnection, type CallAnswer } from './connection.js';
import { CallTemplate } from './request-frames.js';

export async function openH2Caller(job: LoadJob): Promise<Caller> {
  const template = new CallTemplate(job.path, Buffer.from(job.request, 'base64'), job.metadata);
  const conns: H2LoadConnection[] = [];
  try {
    for (let i = 0; i < Math.max(1, job.connections); i++) conns.push(await H2LoadConnection.connect(job.endpoint));
  } catch (err) {
    for (const c of conns) c.close();
    throw new Error(`critap: bench h2 client cannot connect to ${job.endpoint}: ${(err as Error).message}`);
  }
  let next = 0;
  return {
    once: (keepFirst) =>
      new Promise<CallAnswer>((resolve, reject) => {
        conns[next++ % conns.length]!.call(template, keepFirst, (err, answer) => (err ? reject(err) : resolve(answer!)));
      }),
    close: () => {
      for (const c of conns) c.close();
    },
  };
}
