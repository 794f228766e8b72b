// The web console in a real browser: Debian's Chromium, headless, driven by playwright-core,
// against a dom0d serving its API on 127.0.0.1 (DOM0_API_LISTEN) with one real guest. Logging in
// with the token in the URL fragment (then gone from the address bar), the guest in the list,
// Pause and Unpause pushed back as state changes without a reload (and real: xl list agrees), CPU
// and memory sparklines drawn from the stats events, a wrong token answered by the login form, a
// config with a syntax error answered at its line, then created (paused) from the page; the
// guest's console in the page's terminal (xterm.js over the console WebSocket): a command typed
// there and its answer; a WebSocket without the token refused; its display (noVNC over the
// display WebSocket to the guest's VNC server) drawn on the page's canvas; the config directory's
// files in the create form's list (only its regular files), one with an error answered with its
// name and line, another created from; a domain's details: its config and the file it came from,
// its xenstore directory, its QEMU log, and Domain-0's (dom0d's) log.
// Screenshots go to test-artifacts/web-console*.png. Chromium gets a fresh profile from
// playwright (removed when the browser closes); the test closes it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { WebSocket } from 'ws';
import type { Browser, Page } from 'playwright-core';
import { directBootConfig, ensureGuests } from '../support/guests.js';
import { apiUrl, destroyHost, makeHost, xl, xlIn } from './daemon-harness.js';
import type { TestHost } from './daemon-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'test-artifacts');

let host: TestHost;
let kernel: string;
let browser: Browser;
let url: string;
let token: string;
let configDir: string;

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
  // The config directory: two xl.cfg files, and what its list leaves out (a directory, a symlink out).
  configDir = host.env['DOM0_CONFIG_DIR'] as string;
  mkdirSync(join(configDir, 'auto'), { recursive: true });
  writeFileSync(join(configDir, 'web3.cfg'), `${directBootConfig(guests, 'web3').join('\n')}\n`);
  writeFileSync(join(configDir, 'broken.cfg'), 'name = "broken"\nmemory 128\n');
  symlinkSync(join(host.root, 'web1.cfg'), join(configDir, 'elsewhere.cfg'));
  url = await apiUrl(host);
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
  await xl(host, 'destroy', 'web3');
  await destroyHost(host);
});

/** What the page's Content-Security-Policy refused, as Chromium reports it on the console (the list fills as it goes). */
function policyViolations(page: Page): string[] {
  const refused: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) refused.push(m.text());
  });
  return refused;
}

const stateOf = (page: Page, name: string): Promise<string | null> => page.locator(`tr[data-name="${name}"] .state`).textContent();

async function stateBecomes(page: Page, name: string, state: string): Promise<void> {
  await page.waitForFunction(([n, s]) => document.querySelector(`tr[data-name="${n}"] .state`)?.textContent === s, [name, state] as const, { timeout: 15_000 });
}

test('log in with the token in the fragment; the guest is listed; pause and unpause are pushed back without a reload', async () => {
  const page = await browser.newPage();
  const refused = policyViolations(page);
  const res = await page.goto(`${url}/#token=${token}`);
  assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self';.*frame-ancestors 'none'/);
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
  assert.deepEqual(refused, [], 'the page does nothing its policy refuses');
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
  const refused = policyViolations(page);
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
  assert.deepEqual(refused, [], 'xterm.js does nothing the page\'s policy refuses');
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
  const refused = policyViolations(page);
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
  assert.deepEqual(refused, [], 'noVNC does nothing the page\'s policy refuses');
  await page.close();
  // Each path speaks its own protocol only: one offered another's, or none (the token in a
  // header), is refused before it opens (before: it opened with no protocol chosen).
  const opened = (path: string, protocols: string[], headers: Record<string, string> = {}): Promise<string> => new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}${path}`, protocols, { headers });
    ws.on('open', () => {
      resolve(`open: ${ws.protocol}`);
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode ?? 0}`));
    ws.on('error', (e) => resolve(`error: ${e.message}`));
  });
  assert.equal(await opened('/v1/domains/web1/vnc/ws', ['dom0-console', `bearer.${token}`]), 'HTTP 400');
  assert.equal(await opened('/v1/domains/web1/console/ws', [], { Authorization: `Bearer ${token}` }), 'HTTP 400');
  assert.equal(await opened('/v1/domains/web1/console/ws', ['chat', `bearer.${token}`]), 'HTTP 400');
  assert.equal(await opened('/v1/domains/web1/vnc/ws', ['dom0-vnc', `bearer.${token}`]), 'open: dom0-vnc');
});

test('a config file picked from the config directory\'s list loads into the form; its errors name it; unedited, it creates the domain', async () => {
  const page = await browser.newPage();
  await page.goto(`${url}/#token=${token}`);
  await stateBecomes(page, 'web1', 'running');
  await page.waitForSelector('#cfg-file option[value="web3.cfg"]', { state: 'attached' });
  assert.deepEqual(await page.locator('#cfg-file option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), ['', 'broken.cfg', 'web3.cfg']);
  assert.equal(await page.locator('label[for="cfg-file"]').textContent(), `Config file in ${configDir}`);
  await page.selectOption('#cfg-file', 'broken.cfg');
  await page.waitForFunction(() => document.querySelector<HTMLTextAreaElement>('#cfg')?.value.startsWith('name = "broken"') === true);
  await page.click('#create button[type="submit"]');
  await page.waitForFunction(() => (document.getElementById('cfg-error')?.textContent ?? '') !== '');
  assert.match(await page.locator('#cfg-error').textContent() ?? '', /^line 2: broken\.cfg:2: config parsing error/);
  await page.selectOption('#cfg-file', 'web3.cfg');
  await page.waitForFunction(() => document.querySelector<HTMLTextAreaElement>('#cfg')?.value.startsWith('name = "web3"') === true);
  assert.equal(await page.locator('#cfg-error').textContent(), '');
  await page.check('#paused');
  await page.click('#create button[type="submit"]');
  await stateBecomes(page, 'web3', 'paused');
  // The domain remembers the file it was made from: its config view shows it.
  await page.click('tr[data-name="web3"] button[data-op="details"]');
  await page.click('#details summary:text-is("Config")');
  await page.waitForFunction(() => document.querySelector('#detail-config')?.textContent?.includes('name = "web3"') === true);
  assert.ok((await page.locator('#detail-config').textContent() ?? '').includes(`${configDir}/web3.cfg`));
  await page.close();
});

test('a domain\'s details: its config, its xenstore directory and its QEMU log; Domain-0\'s log is dom0d\'s', async () => {
  const listed = JSON.parse((await xl(host, 'list', '--json', 'web1')).out) as Array<{ domid: number }>;
  const domid = listed[0]?.domid;
  const page = await browser.newPage();
  await page.goto(`${url}/#token=${token}`);
  await stateBecomes(page, 'web1', 'running');
  await page.click('tr[data-name="web1"] button[data-op="details"]');
  assert.equal(await page.locator('#details-h').textContent(), `Details of web1 (domain ${domid})`);
  await page.click('#details summary:text-is("Config")');
  await page.waitForFunction(() => document.querySelector('#detail-config pre')?.textContent?.includes('"name": "web1"') === true);
  // The text xl read is kept with the domain (web1.cfg is no file of the config directory).
  assert.equal(await page.locator('#detail-config p').textContent(), 'web1.cfg');
  assert.equal(await page.locator('#detail-config pre[aria-label="the config web1 was created from"]').textContent(), readFileSync(join(host.root, 'web1.cfg'), 'utf8'));
  await page.click('#details summary:text-is("Xenstore")');
  await page.waitForFunction((id) => document.querySelector('#detail-xenstore pre')?.textContent?.includes(`/local/domain/${id}/name = "web1"  (n0,r${id})`) === true, domid);
  assert.match(await page.locator('#detail-xenstore p').textContent() ?? '', new RegExp(`^\\d+ nodes under /local/domain/${domid}$`));
  await page.click('#details summary:text-is("Log")');
  await page.waitForFunction(() => document.querySelector('#detail-log p')?.textContent?.includes('qemu-web1.log') === true);
  const shown = await page.locator('#detail-log pre').textContent() ?? '';
  assert.ok(readFileSync(join(host.logDir, 'qemu-web1.log'), 'utf8').startsWith(shown), 'the log view shows the QEMU log');
  await page.screenshot({ path: join(ARTIFACTS, 'web-console-details.png'), fullPage: true });
  await page.click('tr[data-name="Domain-0"] button[data-op="details"]');
  await page.click('#details summary:text-is("Log")');
  await page.waitForFunction(() => document.querySelector('#detail-log pre')?.textContent?.includes('serving') === true);
  assert.match(await page.locator('#detail-log p').textContent() ?? '', /dom0d\.log: \d+ bytes/);
  await page.close();
});
