import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';

// Debian's chromium (`apt-get install chromium`, done by .ci/run), never a downloaded browser.
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const missing = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is not installed (apt-get install chromium)`;

const t = useTestApp('http_docs');
let server: Server;
let base: string;
let browser: Browser | undefined;
beforeAll(async () => {
  if (missing) return;
  server = await new Promise((resolve) => {
    const s = t.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  if (server) await new Promise((resolve) => server.close(resolve));
});

describe('Swagger UI at /docs', () => {
  it('loads from this server only, under the CSP, and runs a request from the page', async (context) => {
    if (missing || !browser) {
      console.log(`skipped: ${missing}`);
      context.skip(missing);
      return;
    }
    const page = await browser.newPage();
    const hosts = new Set<string>();
    const problems: string[] = [];
    page.on('request', (request) => {
      hosts.add(new URL(request.url()).host);
    });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(`${base}/docs`);
    await page.getByText('microblog-mongo API', { exact: false }).first().waitFor();
    const operation = page.locator('#operations-health-get_healthz');
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    const answered = page.waitForResponse((r) => r.url() === `${base}/healthz`);
    await operation.getByRole('button', { name: 'Execute' }).click();
    expect((await answered).status()).toBe(200);
    await expect
      .poll(() =>
        operation.locator('.live-responses-table tbody .response-col_status').first().innerText(),
      )
      .toBe('200');

    expect([...hosts]).toEqual([new URL(base).host]);
    expect(problems).toEqual([]);
  }, 60_000);
});
