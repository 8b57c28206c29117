import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { ADMIN_TOKEN, startTestExchange, type TestExchange } from '../support/context.ts';
import { NOW, seedCounty, type County } from '../support/county.ts';
import { createClock } from '../../shared/clock.ts';

/**
 * The pages for people, opened in a real browser (Debian's chromium, driven by playwright-core):
 * the queue dashboard with HTTP Basic auth (any user name, a token as the password) and the
 * OpenAPI page. No browser is a failure with what to install, never a skip.
 */
const CHROMIUM = process.env.KTS_CHROMIUM ?? '/usr/bin/chromium';

let t: TestExchange;
let c: County;
let base: string;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set KTS_CHROMIUM.`,
    );
  }
  t = await startTestExchange({ clock: createClock(NOW), listen: true });
  c = await seedCounty(t, { studentsPerSchool: 1 });
  base = `http://127.0.0.1:${(t.exchange.app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The machine's network is closed: without these, chromium keeps trying to reach Google.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('in a browser', () => {
  it('the dashboard opens for ops with Basic auth and lists every queue', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'ops', password: c.tokens.ops },
    });
    const page = await context.newPage();
    const res = await page.goto(`${base}/ops/queues`);
    expect(res?.status()).toBe(200);
    for (const q of ['enrollment', 'attendance', 'grades', 'sync']) {
      await expect
        .poll(async () => page.getByText(q, { exact: true }).count(), { timeout: 10_000 })
        .toBeGreaterThan(0);
    }
    await page.screenshot({ path: join(tmpdir(), 'kts-dashboard.png'), fullPage: true });
    await context.close();
  });

  it('without a token the browser gets 401 and a Basic challenge; a school token gets 403', async () => {
    const anonymous = await browser.newContext();
    // Headless chromium cannot show the login prompt a 401 + challenge asks for (it fails the
    // navigation instead), so the challenge is read through the same context's request client.
    const res = await anonymous.request.get(`${base}/ops/queues`);
    expect(res.status()).toBe(401);
    expect(res.headers()['www-authenticate']).toMatch(/^Basic /);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
    await anonymous.close();
    const school = await browser.newContext({
      httpCredentials: { username: 'hs1', password: c.tokens.hs1 },
    });
    expect((await (await school.newPage()).goto(`${base}/ops/queues`))?.status()).toBe(403);
    await school.close();
  });

  it('the state office can open it too', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'state', password: ADMIN_TOKEN },
    });
    const page = await context.newPage();
    expect((await page.goto(`${base}/ops/queues`))?.status()).toBe(200);
    await expect
      .poll(async () => page.getByText('attendance', { exact: true }).count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await context.close();
  });

  it('/docs renders the OpenAPI page with the events route, no token needed', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    expect((await page.goto(`${base}/docs`))?.status()).toBe(200);
    await expect
      .poll(async () => page.getByText('KSIS–KTS data exchange').count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await expect
      .poll(async () => page.getByText('/v1/events', { exact: true }).count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await page.screenshot({ path: join(tmpdir(), 'kts-docs.png') });
    await context.close();
  });
});
