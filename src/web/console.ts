/// <reference lib="dom" />
/**
 * dom0's web console (the browser side; dom0d serves it at `/` on its TCP listener): the domains
 * with their state, CPU and memory (sparklines from the `stats` events), and their lifecycle
 * actions; every change arrives as a Server-Sent Event, so nothing is polled or reloaded. A
 * domain's details (its config, xenstore directory and log) are read when their view is opened;
 * the create form takes an xl.cfg typed in or loaded from a file of dom0d's config directory.
 *
 * The token: taken once from the URL fragment (`#token=...`, then removed from the address bar)
 * into sessionStorage, or typed into the login form; sent as `Authorization: Bearer` on every
 * request (the event stream is read with fetch, which can send it; EventSource cannot).
 */
import type { ConfigFileList, ConfigFileText, DomainConfigEntry, DomainInfo, DomainLog, DomainSource, DomainXenstore } from '../api/index.js';

/** What the page uses of xterm.js (loaded by the page as a classic script: a global). */
interface XtermTerminal {
  open(parent: HTMLElement): void;
  write(data: Uint8Array | string): void;
  onData(listener: (data: string) => void): void;
  focus(): void;
  dispose(): void;
}
declare const Terminal: new (options: { convertEol?: boolean; cursorBlink?: boolean; rows?: number; cols?: number }) => XtermTerminal;

const TOKEN_KEY = 'dom0-token';
const POINTS = 30;

interface Row {
  info: DomainInfo;
  cpu: number[];
  mem: number[];
  lastCpuNs?: number;
  lastAt?: number;
}

const rows = new Map<number, Row>();
let token = '';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function say(text: string): void {
  const s = document.getElementById('status');
  if (s !== null) s.textContent = text;
}

/** A failed API request: dom0d's message and hint, and where in a config it failed. */
class ApiError extends Error {
  constructor(message: string, readonly line: number | undefined) {
    super(message);
  }
}

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = await r.json() as { error?: { message: string; hint?: string; pos?: { line: number } } };
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    login('The token was refused.');
    throw new Error('unauthorized');
  }
  if (!r.ok) throw new ApiError(`${data.error?.message ?? r.statusText}${data.error?.hint === undefined ? '' : ` (${data.error.hint})`}`, data.error?.pos?.line);
  return data;
}

function sparkline(values: readonly number[], max: number, label: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${POINTS - 1} 20`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const line = document.createElementNS(ns, 'polyline');
  const top = Math.max(max, 1e-9);
  line.setAttribute('points', values.map((v, i) => `${i + POINTS - values.length},${(19 - (Math.min(v, top) / top) * 18).toFixed(1)}`).join(' '));
  svg.append(line);
  return svg;
}

const ACTIONS: ReadonlyArray<{ readonly op: string; readonly label: string; readonly when: (s: string) => boolean; readonly confirm?: string }> = [
  { op: 'pause', label: 'Pause', when: (s) => s === 'running' },
  { op: 'unpause', label: 'Unpause', when: (s) => s === 'paused' },
  { op: 'shutdown', label: 'Shut down', when: (s) => s === 'running' || s === 'paused', confirm: 'Shut down' },
  { op: 'reboot', label: 'Reboot', when: (s) => s === 'running', confirm: 'Reboot' },
  { op: 'destroy', label: 'Destroy', when: (s) => s !== 'dying', confirm: 'Destroy' },
];

function render(): void {
  const body = document.getElementById('domains');
  if (body === null) return;
  body.replaceChildren(...[...rows.values()].sort((a, b) => a.info.domid - b.info.domid).map((r) => {
    const d = r.info;
    const cpuNow = r.cpu.at(-1) ?? 0;
    const details = el('button', { type: 'button', 'data-op': 'details', 'aria-label': `Details of ${d.name}` }, 'Details');
    details.addEventListener('click', () => openDetails(d));
    const actions = el('td', {}, details);
    if (d.domid !== 0 && d.state !== 'dying') {
      const c = el('button', { type: 'button', 'data-op': 'console', 'aria-label': `Console of ${d.name}` }, 'Console');
      c.addEventListener('click', () => openConsole(d));
      const v = el('button', { type: 'button', 'data-op': 'display', 'aria-label': `Display of ${d.name}` }, 'Display');
      v.addEventListener('click', () => {
        openDisplay(d).catch((e: unknown) => say(`Display of ${d.name}: ${errorText(e)}`));
      });
      actions.append(c, v);
    }
    if (d.domid !== 0) {
      for (const a of ACTIONS.filter((x) => x.when(d.state))) {
        const b = el('button', { type: 'button', 'data-op': a.op, 'aria-label': `${a.label} ${d.name}` }, a.label);
        b.addEventListener('click', () => {
          if (a.confirm !== undefined && !window.confirm(`${a.confirm} ${d.name}?`)) return;
          api('POST', `/v1/domains/${d.domid}/${a.op}`, {}).then(() => say(`${a.label}: ${d.name}`), (e: unknown) => say(`${a.label} ${d.name}: ${errorText(e)}`));
        });
        actions.append(b);
      }
    }
    return el('tr', { 'data-name': d.name },
      el('td', {}, String(d.domid)),
      el('th', { scope: 'row' }, d.name),
      el('td', { class: 'state' }, d.state + (d.shutdownReason === null ? '' : ` (${d.shutdownReason})`)),
      el('td', {}, `${Math.round(d.memKiB / 1024)} MiB`, sparkline(r.mem, Math.max(...r.mem, 1), `memory of ${d.name}`)),
      el('td', {}, `${d.vcpus}`),
      el('td', {}, `${cpuNow.toFixed(1)} %`, sparkline(r.cpu, 100 * Math.max(1, d.vcpus), `CPU of ${d.name}`)),
      actions);
  }));
}

async function refresh(): Promise<void> {
  const list = await api('GET', '/v1/domains') as DomainInfo[];
  const seen = new Set(list.map((d) => d.domid));
  for (const id of rows.keys()) if (!seen.has(id)) rows.delete(id);
  for (const d of list) {
    const r = rows.get(d.domid);
    if (r === undefined) rows.set(d.domid, { info: d, cpu: [], mem: [] });
    else r.info = d;
  }
  render();
}

function onStats(sample: { timeMs: number; domains: DomainInfo[] }): void {
  for (const d of sample.domains) {
    const r = rows.get(d.domid);
    if (r === undefined) continue;
    if (r.lastCpuNs !== undefined && r.lastAt !== undefined && sample.timeMs > r.lastAt) {
      r.cpu.push(Math.max(0, ((d.cpuTimeNs - r.lastCpuNs) / 1e6 / (sample.timeMs - r.lastAt)) * 100));
    }
    r.mem.push(d.memKiB);
    r.lastCpuNs = d.cpuTimeNs;
    r.lastAt = sample.timeMs;
    r.info = { ...r.info, memKiB: d.memKiB, vcpus: d.vcpus };
    if (r.cpu.length > POINTS) r.cpu.shift();
    if (r.mem.length > POINTS) r.mem.shift();
  }
  render();
}

/** Reads `/v1/events` with fetch (Server-Sent Events framing), reconnecting after `lastId`. */
async function follow(lastId = 0): Promise<void> {
  for (;;) {
    try {
      const r = await fetch(`/v1/events?stats=2${lastId > 0 ? `&since=${lastId}` : ''}`, { headers: { Authorization: `Bearer ${token}` } });
      if (r.status === 401) {
        login('The token was refused.');
        return;
      }
      const reader = (r.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const field = (name: string): string | undefined => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
          const event = field('event');
          const id = Number(field('id') ?? 0);
          if (id > 0) lastId = id;
          if (event === 'stats') onStats(JSON.parse(field('data') ?? '{}') as { timeMs: number; domains: DomainInfo[] });
          else if (event !== undefined) await refresh();
        }
      }
    } catch {
      // dom0d restarting or the network gone: try again shortly.
    }
    await new Promise((res) => setTimeout(res, 1000));
  }
}

function login(error?: string): void {
  const form = el('form', { id: 'login' },
    el('label', { for: 'token' }, 'API token (dom0d\'s STATE_DIR/api-token)'),
    el('input', { id: 'token', type: 'password', autocomplete: 'off', required: '' }),
    el('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = (document.getElementById('token') as HTMLInputElement).value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    start();
  });
  document.body.replaceChildren(el('main', {}, el('h1', {}, 'dom0'), ...(error === undefined ? [] : [el('p', { role: 'alert' }, error)]), form));
}

let closeConsole: (() => void) | undefined;

/**
 * The domain's primary console in a terminal (xterm.js) over the console WebSocket: what it
 * printed so far, then live; what is typed goes to the guest. One at a time.
 */
function openConsole(d: DomainInfo): void {
  closeConsole?.();
  const host = el('div', { id: 'terminal' });
  const close = el('button', { type: 'button' }, 'Close');
  const panel = el('section', { id: 'console', 'aria-labelledby': 'console-h' }, el('h2', { id: 'console-h' }, `Console of ${d.name}`), host, close);
  document.querySelector('main')?.append(panel);
  const term = new Terminal({ convertEol: false, cursorBlink: true, rows: 24, cols: 100 });
  term.open(host);
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/v1/domains/${d.domid}/console/ws`, ['dom0-console', `bearer.${token}`]);
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (e: MessageEvent<ArrayBuffer>) => term.write(new Uint8Array(e.data));
  ws.onclose = () => term.write('\r\n[the console closed]\r\n');
  const encoder = new TextEncoder();
  term.onData((data) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
  });
  term.focus();
  closeConsole = () => {
    ws.close();
    term.dispose();
    panel.remove();
    closeConsole = undefined;
  };
  close.addEventListener('click', () => closeConsole?.());
}

let closeDisplay: (() => void) | undefined;
/** noVNC's RFB module, as dom0d serves it (not bundled: the page loads it when a display opens). */
const RFB_URL: string = '/novnc/core/rfb.js';

/** What the page uses of noVNC's RFB (loaded on demand from /novnc/core/rfb.js). */
interface Rfb {
  scaleViewport: boolean;
  disconnect(): void;
}
type RfbClass = new (target: HTMLElement, channel: WebSocket, options: { credentials?: { password: string } }) => Rfb;

/**
 * The domain's display (its VNC server) with noVNC over the display WebSocket; the guest's VNC
 * password, if any, is the API's answer for it. One at a time.
 */
async function openDisplay(d: DomainInfo): Promise<void> {
  closeDisplay?.();
  const vnc = await api('GET', `/v1/domains/${d.domid}/vnc`) as { password: string | null };
  const screen = el('div', { id: 'screen' });
  const close = el('button', { type: 'button' }, 'Close');
  const panel = el('section', { id: 'display', 'aria-labelledby': 'display-h' }, el('h2', { id: 'display-h' }, `Display of ${d.name}`), screen, close);
  document.querySelector('main')?.append(panel);
  const module = await import(RFB_URL) as { default: RfbClass };
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/v1/domains/${d.domid}/vnc/ws`, ['dom0-vnc', `bearer.${token}`]);
  ws.binaryType = 'arraybuffer';
  const rfb = new module.default(screen, ws, vnc.password === null ? {} : { credentials: { password: vnc.password } });
  rfb.scaleViewport = true;
  closeDisplay = () => {
    rfb.disconnect();
    panel.remove();
    closeDisplay = undefined;
  };
  close.addEventListener('click', () => closeDisplay?.());
}

/** A block of text that scrolls (focusable, so the keyboard scrolls it too). */
function textBlock(label: string, text: string): HTMLPreElement {
  return el('pre', { tabindex: '0', 'aria-label': label }, text);
}

/** Its libxl config (`xl list -l`), and the config text it was created from (kept with it, else its file as it is now). */
async function configView(d: DomainInfo): Promise<Node[]> {
  const [entry, source] = await Promise.all([
    api('GET', `/v1/domains/${d.domid}/config`) as Promise<DomainConfigEntry>,
    api('GET', `/v1/domains/${d.domid}/config/source`) as Promise<DomainSource>,
  ]);
  const changed = source.file !== null && source.modifiedSince ? ' (the file changed since the domain was created)' : '';
  const from = [
    el('p', {}, `${source.source}${changed}`),
    source.text !== null ? textBlock(`the config ${d.name} was created from`, source.text)
      : source.file !== null ? textBlock(`${source.file.name} as it is now`, source.file.text)
        : el('p', {}, 'Its text was not kept (a domain restored from a save file or received by migration).'),
  ];
  return [el('h3', {}, 'libxl config (xl list -l)'), textBlock(`libxl config of ${d.name}`, JSON.stringify(entry.config, null, 2)), el('h3', {}, 'Created from'), ...from];
}

/** Its xenstore directory, one `path = "value"  (permissions)` line per node (`xenstore-ls -f -p`). */
async function xenstoreView(d: DomainInfo): Promise<Node[]> {
  const t = await api('GET', `/v1/domains/${d.domid}/xenstore`) as DomainXenstore;
  return [
    el('p', {}, `${t.nodes.length} nodes under ${t.path}${t.truncated ? ' (the first ones only)' : ''}`),
    textBlock(`xenstore of ${d.name}`, t.nodes.map((n) => `${n.path} = ${JSON.stringify(n.value)}  (${n.perms.join(',')})`).join('\n')),
  ];
}

/** The end of its log, scrolled to the last line. */
async function logView(d: DomainInfo): Promise<Node[]> {
  const l = await api('GET', `/v1/domains/${d.domid}/log`) as DomainLog;
  const text = textBlock(`log of ${d.name}`, l.text);
  requestAnimationFrame(() => {
    text.scrollTop = text.scrollHeight;
  });
  return [el('p', {}, l.size === 0 ? `${l.file}: empty` : `${l.file}: ${l.size} bytes${l.truncated ? ', its end shown' : ''}`), text];
}

const VIEWS: ReadonlyArray<{ readonly id: string; readonly label: string; readonly load: (d: DomainInfo) => Promise<Node[]> }> = [
  { id: 'config', label: 'Config', load: configView },
  { id: 'xenstore', label: 'Xenstore', load: xenstoreView },
  { id: 'log', label: 'Log', load: logView },
];

let closeDetails: (() => void) | undefined;

/** The domain's details: each view is read from dom0d whenever it is opened. One domain at a time. */
function openDetails(d: DomainInfo): void {
  closeDetails?.();
  const views = VIEWS.map((v) => {
    const body = el('div', { id: `detail-${v.id}` });
    const box = el('details', {}, el('summary', {}, v.label), body);
    box.addEventListener('toggle', () => {
      if (!box.open) return;
      body.setAttribute('aria-busy', 'true');
      body.replaceChildren(el('p', {}, 'Loading…'));
      v.load(d).then((nodes) => body.replaceChildren(...nodes), (e: unknown) => body.replaceChildren(el('p', { role: 'alert' }, errorText(e))))
        .finally(() => body.removeAttribute('aria-busy'));
    });
    return box;
  });
  const close = el('button', { type: 'button' }, 'Close');
  const panel = el('section', { id: 'details', 'aria-labelledby': 'details-h' }, el('h2', { id: 'details-h' }, `Details of ${d.name} (domain ${d.domid})`), ...views, close);
  document.querySelector('main')?.append(panel);
  closeDetails = () => {
    panel.remove();
    closeDetails = undefined;
  };
  close.addEventListener('click', () => closeDetails?.());
}

function sizeText(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/**
 * The create form: the text is read by dom0d as `xl create` reads a file; an error shows with
 * its line (and the line is selected in the text), else the domain is created. A file of dom0d's
 * config directory picked in the list is loaded into the text (still editable); errors then name
 * the file, and a domain made from it unedited records the file as its source.
 */
function createForm(): HTMLElement {
  const picker = el('select', { id: 'cfg-file' }, el('option', { value: '' }, '(none: type it below)'));
  const pickerLabel = el('label', { for: 'cfg-file' }, 'Config file');
  const text = el('textarea', { id: 'cfg', rows: '8', cols: '72', spellcheck: 'false', 'aria-describedby': 'cfg-error' });
  const paused = el('input', { id: 'paused', type: 'checkbox' });
  const error = el('p', { id: 'cfg-error', role: 'alert' });
  const form = el('form', { id: 'create' },
    pickerLabel, ' ', picker, el('br'),
    el('label', { for: 'cfg' }, 'Config (xl.cfg syntax; absolute paths)'), el('br'), text, el('br'),
    el('label', {}, paused, ' leave it paused'), ' ', el('button', { type: 'submit' }, 'Create'), error);
  let dir = '';
  /** The file last loaded into the text, with the text as loaded. */
  let picked: { readonly name: string; readonly text: string } | undefined;
  api('GET', '/v1/config/files').then((r) => {
    const list = r as ConfigFileList;
    dir = list.dir;
    pickerLabel.textContent = `Config file in ${list.dir}`;
    picker.append(...list.files.map((f) => el('option', { value: f.name }, `${f.name} (${sizeText(f.size)}, ${new Date(f.mtimeMs).toLocaleString()})`)));
    if (list.truncated) picker.append(el('option', { disabled: '' }, '(more files not listed)'));
  }, (e: unknown) => {
    error.textContent = `The config files: ${errorText(e)}`;
  });
  picker.addEventListener('change', () => {
    const name = picker.value;
    error.textContent = '';
    if (name === '') {
      picked = undefined;
      return;
    }
    api('GET', `/v1/config/files/${encodeURIComponent(name)}`).then((r) => {
      if (picker.value !== name) return;
      const file = r as ConfigFileText;
      text.value = file.text;
      picked = { name, text: file.text };
    }, (e: unknown) => {
      error.textContent = errorText(e);
    });
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    error.textContent = '';
    void (async () => {
      try {
        const parsed = await api('POST', '/v1/config/parse', { text: text.value, source: picked?.name ?? 'config' }) as { config: { c_info?: { name?: string } } };
        const source = picked !== undefined && picked.text === text.value ? `${dir}/${picked.name}` : 'web console';
        await api('POST', '/v1/domains', { config: parsed.config, paused: paused.checked, source, sourceText: text.value });
        say(`Created ${parsed.config.c_info?.name ?? 'the domain'}`);
      } catch (e: unknown) {
        const line = e instanceof ApiError ? e.line : undefined;
        error.textContent = `${line === undefined ? '' : `line ${line}: `}${errorText(e)}`;
        if (line !== undefined) {
          const starts = text.value.split('\n').slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
          text.focus();
          text.setSelectionRange(starts, starts + (text.value.split('\n')[line - 1]?.length ?? 0));
        }
      }
    })();
  });
  return el('section', { 'aria-labelledby': 'new-h' }, el('h2', { id: 'new-h' }, 'New domain'), form);
}

function start(): void {
  const table = el('table', {},
    el('caption', {}, 'Domains'),
    el('thead', {}, el('tr', {}, ...['ID', 'Name', 'State', 'Memory', 'vCPUs', 'CPU', 'Actions'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', { id: 'domains' }));
  document.body.replaceChildren(el('main', {}, el('h1', {}, 'dom0'), table, el('p', { id: 'status', role: 'status', 'aria-live': 'polite' }), createForm()));
  refresh().then(() => follow(), (e: unknown) => say(errorText(e)));
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #111; }
table { border-collapse: collapse; min-width: 40rem; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; vertical-align: middle; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
.spark { width: 5rem; height: 1.2rem; margin-left: .4rem; vertical-align: middle; }
.spark polyline { fill: none; stroke: #2563eb; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
button { margin-right: .3rem; }
#cfg { font-family: ui-monospace, monospace; }
#console { margin-top: 1rem; }
#terminal { margin: .5rem 0; }
#screen { width: 720px; height: 400px; margin: .5rem 0; background: #222; }
#cfg-error { color: #b91c1c; }
#details { margin-top: 1rem; }
#details details { margin: .4rem 0; }
#details summary { cursor: pointer; font-weight: 600; }
#details pre { max-height: 24rem; overflow: auto; background: #f6f6f6; padding: .5rem; font-size: 12px; }
`;

const fragment = /(?:^#|&)token=([^&]+)/.exec(location.hash)?.[1];
if (fragment !== undefined) {
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(fragment));
  history.replaceState(null, '', location.pathname);
}
document.head.append(el('style', {}, STYLE));
token = sessionStorage.getItem(TOKEN_KEY) ?? '';
if (token === '') login();
else start();
