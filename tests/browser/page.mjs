// page.mjs — what every browser test shares: its --name value arguments, and the dashboard
// opened in headless Chromium the way the machine allows (no sandbox, no background network),
// with every console error, page error and request leaving the page's origin collected in
// `problems` (such requests are also refused).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../dashboard/web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

export const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);

export const ok = (what) => console.log(`ok: ${what}`);

export async function openDashboard(url) {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const origin = new URL(url).origin;
  await page.route('**/*', (route) => {
    if (new URL(route.request().url()).origin === origin) return route.continue();
    problems.push(`request outside the dashboard: ${route.request().url()}`);
    return route.abort();
  });
  return { browser, page, problems };
}

export function run(main) {
  main().catch((e) => {
    console.error(`FAIL: ${e.message}`);
    process.exit(1);
  });
}
