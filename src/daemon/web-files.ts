import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { RawHandler } from './http.js';

/** The page's HTML: the script (src/web/console.ts, built to dist/src/web/console.js) makes the rest. */
const PAGE = '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
  '<title>dom0</title><link rel="stylesheet" href="/web/xterm.css"><script src="/web/xterm.js"></script>' +
  '<script type="module" src="/web/console.js"></script></head><body><noscript>The dom0 console needs JavaScript.</noscript></body></html>\n';

/**
 * What the page may load and do: scripts, styles and connections (the API, its WebSockets) of its
 * own origin only; the page's own <style> element and the inline styles xterm.js and noVNC set;
 * images drawn in the page (noVNC's cursor); no plugin, base URL, form target or framing by
 * another page. The page holds the API token, which is root on the host: a script injected from
 * anywhere else is refused even were the page to insert one.
 */
const PAGE_POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A file looked for above this module (dist/bin/ bundled, dist/src/daemon/ as is, node_modules/ of the tree). */
function findAbove(rels: readonly string[]): string | undefined {
  let dir = import.meta.dirname;
  for (let i = 0; i < 5; i++) {
    for (const rel of rels) if (existsSync(join(dir, rel))) return join(dir, rel);
    dir = dirname(dir);
  }
  return undefined;
}

/** The files the page loads: our script (built from src/web/console.ts) and xterm.js's (npm). */
const FILES: ReadonlyArray<{ readonly path: string; readonly type: string; readonly rels: readonly string[] }> = [
  { path: '/web/console.js', type: 'text/javascript; charset=utf-8', rels: ['src/web/console.js', 'web/console.js'] },
  { path: '/web/xterm.js', type: 'text/javascript; charset=utf-8', rels: ['node_modules/@xterm/xterm/lib/xterm.js'] },
  { path: '/web/xterm.css', type: 'text/css; charset=utf-8', rels: ['node_modules/@xterm/xterm/css/xterm.css'] },
];

/**
 * The web console's files, served without a token (they hold no data: the page asks for the
 * token and sends it with every API request): `/`, its script and xterm.js.
 */
export function webHandlers(): RawHandler[] {
  const send = (res: Parameters<RawHandler['handle']>[1], type: string, body: string, headers: Readonly<Record<string, string>> = {}): void => {
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', ...headers });
    res.end(body);
  };
  return [
    { route: { method: 'GET', path: '/' }, handle: (_req, res) => send(res, 'text/html; charset=utf-8', PAGE, { 'Content-Security-Policy': PAGE_POLICY }) },
    {
      // noVNC's ES modules (npm @novnc/novnc), loaded by the page when a display opens: .js files
      // of that package only.
      route: { method: 'GET', path: '/novnc/*' },
      handle: (req, res) => {
        const root = findAbove(['node_modules/@novnc/novnc']);
        const rel = normalize(decodedPath(req.url ?? '').slice('/novnc/'.length));
        const file = root === undefined || rel.startsWith('..') || !rel.endsWith('.js') || rel.includes('\0') ? undefined : join(root, rel);
        if (file === undefined || !existsSync(file) || !statSync(file).isFile()) {
          res.writeHead(404, { 'Content-Type': 'text/plain' });
          res.end('no such file\n');
          return;
        }
        send(res, 'text/javascript; charset=utf-8', readFileSync(file, 'utf8'));
      },
    },
    ...FILES.map((f): RawHandler => ({
      route: { method: 'GET', path: f.path },
      handle: (_req, res) => {
        const file = findAbove(f.rels);
        if (file === undefined) {
          res.writeHead(404, { 'Content-Type': 'text/plain' });
          res.end(`${f.path} is missing here (npm ci, npm run build)\n`);
          return;
        }
        send(res, f.type, readFileSync(file, 'utf8'));
      },
    })),
  ];
}

/** The path of a request URL, percent-decoded; '' when its encoding is broken (no file has that name). */
function decodedPath(url: string): string {
  try {
    return decodeURIComponent(url.split('?')[0] ?? '');
  } catch {
    return '';
  }
}
