// Headless Chromium for the browser tests: Debian's `chromium` package driven by
// playwright-core (which brings no browser of its own). Missing Chromium is an error,
// not a skip: the browser tests are part of `npm test`, and .ci/run installs it.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** The executable to drive: $CHROMIUM_PATH if set, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  const p = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  if (!existsSync(p)) {
    throw new Error(`Chromium not found at ${p}: the browser tests need it. Install Debian's package with `
      + '`apt-get install -y chromium` (as root), or set CHROMIUM_PATH to a Chromium executable.');
  }
  return p;
}

/**
 * A fresh headless Chromium (playwright gives it a new empty profile). The flags keep it
 * off the network: without them it keeps trying Google's hosts, which a closed machine refuses.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
