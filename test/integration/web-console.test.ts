// The web console in a real browser: Debian's Chromium, headless, driven by playwright-core,
// against a dom0d serving its API on 127.0.0.1 (DOM0_API_LISTEN) with one real guest. Logging in
// with the token in the URL fragment (then gone from the address bar), the guest in the list,
// Pause and Unpause pushed back as state changes without a reload (and real: xl list agrees), CPU
// and memory sparklines drawn from the stats events, a wrong token answered by the login form, a
// config with a syntax error answered at its line, then created (paused) from the page; the
// guest's console in the page's terminal (xterm.js over the console WebSocket): a command typed
// there and its answer; a WebSocket without the token refused; its display (noVNC over the
// display WebSocket to the guest's VNC server) drawn on the page's canvas.
// A screenshot goes to test-artifacts/web-console.png. Chromium gets a fresh profile from
// playwright (removed when the browser closes); the test closes it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { WebSocket } from 'ws';
import type { Browser, Page } from 'playwright-core';
import { directBootConfig, ensureGuests } from '../support/guests.js';
import { destroyHost, makeHost, xl, xlIn } from './daemon-harness.js';
import type { TestHost } from './daemon-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'test-artifacts');

let host: TestHost;
let kernel: string;
let browser: Browser;
let url: string;
let token: string;

before(async () => {
  const guests = ensureGuests();
  kernel = guests.vmlinuz;
  host = makeHost();
  host.env['DOM0_API_LISTEN'] = '127.0.0.1:0';
  writeFileSync(join(host.root, 'web1.cfg'), [
    // A framebuffer with VNC, and the guest's readiness line on its screen (tty0) too.
    ...directBootConfig(guests, 'web1').filter((l) => !l.startsWith('cmdline')), `cmdline = "console=tty0 ${guests.pvCmdline}"`,
    'vfb = [ "vnc=1" ]',
  ].join('\n'));
  assert.equal((await xlIn(host, host.root, 'create', 'web1.cfg')).code, 0);
  url = readFileSync(join(host.runDir, 'api.url'), 'utf8').trim();
  token = readFileSync(join(host.stateDir, 'api-token'), 'utf8').trim();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await xl(host, 'destroy', 'web1');
  await xl(host, 'destroy', 'web2');
  await destroyHost(host);
});

const stateOf = (page: Page, name: string): Promise<string | null> => page.locator(`tr[data-name="${name}"] .state`).textContent();

async function stateBecomes(page: Page, name: string, state: string): Promise<void> {
  await page.waitForFunction(([n, s]) => document.querySelector(`tr[data-name="${n}"] .state`)?.textContent === s, [name, state] as const, { timeout: 15_000 });
}

test('log in with the token in the fragment; the guest is listed; pause and unpause are pushed back without a reload', async () => {
  const page = await browser.newPage();
  await page.goto(`${url}/#token=${token}`);
  await stateBecomes(page, 'web1', 'running');
  assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
  assert.ok(await page.locator('tr[data-name="Domain-0"]').isVisible());
  await page.evaluate(() => {
    (window as unknown as { marker: number }).marker = 42;
  });
  await page.click('tr[data-name="web1"] button[data-op="pause"]');
  await stateBecomes(page, 'web1', 'paused');
  const listed = JSON.parse((await xl(host, 'list', '--json', 'web1')).out) as Array<{ state: string }>;
  assert.equal(listed[0]?.state, 'paused', 'the domain is paused for real');
  await page.click('tr[data-name="web1"] button[data-op="unpause"]');
  await stateBecomes(page, 'web1', 'running');
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'no reload happened');
  // Stats events every 2 s: a few give the CPU and memory sparklines a line to draw.
  await page.waitForFunction(() => Array.from(document.querySelectorAll('tr[data-name="web1"] svg.spark polyline'))
    .every((l) => (l.getAttribute('points') ?? '').split(' ').length >= 3), undefined, { timeout: 30_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'web-console.png'), fullPage: true });
  assert.equal(await stateOf(page, 'web1'), 'running');
  await page.close();
});

test('a wrong token gets the login form with the reason; the right one typed in logs in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/#token=wrong`);
  await page.waitForSelector('[role="alert"]');
  assert.equal(await page.locator('[role="alert"]').textContent(), 'The token was refused.');
  await page.fill('#token', token);
  await page.click('#login button[type="submit"]');
  await stateBecomes(page, 'web1', 'running');
  await context.close();
});

test('a config with a syntax error is answered at its line; corrected, it creates the domain, which appears', async () => {
  const page = await browser.newPage();
  await page.goto(`${url}/#token=${token}`);
  await stateBecomes(page, 'web1', 'running');
  await page.fill('#cfg', `name = "web2"\nkernel = "${kernel}"\nmemory 128\n`);
  await page.click('#create button[type="submit"]');
  await page.waitForFunction(() => (document.getElementById('cfg-error')?.textContent ?? '') !== '');
  assert.match(await page.locator('#cfg-error').textContent() ?? '', /^line 3: /);
  await page.fill('#cfg', `name = "web2"\nkernel = "${kernel}"\nmemory = 128\n`);
  await page.check('#paused');
  await page.click('#create button[type="submit"]');
  await stateBecomes(page, 'web2', 'paused');
  assert.equal(await page.locator('#cfg-error').textContent(), '');
  await page.close();
});

test('the console in the page: the guest\'s shell answers what is typed into the terminal; no token, no WebSocket', async () => {
  const page = await browser.newPage();
  await page.goto(`${url}/#token=${token}`);
  await stateBecomes(page, 'web1', 'running');
  await page.click('tr[data-name="web1"] button[data-op="console"]');
  const rows = (): Promise<string> => page.locator('#terminal .xterm-rows').innerText();
  await page.waitForFunction(() => document.querySelector<HTMLElement>('#terminal .xterm-rows')?.innerText.includes('dom0-guest#') === true, undefined, { timeout: 120_000 });
  await page.click('#terminal');
  await page.keyboard.type('echo web-$((40+2))');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector<HTMLElement>('#terminal .xterm-rows')?.innerText.includes('web-42') === true, undefined, { timeout: 30_000 });
  assert.match(await rows(), /web-42/);
  await page.screenshot({ path: join(ARTIFACTS, 'web-console-terminal.png'), fullPage: true });
  await page.close();
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/domains/web1/console/ws`, ['dom0-console']);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', () => undefined);
  });
  assert.equal(status, 401);
});

test('the display in the page: noVNC draws the guest\'s screen on a canvas that is not blank', async () => {
  const page = await browser.newPage();
  await page.goto(`${url}/#token=${token}`);
  await stateBecomes(page, 'web1', 'running');
  await page.click('tr[data-name="web1"] button[data-op="display"]');
  await page.waitForFunction(() => {
    const c = document.querySelector<HTMLCanvasElement>('#screen canvas');
    const ctx = c?.getContext('2d');
    if (c === null || ctx === null || ctx === undefined || c.width === 0 || c.height === 0) return false;
    const px = ctx.getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < px.length; i += 4) if ((px[i] ?? 0) + (px[i + 1] ?? 0) + (px[i + 2] ?? 0) > 96) return true;
    return false;
  }, undefined, { timeout: 60_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'web-console-display.png'), fullPage: true });
  await page.close();
});
