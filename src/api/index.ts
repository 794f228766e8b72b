// The API's public surface. `cli` and `web` reach the rest of dom0 through here (`cli` reads
// configs with `config` itself, as xl does).
export { apiRequest, AUTOSTARTED, connectToolstack, daemonAnswers, DOM0D_ENV, DOM0D_NODE_FLAGS } from './client.js';
export { API_ROUTES, FEED_ROUTES, matchRoutePath, STREAM_ROUTES, TEST_ROUTES } from './routes.js';
export { EventFeed, sseMessage } from './event-feed.js';
export type { FeedEvent } from './event-feed.js';
export { openApiDocument } from './openapi.js';
export { checkRequestBody } from './validate.js';
export { openConsole, openStream } from './console-stream.js';
export type { ApiRoute } from './routes.js';
export { ToolstackService } from './service.js';
export { MAX_CONFIG_TEXT_BYTES } from './types.js';
export type { ApiOperation, ToolstackApi } from './toolstack.js';
export type {
  ConsoleAttachment, ConsoleAttachRequest, ConsoleType, CreateDomainRequest, DomainConfigEntry, DomainIdentity, DomainInfo, DomainRefRequest,
  DomainState, DomainStats, HostInfo, StatsSample, ShutdownReason, SysrqResult, TriggerName, TriggerResult, VncInfo, XenStateFlags,
} from './types.js';
export type { CoreDumped, DeviceDetached, DeviceInfo, DeviceKind, MediaChanged, MemoryInfo, MigrationProgress, MigrationResult, SaveResult } from './types.js';
export type { SetXenstoreQuotaRequest, XenstoreQuota, XenstoreQuotaScope } from './types.js';
export type { VcpuAffinityResult, VcpuInfo, VcpuList, VcpusSet } from './types.js';
export type { AssignablePciChange, AssignablePciInfo, AssignablePciList } from './types.js';
export type { ChannelInfo, DebugKeysResult, DmesgText, ParsedConfig } from './types.js';
export type { ConfigFileInfo, ConfigFileList, ConfigFileText, DomainLog, DomainSource, DomainXenstore, XenstoreNode } from './types.js';
export type {
  CpupoolCpusResult, CpupoolInfo, CpuReservation, DomainSchedInfo, HostCpu, PoolScheduler, PoolSchedParams, SchedulingInfo, VcpuReservation,
} from './types.js';
export { readSaveFileHeader, saveFileDataLength, saveFileHeader } from './savefile.js';
export type { SaveFileInfo } from './savefile.js';
export { libxlError, POOL_SCHEDULERS } from '../domain/index.js';
export { SHUTDOWN_REASONS } from '../domain/index.js';
