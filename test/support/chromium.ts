/**
 * A real headless Chromium for the report tests, driven by playwright-core (no browser
 * download: Debian's chromium, installed by scripts/setup-runtime.sh). Each launch gets a new
 * empty profile folder, removed with the browser. Missing chromium skips loudly, and fails
 * under CI=true like a missing runtime binary.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CRITAP_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep Chromium from talking to anything but the page it is given. */
const QUIET_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function chromiumOrSkip(t: TestContext): Promise<BrowserContext | undefined> {
  if (!existsSync(CHROMIUM)) {
    const reason = `chromium not found at ${CHROMIUM}: run scripts/setup-runtime.sh (apt-get install chromium) or set CRITAP_TEST_CHROMIUM`;
    if (process.env.CI === 'true') throw new Error(`critap: ${reason}`);
    const bar = '!'.repeat(78);
    console.warn(`\n${bar}\n!! SKIPPING "${t.name}": ${reason}\n${bar}\n`);
    t.skip(reason);
    return undefined;
  }
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'critap-chromium-'));
  let browser: BrowserContext | undefined;
  // One hook, in this order: a profile removed while Chromium runs would be written again.
  t.after(async () => {
    try {
      await browser?.close();
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  });
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: QUIET_FLAGS });
  return browser;
}
