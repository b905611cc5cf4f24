/**
 * Headless Chromium for the view tests: Debian's `chromium` driven by playwright-core, started
 * as this machine needs it (no sandbox as root, no background networking, a fresh profile).
 * Without chromium the tests say SKIPPED loudly; under CI=true a missing chromium fails them.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = process.env.USTACK_CHROMIUM ?? '/usr/bin/chromium';

/** Whether the browser tests can run here; throws under CI=true when they cannot. */
export function browserAvailable(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `SKIPPED (no ${CHROMIUM}; apt-get install chromium): ${what}`;
  if (process.env.CI === 'true') throw new Error(`${message} — chromium is required under CI=true`);
  console.warn(`\n*** ${message} ***\n`);
  return false;
}

/** A browser with a fresh profile; close() also removes the profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'ustack-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
