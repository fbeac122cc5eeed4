/**
 * `node --import <this> bin/critap.js …` writes, at exit, the URL of every module the process
 * loaded to the file named by $CRITAP_LOADS_FILE: ES modules from the loader hooks, and CommonJS
 * modules (which a CommonJS package requires without asking the ESM loader) from require's cache.
 * For tests that check what a command loads, not how long it takes. Only the main thread records:
 * a worker (critap's observer thread) inherits `--import`, and must not overwrite the file.
 */
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread, MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

const outFile = isMainThread ? process.env['CRITAP_LOADS_FILE'] : undefined;
if (isMainThread && !outFile) throw new Error('record-loads: set CRITAP_LOADS_FILE to the file to write the loaded modules to');

if (outFile) recordLoads(outFile);

function recordLoads(outFile: string): void {
  const { port1, port2 } = new MessageChannel();
  const urls = new Set<string>();
  port1.on('message', (url: string) => urls.add(url));
  port1.unref();
  register('./record-loads-hooks.js', import.meta.url, { data: { port: port2 }, transferList: [port2] });

  process.on('exit', () => {
    // Messages posted just before exit may not have been delivered yet: drain them.
    for (let m = receiveMessageOnPort(port1); m !== undefined; m = receiveMessageOnPort(port1)) urls.add(m.message as string);
    for (const file of Object.keys(createRequire(import.meta.url).cache)) urls.add(pathToFileURL(file).href);
    writeFileSync(outFile, JSON.stringify([...urls], null, 1) + '\n');
  });
}
