// A stop signal that comes while the server is still starting (its socket is already up) is
// kept and acted on once it has started: a clean stop, not Node's default kill.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

const UNTIL_SIGNAL = new URL('../../src/cli/until-signal.js', import.meta.url).href;

function runChild(script: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (_err, stdout) =>
      resolve({ code: child.exitCode, signal: child.signalCode, stdout }),
    );
  });
}

const logger = `{ info: (m, f) => console.log('info', m, JSON.stringify(f ?? {})), warn: (m) => console.log('warn', m), error: (m) => console.log('error', m), debug() {} }`;

test('SIGTERM during start-up stops the server cleanly once it has started', async () => {
  const r = await runChild(`
    const { catchStopSignals, startOrRelease } = await import(${JSON.stringify(UNTIL_SIGNAL)});
    const signals = catchStopSignals();
    const server = await startOrRelease(signals, async () => {
      process.kill(process.pid, 'SIGTERM'); // mid start-up
      await new Promise((r) => setTimeout(r, 100));
      console.log('started');
      return { stop: async () => ({ calls: 0 }) };
    });
    const code = await signals.runUntil(${logger}, 1000, () => server.stop(), 'stopped');
    console.log('exit', code);
    process.exit(code);`);
  assert.equal(r.signal, null, 'not killed by the signal');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /started\ninfo stopping: .*"signal":"SIGTERM".*\ninfo stopped .*\nexit 0/s);
});

test('a start-up that fails gives the signals back: SIGTERM then kills as usual', async () => {
  const r = await runChild(`
    const { catchStopSignals, startOrRelease } = await import(${JSON.stringify(UNTIL_SIGNAL)});
    const signals = catchStopSignals();
    await startOrRelease(signals, async () => { throw new Error('cannot listen'); }).catch((e) => console.log('failed', e.message));
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => console.log('still alive'), 2000);`);
  assert.equal(r.signal, 'SIGTERM');
  assert.match(r.stdout, /failed cannot listen/);
  assert.doesNotMatch(r.stdout, /still alive/);
});

test('a second signal during start-up exits at once', async () => {
  const r = await runChild(`
    const { catchStopSignals } = await import(${JSON.stringify(UNTIL_SIGNAL)});
    catchStopSignals();
    process.kill(process.pid, 'SIGINT');
    setTimeout(() => process.kill(process.pid, 'SIGINT'), 50);
    setTimeout(() => console.log('still alive'), 2000);`);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stdout, /still alive/);
});
