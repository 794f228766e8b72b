// The API's public surface. `cli` and `web` reach the rest of dom0 only through here.
export type { CfgDocument, CfgSetting, CfgValue } from '../config/index.js';
export { formatRawCfgSettings, rawCfgSettings, readCfgFile } from '../config/index.js';
export type { RawCfgSetting } from '../config/index.js';
export { diskToJson, libxlJson, nicToJson, parseDiskSpec, parseVifArgs } from '../config/index.js';
export type { DiskDevice, NicDevice, VifDefaults } from '../config/index.js';
export { domainConfigText, domainConfigToLibxlJson, domainConfigToLibxlObject, loadDomainConfig, readXlConf, resolveDomainConfig } from '../config/index.js';
export { partialConfigText, UNTERMINATED } from '../config/index.js';
export type { DomainConfig, LibxlJsonObject, LoadDomainConfigOptions, ResolvedDomainConfig, XlConf } from '../config/index.js';
// dom0d's API: the ToolstackApi, its types, the route table, the client (helper F).
export { apiRequest, clientPaths, connectToolstack, ensureDom0d } from './client.js';
export type { ClientOptions } from './client.js';
export { API_ROUTES, matchRoutePath, routeRequest, STREAM_ROUTES, TEST_ROUTES } from './routes.js';
export { openConsole, openStream } from './console-stream.js';
export type { ConsoleStream } from './console-stream.js';
export type { ApiRoute } from './routes.js';
export { ToolstackService } from './service.js';
export type { ApiOperation, ToolstackApi } from './toolstack.js';
export type {
  ConsoleAttachment,
  ConsoleAttachRequest,
  ConsoleType,
  CreateDomainRequest,
  DaemonInfo,
  DestroyDomainRequest,
  DomainConfigEntry,
  DomainLaunch,
  DomainIdentity,
  DomainInfo,
  DomainRef,
  DomainRefRequest,
  DomainState,
  HostInfo,
  RenameDomainRequest,
  ShutdownDomainRequest,
  ShutdownReason,
  SysrqRequest,
  SysrqResult,
  TriggerName,
  TriggerRequest,
  TriggerResult,
  VncInfo,
  XenStateFlags,
} from './types.js';
export { SHUTDOWN_REASONS } from '../domain/index.js';
