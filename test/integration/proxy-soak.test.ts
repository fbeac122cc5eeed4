/**
 * The soak of test/support/soak.ts at a size the normal suite can afford (CRITAP_SOAK_CALLS
 * overrides it; `npm run test:soak` runs the full million from test/load/).
 */
import { test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layeredCleanup } from '../support/layered-cleanup.js';
import { assertSoakHealthy, rssCurve, runSoak } from '../support/soak.js';

const CALLS = Number(process.env['CRITAP_SOAK_CALLS'] ?? 60_000);

test(`soak: ${CALLS} calls through proxy --record --otlp-endpoint, every call accounted for, RSS flat`, { timeout: 600_000 }, async (t) => {
  const cleanup = layeredCleanup(t);
  const root = await mkdtemp(join(tmpdir(), 'critap-soak-'));
  cleanup(() => rm(root, { recursive: true, force: true }));
  const s = await runSoak({ calls: CALLS, clients: 4, inFlight: 8, recording: join(root, 'rec'), listen: join(root, 'p.sock'), maxBytes: '256M' }, cleanup);
  t.diagnostic(`${s.calls} calls in ${s.seconds.toFixed(1)} s; recorded ${s.recorded}, dropped ${s.dropped}, stored ${s.stored}; spans ${s.spans}, spans dropped ${s.spansDropped}`);
  t.diagnostic(`critap RSS (calls:MiB): ${rssCurve(s)}`);
  assertSoakHealthy(s, (stored) => stored > 0 && stored <= s.recorded);
});
