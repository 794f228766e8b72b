import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RawHandler } from './http.js';

/** The page's HTML: the script (src/web/console.ts, built to dist/src/web/console.js) makes the rest. */
const PAGE = '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
  '<title>dom0</title><script type="module" src="/web/console.js"></script></head><body><noscript>The dom0 console needs JavaScript.</noscript></body></html>\n';

/** The built web script: looked for above this module (dist/bin/ bundled, dist/src/daemon/ as is). */
function scriptPath(): string | undefined {
  let dir = import.meta.dirname;
  for (let i = 0; i < 4; i++) {
    for (const rel of ['src/web/console.js', 'web/console.js']) if (existsSync(join(dir, rel))) return join(dir, rel);
    dir = dirname(dir);
  }
  return undefined;
}

/**
 * The web console's two files, served without a token (they hold no data: the page asks for the
 * token and sends it with every API request): `/` and `/web/console.js`.
 */
export function webHandlers(): RawHandler[] {
  const send = (res: Parameters<RawHandler['handle']>[1], type: string, body: string): void => {
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
    res.end(body);
  };
  return [
    { route: { method: 'GET', path: '/' }, handle: (_req, res) => send(res, 'text/html; charset=utf-8', PAGE) },
    {
      route: { method: 'GET', path: '/web/console.js' },
      handle: (_req, res) => {
        const file = scriptPath();
        if (file === undefined) {
          res.writeHead(404, { 'Content-Type': 'text/plain' });
          res.end('the web console is not built (npm run build)\n');
          return;
        }
        send(res, 'text/javascript; charset=utf-8', readFileSync(file, 'utf8'));
      },
    },
  ];
}
