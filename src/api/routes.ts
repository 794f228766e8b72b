import { ToolstackError } from '../common/index.js';
import type { ApiOperation } from './toolstack.js';

/**
 * The one route table of the API: each ToolstackApi method and its HTTP route. dom0d dispatches
 * on it and the client builds its requests from it, so the two cannot drift apart.
 *
 * Wire rules: a request object travels as the path parameters (`:ref`, URI-encoded) plus, for
 * POST, a JSON body with the remaining fields. A success is `200` with the result as JSON; a
 * failure is a 4xx/5xx with `{"error": {code, message, hint?, lines?, exitCode?}}` whose code is
 * a `ToolstackError` code (the status is derived from the code, in dom0d, in one place).
 */
export interface ApiRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
}

export const API_ROUTES = {
  daemonInfo: { method: 'GET', path: '/v1/daemon' },
  hostInfo: { method: 'GET', path: '/v1/host' },
  listDomains: { method: 'GET', path: '/v1/domains' },
  domainStats: { method: 'GET', path: '/v1/stats' },
  getDomain: { method: 'GET', path: '/v1/domains/:ref' },
  listDomainConfigs: { method: 'GET', path: '/v1/domain-configs' },
  getDomainConfig: { method: 'GET', path: '/v1/domains/:ref/config' },
  createDomain: { method: 'POST', path: '/v1/domains' },
  destroyDomain: { method: 'POST', path: '/v1/domains/:ref/destroy' },
  shutdownDomain: { method: 'POST', path: '/v1/domains/:ref/shutdown' },
  rebootDomain: { method: 'POST', path: '/v1/domains/:ref/reboot' },
  pauseDomain: { method: 'POST', path: '/v1/domains/:ref/pause' },
  unpauseDomain: { method: 'POST', path: '/v1/domains/:ref/unpause' },
  suspendDomain: { method: 'POST', path: '/v1/domains/:ref/suspend' },
  resumeDomain: { method: 'POST', path: '/v1/domains/:ref/resume' },
  renameDomain: { method: 'POST', path: '/v1/domains/:ref/rename' },
  attachConsole: { method: 'POST', path: '/v1/domains/:ref/console' },
  sendTrigger: { method: 'POST', path: '/v1/domains/:ref/trigger' },
  sendSysrq: { method: 'POST', path: '/v1/domains/:ref/sysrq' },
  getVnc: { method: 'GET', path: '/v1/domains/:ref/vnc' },
  getMachineLayout: { method: 'GET', path: '/v1/domains/:ref/layout' },
  attachDevice: { method: 'POST', path: '/v1/domains/:ref/devices/:kind' },
  detachDevice: { method: 'POST', path: '/v1/domains/:ref/devices/:kind/:id/detach' },
  listDevices: { method: 'GET', path: '/v1/domains/:ref/devices/:kind' },
  changeMedia: { method: 'POST', path: '/v1/domains/:ref/media' },
  setMemory: { method: 'POST', path: '/v1/domains/:ref/memory' },
  saveDomain: { method: 'POST', path: '/v1/domains/:ref/save' },
  migrateDomain: { method: 'POST', path: '/v1/domains/:ref/migrate' },
  getMigrationProgress: { method: 'GET', path: '/v1/domains/:ref/migration' },
  claimMigration: { method: 'POST', path: '/v1/domains/:ref/migration/claim' },
  endMigration: { method: 'POST', path: '/v1/domains/:ref/migration/end' },
  dumpCore: { method: 'POST', path: '/v1/domains/:ref/dump-core' },
  monitorCommand: { method: 'POST', path: '/v1/domains/:ref/monitor' },
  listVcpus: { method: 'GET', path: '/v1/domains/:ref/vcpus' },
  setVcpuAffinity: { method: 'POST', path: '/v1/domains/:ref/vcpus/affinity' },
  setVcpus: { method: 'POST', path: '/v1/domains/:ref/vcpus' },
  getXenstoreQuota: { method: 'GET', path: '/v1/xenstore/quota/:scope' },
  setXenstoreQuota: { method: 'POST', path: '/v1/xenstore/quota/:scope' },
  getScheduling: { method: 'GET', path: '/v1/sched' },
  setDomainSched: { method: 'POST', path: '/v1/domains/:ref/sched' },
  setVcpuSched: { method: 'POST', path: '/v1/domains/:ref/sched/vcpus' },
  migrateToCpupool: { method: 'POST', path: '/v1/domains/:ref/cpupool' },
  setPoolSched: { method: 'POST', path: '/v1/cpupools/:pool/sched' },
  createCpupool: { method: 'POST', path: '/v1/cpupools' },
  destroyCpupool: { method: 'POST', path: '/v1/cpupools/:pool/destroy' },
  renameCpupool: { method: 'POST', path: '/v1/cpupools/:pool/rename' },
  addCpupoolCpus: { method: 'POST', path: '/v1/cpupools/:pool/cpus/add' },
  removeCpupoolCpus: { method: 'POST', path: '/v1/cpupools/:pool/cpus/remove' },
  numaSplitCpupools: { method: 'POST', path: '/v1/cpupools/numa-split' },
  parseConfig: { method: 'POST', path: '/v1/config/parse' },
  updateDomainConfig: { method: 'POST', path: '/v1/domains/:ref/config' },
  listConfigFiles: { method: 'GET', path: '/v1/config/files' },
  readConfigFile: { method: 'GET', path: '/v1/config/files/:name' },
  getDomainSource: { method: 'GET', path: '/v1/domains/:ref/config/source' },
  getDomainXenstore: { method: 'GET', path: '/v1/domains/:ref/xenstore' },
  getDomainLog: { method: 'GET', path: '/v1/domains/:ref/log' },
  listChannels: { method: 'GET', path: '/v1/domains/:ref/channels' },
  readDmesg: { method: 'POST', path: '/v1/host/dmesg' },
  sendDebugKeys: { method: 'POST', path: '/v1/host/debug-keys' },
  listAssignablePci: { method: 'GET', path: '/v1/host/pci/assignable' },
  addAssignablePci: { method: 'POST', path: '/v1/host/pci/assignable' },
  removeAssignablePci: { method: 'POST', path: '/v1/host/pci/assignable/remove' },
} as const satisfies { readonly [K in ApiOperation]: ApiRoute };

/**
 * Byte-stream routes: a GET with `Connection: Upgrade` and `Upgrade: <protocol>`, answered `101
 * Switching Protocols` (or an ordinary error reply); then the connection is the stream.
 * `consoleStream` (`?id=<chardev>`, as `ConsoleAttachment.stream` gives it) is a domain's
 * console (see `ConsoleAttachment`).
 */
export const STREAM_ROUTES = {
  consoleStream: { method: 'GET', path: '/v1/domains/:ref/console/stream', protocol: 'dom0-console' },
} as const satisfies Record<string, ApiRoute & { readonly protocol: string }>;

/**
 * Routes whose answer is not one JSON value: `events` is a Server-Sent Events stream (see
 * `EventFeed`; `?since=ID` or `Last-Event-ID` replays what was missed, `?stats=S` adds a `stats`
 * event every S seconds, at least 0.5, 0 for none, default 2; a client that leaves 4 MiB unread is
 * dropped); `openapi` is the OpenAPI 3.1 document of every route (`openApiDocument`).
 */
export const FEED_ROUTES = {
  events: { method: 'GET', path: '/v1/events' },
  openapi: { method: 'GET', path: '/openapi.json' },
} as const satisfies Record<string, ApiRoute>;

/**
 * Routes served only by a dom0d started with `DOM0_TEST_API=1`: `registerDomain` records a
 * running domain without a machine (tests and benchmarks of the registry and re-adoption).
 */
export const TEST_ROUTES = {
  registerDomain: { method: 'POST', path: '/v1/test/domains' },
} as const satisfies Record<string, ApiRoute>;

/**
 * Splits a request object into the URL path (parameters filled in) and the remaining fields
 * (the JSON body of a POST). An empty domain or pool is id 0, as libxl's qualifiers read a
 * string of nothing but digits (none included) as an id; an empty device id is no device.
 */
export function routeRequest(route: ApiRoute, req: object | undefined): { path: string; body: Record<string, unknown> } {
  const body: Record<string, unknown> = { ...(req ?? {}) };
  const path = route.path.replace(/:([a-z]+)/g, (_m, name: string) => {
    const v = body[name];
    delete body[name];
    if (typeof v !== 'string' && typeof v !== 'number') throw new TypeError(`API request lacks '${name}' for ${route.path}`);
    if (v === '' && (name === 'ref' || name === 'pool')) return '0';
    if (v === '' && name === 'id') throw new ToolstackError('DEVICE_NOT_FOUND', 'Error: Device  not connected.', { lines: ['Error: Device  not connected.'], hint: 'give the device\'s id as its list command shows it' });
    return encodeURIComponent(String(v));
  });
  return { path, body };
}

/** Matches a request path against a route's pattern; returns its decoded parameters. */
export function matchRoutePath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(':')) {
      if (g === '') return undefined;
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}
