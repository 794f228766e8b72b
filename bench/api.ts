// Benchmark: the API over TCP against the Unix socket, and how soon events arrive (issue 12).
// - round trip: `GET /v1/domains` over TCP with the bearer token ÷ the same over the Unix socket
//   (xl's client: a connection per request), medians of ROUNDS each, interleaved (goal ≤ 1.2);
//   over TCP both with a new connection per request and with one kept alive (as browsers do);
//   and both transports by one client, Node's HTTP client with a connection per request
//   (`tcpPerUnixSameClient`: the transport and the token alone, xl's leaner client aside);
// - events: one guest booted; from the pause (or unpause) request sent over the API to its
//   `paused` (`unpaused`) Server-Sent Event received (goal ≤ 50 ms), and from `xl pause` spawned
//   to the event (a Node CLI's start included).
// Prints one JSON object.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { RequestOptions } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { apiRequest } from '../src/api/index.js';
import { ensureGuests, GUEST_READY_LINE } from '../test/support/guests.js';
import { benchHost, consoleText, median, stopDaemon, wallMs } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const ROUNDS = Number(process.env.DOM0_BENCH_ROUNDS ?? 200);
const PAUSES = Number(process.env.DOM0_BENCH_PAUSES ?? 20);

/** One GET over TCP (a new connection, or one `agent` keeps alive); resolves with the body. */
function tcpGet(url: string, token: string, path: string, agent: Agent | false = false): Promise<string> {
  return httpGet(url, { agent, headers: { Authorization: `Bearer ${token}` } }, path);
}

/** One GET by Node's HTTP client to `base` (an URL, or '' with `options.socketPath`); resolves with the body. */
function httpGet(base: string, options: RequestOptions, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${base === '' ? 'http://dom0d' : base}${path}`, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${path}: ${res.statusCode ?? 0}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The events of `GET /v1/events` as they come: `next(name)` resolves at the next one of that name. */
function eventStream(url: string, token: string): { next: (event: string) => Promise<number>; close: () => void } {
  const waiting: Array<{ event: string; resolve: (t: number) => void }> = [];
  let buf = '';
  const req = request(`${url}/v1/events?stats=0`, { headers: { Authorization: `Bearer ${token}` } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      const now = performance.now();
      buf += c;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const name = /^event: (.*)$/m.exec(buf.slice(0, i))?.[1];
        buf = buf.slice(i + 2);
        const w = waiting.findIndex((x) => x.event === name);
        if (w >= 0) waiting.splice(w, 1)[0]?.resolve(now);
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return {
    next: (event) => new Promise((resolve) => waiting.push({ event, resolve })),
    close: () => req.destroy(),
  };
}

export async function api(): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const { dir, env } = benchHost({ DOM0_API_LISTEN: '127.0.0.1:0' });
  const socket = join(dir, 'run', 'api.sock');
  let dom0d: number | undefined;
  let events: ReturnType<typeof eventStream> | undefined;
  try {
    wallMs([XL, 'list'], env);
    dom0d = Number.parseInt(readFileSync(join(dir, 'run', 'dom0d.pid'), 'utf8'), 10);
    const url = readFileSync(join(dir, 'run', 'api.url'), 'utf8').trim();
    const token = readFileSync(join(dir, 'state', 'api-token'), 'utf8').trim();
    const unix: number[] = [];
    const unixHttp: number[] = [];
    const tcp: number[] = [];
    const kept: number[] = [];
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 20; i++) {
      await apiRequest(socket, 'GET', '/v1/domains');
      await tcpGet(url, token, '/v1/domains');
    }
    for (let i = 0; i < ROUNDS; i++) {
      let t0 = performance.now();
      await apiRequest(socket, 'GET', '/v1/domains');
      unix.push(performance.now() - t0);
      t0 = performance.now();
      await httpGet('', { socketPath: socket, agent: false }, '/v1/domains');
      unixHttp.push(performance.now() - t0);
      t0 = performance.now();
      await tcpGet(url, token, '/v1/domains');
      tcp.push(performance.now() - t0);
      t0 = performance.now();
      await tcpGet(url, token, '/v1/domains', agent);
      kept.push(performance.now() - t0);
    }
    agent.destroy();

    writeFileSync(join(dir, 'e.cfg'), [
      'name = "e"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 128',
    ].join('\n'));
    wallMs([XL, 'create', '-q', 'e.cfg'], env, dir);
    for (const t0 = performance.now(); !consoleText(dir, 'e').includes(GUEST_READY_LINE);) {
      if (performance.now() - t0 > 180_000) throw new Error('api: the guest never became ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    events = eventStream(url, token);
    await new Promise((r) => setTimeout(r, 300));
    const viaApi: number[] = [];
    const viaXl: number[] = [];
    for (let i = 0; i < PAUSES; i++) {
      for (const [op, event] of [['pause', 'paused'], ['unpause', 'unpaused']] as const) {
        const got = events.next(event);
        const t0 = performance.now();
        await apiRequest(socket, 'POST', `/v1/domains/e/${op}`);
        viaApi.push((await got) - t0);
      }
      const got = events.next('paused');
      const t0 = performance.now();
      spawnSync(XL, ['pause', 'e'], { env });
      viaXl.push((await got) - t0);
      await apiRequest(socket, 'POST', '/v1/domains/e/unpause');
      await new Promise((r) => setTimeout(r, 50));
    }
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      bench: 'api',
      rounds: ROUNDS,
      unixRoundTripMs: r2(median(unix)),
      tcpRoundTripMs: r2(median(tcp)),
      tcpPerUnix: r2(median(tcp) / median(unix)),
      unixHttpRoundTripMs: r2(median(unixHttp)),
      tcpPerUnixSameClient: r2(median(tcp) / median(unixHttp)),
      tcpKeepAliveRoundTripMs: r2(median(kept)),
      tcpKeepAlivePerUnix: r2(median(kept) / median(unix)),
      goalTcpPerUnix: 1.2,
      pauses: PAUSES,
      apiPauseToEventMs: r2(median(viaApi)),
      xlPauseToEventMs: r2(median(viaXl)),
      goalEventMs: 50,
    };
  } finally {
    events?.close();
    spawnSync(XL, ['destroy', 'e'], { env });
    if (dom0d !== undefined) await stopDaemon(dom0d);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await api()));
}
