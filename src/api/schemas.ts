/**
 * The JSON Schemas (2020-12) of the API's requests and results, for its OpenAPI document: one
 * per type of `types.ts`, named as it is, and each operation's request body and result.
 *
 * They cannot drift from the TypeScript types: `SchemaType` reads the type a schema describes
 * (a `$ref` stands for the named type of `ApiTypes`), and this file does not compile while a
 * named schema, or an operation's request or result, describes a type other than its own: the
 * same fields, each required or optional as in TypeScript, of the same types (of an object
 * written inline in another, only the types are compared: an optional field it lacks passes).
 * libxl's JSON (a domain config, a device) is described from the IDL itself (`idlJsonSchemas`).
 *
 * A request's schema is its JSON body: the request type's fields but its path parameters.
 */
import { ERROR_CODES } from '../common/index.js';
import type { Dom0Paths, ErrorCode, ToolstackError } from '../common/index.js';
import { DEVICE_DISK, DEVICE_NIC, DEVICE_PCI, DEVICE_USBCTRL, DEVICE_USBDEV, DEVICE_VKB, DOMAIN_CONFIG, idlJsonSchemas } from '../config/index.js';
import type { JsonSchema, LibxlJsonObject } from '../config/index.js';
import { DEVICE_KINDS, DOMAIN_STATES, POOL_SCHEDULERS, SHUTDOWN_REASONS, TRIGGER_NAMES } from '../domain/index.js';
import type { CpuTopology, HostFacts, NumaNode, PsrFeatures } from '../host/index.js';
import type { MachineLayout, PciPlacement } from '../qemu/index.js';
import type { API_ROUTES } from './routes.js';
import type { ApiOperation, ToolstackApi } from './toolstack.js';
import type * as T from './types.js';

/** The type each schema of the document stands for, by its name. */
interface ApiTypes {
  Error: { readonly error: ReturnType<ToolstackError['toJSON']> & { readonly lines?: readonly string[]; readonly exitCode?: number } };
  DomainConfig: LibxlJsonObject;
  DiskDevice: LibxlJsonObject;
  NicDevice: LibxlJsonObject;
  PciDevice: LibxlJsonObject;
  UsbctrlDevice: LibxlJsonObject;
  UsbdevDevice: LibxlJsonObject;
  VkbDevice: LibxlJsonObject;
  DaemonInfo: T.DaemonInfo;
  Dom0Paths: Dom0Paths;
  HostInfo: T.HostInfo;
  HostFacts: HostFacts;
  CpuTopology: CpuTopology;
  NumaNode: NumaNode;
  PsrFeatures: PsrFeatures;
  DomainInfo: T.DomainInfo;
  XenStateFlags: T.XenStateFlags;
  DomainStats: T.DomainStats;
  NetStats: T.NetStats;
  VbdStats: T.VbdStats;
  StatsSample: T.StatsSample;
  DomainConfigEntry: T.DomainConfigEntry;
  DomainIdentity: T.DomainIdentity;
  ConsoleAttachment: T.ConsoleAttachment;
  TriggerResult: T.TriggerResult;
  SysrqResult: T.SysrqResult;
  VncInfo: T.VncInfo;
  MachineLayoutInfo: T.MachineLayoutInfo;
  MachineLayout: MachineLayout;
  PciPlacement: PciPlacement;
  DeviceInfo: T.DeviceInfo;
  DeviceDetached: T.DeviceDetached;
  MediaChanged: T.MediaChanged;
  MemoryInfo: T.MemoryInfo;
  SaveResult: T.SaveResult;
  MigrationResult: T.MigrationResult;
  MigrationProgress: T.MigrationProgress;
  CoreDumped: T.CoreDumped;
  VcpuList: T.VcpuList;
  VcpuInfo: T.VcpuInfo;
  VcpuAffinityResult: T.VcpuAffinityResult;
  VcpusSet: T.VcpusSet;
  XenstoreQuota: T.XenstoreQuota;
  SchedulingInfo: T.SchedulingInfo;
  HostCpu: T.HostCpu;
  CpupoolInfo: T.CpupoolInfo;
  PoolSchedParams: T.PoolSchedParams;
  DomainSchedInfo: T.DomainSchedInfo;
  CpuReservation: T.CpuReservation;
  VcpuReservation: T.VcpuReservation;
  CpupoolCpusResult: T.CpupoolCpusResult;
  ParsedConfig: T.ParsedConfig;
  ChannelInfo: T.ChannelInfo;
  DmesgText: T.DmesgText;
  DebugKeysResult: T.DebugKeysResult;
  AssignablePciList: T.AssignablePciList;
  AssignablePciInfo: T.AssignablePciInfo;
  AssignablePciChange: T.AssignablePciChange;
  ConfigFileInfo: T.ConfigFileInfo;
  ConfigFileList: T.ConfigFileList;
  ConfigFileText: T.ConfigFileText;
  DomainSource: T.DomainSource;
  XenstoreNode: T.XenstoreNode;
  DomainXenstore: T.DomainXenstore;
  DomainLog: T.DomainLog;
  CreateDomainRequest: T.CreateDomainRequest;
  DomainRefRequest: Omit<T.DomainRefRequest, 'ref'>;
  UnpauseRequest: Omit<T.UnpauseRequest, 'ref'>;
  DestroyDomainRequest: Omit<T.DestroyDomainRequest, 'ref'>;
  RenameDomainRequest: Omit<T.RenameDomainRequest, 'ref'>;
  ConsoleAttachRequest: Omit<T.ConsoleAttachRequest, 'ref'>;
  TriggerRequest: Omit<T.TriggerRequest, 'ref'>;
  SysrqRequest: Omit<T.SysrqRequest, 'ref'>;
  AttachDeviceRequest: Omit<T.AttachDeviceRequest, 'ref' | 'kind'>;
  DetachDeviceRequest: Omit<T.DetachDeviceRequest, 'ref' | 'kind' | 'id'>;
  ChangeMediaRequest: Omit<T.ChangeMediaRequest, 'ref'>;
  SetMemoryRequest: Omit<T.SetMemoryRequest, 'ref'>;
  SaveDomainRequest: Omit<T.SaveDomainRequest, 'ref'>;
  MigrateDomainRequest: Omit<T.MigrateDomainRequest, 'ref'>;
  ClaimMigrationRequest: Omit<T.ClaimMigrationRequest, 'ref'>;
  DumpCoreRequest: Omit<T.DumpCoreRequest, 'ref'>;
  MonitorCommandRequest: Omit<T.MonitorCommandRequest, 'ref'>;
  VcpuAffinityRequest: Omit<T.VcpuAffinityRequest, 'ref'>;
  SetVcpusRequest: Omit<T.SetVcpusRequest, 'ref'>;
  SetXenstoreQuotaRequest: Omit<T.SetXenstoreQuotaRequest, 'scope'>;
  SetDomainSchedRequest: Omit<T.SetDomainSchedRequest, 'ref'>;
  SetVcpuSchedRequest: Omit<T.SetVcpuSchedRequest, 'ref'>;
  MigrateToCpupoolRequest: Omit<T.MigrateToCpupoolRequest, 'ref'>;
  SetPoolSchedRequest: Omit<T.SetPoolSchedRequest, 'pool'>;
  CreateCpupoolRequest: T.CreateCpupoolRequest;
  CpupoolRef: Omit<T.CpupoolRef, 'pool'>;
  RenameCpupoolRequest: Omit<T.RenameCpupoolRequest, 'pool'>;
  CpupoolCpusRequest: Omit<T.CpupoolCpusRequest, 'pool'>;
  ParseConfigRequest: T.ParseConfigRequest;
  UpdateDomainConfigRequest: Omit<T.UpdateDomainConfigRequest, 'ref'>;
  DmesgRequest: T.DmesgRequest;
  DebugKeysRequest: T.DebugKeysRequest;
  AddAssignablePciRequest: T.AddAssignablePciRequest;
  RemoveAssignablePciRequest: T.RemoveAssignablePciRequest;
}
type SchemaName = keyof ApiTypes;

/** The type of the JSON a schema made with the helpers below describes. */
type SchemaType<S> =
  S extends { readonly $ref: `${typeof SCHEMA_REF}${infer N}` } ? (N extends SchemaName ? ApiTypes[N] : never)
    : S extends { readonly anyOf: readonly (infer M)[] } ? (M extends unknown ? SchemaType<M> : never)
      : S extends { readonly enum: readonly (infer V)[] } ? V
        : S extends { readonly type: 'integer' | 'number' } ? number
          : S extends { readonly type: 'string' } ? string
            : S extends { readonly type: 'boolean' } ? boolean
              : S extends { readonly type: 'null' } ? null
                : S extends { readonly type: 'array'; readonly items: infer I } ? ReadonlyArray<SchemaType<I>>
                  : S extends { readonly type: 'object'; readonly properties: infer P; readonly required: readonly (infer R)[] }
                    ? { readonly [K in keyof P as K extends R ? K : never]: SchemaType<P[K]> } & { readonly [K in keyof P as K extends R ? never : K]?: SchemaType<P[K]> }
                    : never;

const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const array = <const S>(items: S) => ({ type: 'array', items }) as const;
const enumOf = <const V extends readonly (string | null)[]>(values: V) => ({ enum: values }) as const;
const orNull = <const S>(s: S) => ({ anyOf: [s, { type: 'null' }] }) as const;
/** Where the document's schemas are: a `$ref` is this and the schema's name. */
export const SCHEMA_REF = '#/components/schemas/';
const ref = <const N extends SchemaName>(name: N) => ({ $ref: `${SCHEMA_REF}${name}` }) as { readonly $ref: `${typeof SCHEMA_REF}${N}` };

/** A field that may be absent (TypeScript's `?:`). */
class Optional<S> {
  constructor(readonly schema: S) {}
}
const opt = <const S>(s: S): Optional<S> => new Optional(s);

type ObjectSchema<F> = {
  readonly type: 'object';
  readonly properties: { readonly [K in keyof F]: F[K] extends Optional<infer S> ? S : F[K] };
  readonly required: ReadonlyArray<{ [K in keyof F]: F[K] extends Optional<unknown> ? never : K }[keyof F]>;
  readonly additionalProperties: false;
};

/** An object of exactly these fields (`opt`: may be absent). */
function object<const F extends Readonly<Record<string, unknown>>>(fields: F): ObjectSchema<F> {
  const entries = Object.entries(fields);
  return {
    type: 'object',
    properties: Object.fromEntries(entries.map(([k, v]) => [k, v instanceof Optional ? v.schema : v])),
    required: entries.filter(([, v]) => !(v instanceof Optional)).map(([k]) => k),
    additionalProperties: false,
  } as unknown as ObjectSchema<F>;
}

/** libxl's JSON of the IDL structs the API carries, by the name of their TypeScript type. */
const IDL_SCHEMAS = idlJsonSchemas({
  DomainConfig: DOMAIN_CONFIG, DiskDevice: DEVICE_DISK, NicDevice: DEVICE_NIC, PciDevice: DEVICE_PCI,
  UsbctrlDevice: DEVICE_USBCTRL, UsbdevDevice: DEVICE_USBDEV, VkbDevice: DEVICE_VKB,
}, (name) => ref(name).$ref);

/** A device of any kind (`DeviceKind`): its kind's IDL struct. */
const device = { anyOf: [ref('DiskDevice'), ref('NicDevice'), ref('PciDevice'), ref('UsbctrlDevice'), ref('UsbdevDevice'), ref('VkbDevice')] } as const;
const strings = array(str);
const domainHead = { domid: int, name: str } as const;
const domainInfo = {
  ...domainHead, uuid: str, state: enumOf(DOMAIN_STATES), flags: ref('XenStateFlags'), shutdownReason: orNull(enumOf(SHUTDOWN_REASONS)),
  memKiB: int, vcpus: int, cpuTimeNs: int, startTime: orNull(int), uptimeSec: orNull(num), cpupool: str, warnings: opt(strings),
} as const;
const vcpuList = { ...domainHead, nrCpus: int, vcpus: array(ref('VcpuInfo')) } as const;
const cpuReservation = { period: int, budget: int, extratime: bool } as const;
const configFileInfo = { name: str, size: int, mtimeMs: num } as const;
const consoleType = enumOf(['pv', 'serial', 'vuart']);
const deviceKind = enumOf(DEVICE_KINDS);
const ints = array(int);
const machineLayout = { pci: array(ref('PciPlacement')), ramKiB: int } as const;

const SCHEMAS = {
  Error: object({
    error: object({
      code: enumOf(Object.keys(ERROR_CODES) as ErrorCode[]),
      message: str,
      hint: opt(str),
      pos: opt(object({ file: str, line: int, column: opt(int) })),
      lines: opt(strings),
      exitCode: opt(int),
    }),
  }),
  DaemonInfo: object({ pid: int, startedAt: int, paths: ref('Dom0Paths'), domains: int }),
  Dom0Paths: object({
    configDir: str, stateDir: str, runDir: str, logDir: str, apiSocket: str, pidFile: str, xenstoredSocket: str, domainsDir: str,
    dom0dLog: str, networkRunDir: str, networkStateDir: str,
  }),
  HostInfo: object({
    memKiB: int, cpus: int, cpuTimeNs: int, uptimeSec: num, accel: opt(object({ accel: enumOf(['kvm', 'tcg']), source: str, reason: str })),
    facts: ref('HostFacts'), guestsKiB: int, freeKiB: int, psr: ref('PsrFeatures'),
  }),
  HostFacts: object({
    host: str, release: str, version: str, machine: str, cpus: array(ref('CpuTopology')), nodes: array(ref('NumaNode')), cpuKhz: num,
    hwCaps: ints, totalKiB: int, availableKiB: int,
  }),
  CpuTopology: object({ cpu: int, core: int, socket: int, node: int }),
  NumaNode: object({ node: int, totalKiB: int, freeKiB: int, distances: ints }),
  PsrFeatures: object({ cmt: bool, l3Cat: bool, l2Cat: bool, mba: bool, source: enumOf(['resctrl', 'cpuinfo', 'none']) }),
  DomainInfo: object(domainInfo),
  XenStateFlags: object({ running: bool, blocked: bool, paused: bool, shutdown: bool, dying: bool }),
  DomainStats: object({ ...domainInfo, maxMemKiB: orNull(int), vcpuTimesNs: ints, nets: array(ref('NetStats')), vbds: array(ref('VbdStats')) }),
  NetStats: object({
    devid: int, rxBytes: int, rxPackets: int, rxErrors: int, rxDropped: int, txBytes: int, txPackets: int, txErrors: int, txDropped: int,
  }),
  VbdStats: object({ devid: int, readRequests: int, writeRequests: int, readSectors: int, writeSectors: int }),
  StatsSample: object({ timeMs: int, totalKiB: int, freeKiB: int, cpus: int, cpuKhz: num, domains: array(ref('DomainStats')) }),
  DomainConfigEntry: object({ domid: int, config: ref('DomainConfig') }),
  DomainIdentity: object({ ...domainHead, uuid: str }),
  ConsoleAttachment: object({ ...domainHead, type: consoleType, num: int, id: str, stream: str }),
  TriggerResult: object({ ...domainHead, trigger: enumOf(TRIGGER_NAMES), vcpu: int, qmp: str }),
  SysrqResult: object({ ...domainHead, key: str, xenstorePath: str, keys: strings }),
  VncInfo: object({ ...domainHead, host: str, port: int, display: int, password: orNull(str) }),
  MachineLayoutInfo: object({ ...domainHead, ...machineLayout }),
  MachineLayout: object(machineLayout),
  PciPlacement: object({ id: str, slot: int, func: int }),
  DeviceInfo: object({
    ...domainHead, kind: deviceKind, devid: int, backendId: int, state: int, evtch: int, rref: int, backendPath: str, frontendPath: str, device, warnings: opt(strings),
  }),
  DeviceDetached: object({ ...domainHead, kind: deviceKind, device, released: bool }),
  MediaChanged: object({ ...domainHead, disk: ref('DiskDevice') }),
  MemoryInfo: object({ ...domainHead, targetKiB: int, maxKiB: int, machineKiB: int }),
  SaveResult: object({ ...domainHead, file: str, bytes: int, mandatoryFlags: int, optionalFlags: int, optionalDataBytes: int, configBytes: int, domain: orNull(ref('DomainInfo')) }),
  MigrationResult: object({ ...domainHead, totalMs: int, downtimeMs: int, ramBytes: int }),
  MigrationProgress: object({
    ...domainHead, status: str, transferredBytes: int, remainingBytes: int, totalBytes: int, dirtyPagesPerSecond: int, pageBytes: int,
    iterations: int, expectedDowntimeMs: int, mbps: num,
  }),
  CoreDumped: object({ ...domainHead, file: str, bytes: int }),
  VcpuList: object(vcpuList),
  VcpuInfo: object({
    vcpu: int, online: bool, cpu: orNull(int), running: bool, blocked: bool, timeNs: int, hard: orNull(ints), soft: orNull(ints),
  }),
  VcpuAffinityResult: object({ ...vcpuList, warnings: strings }),
  VcpusSet: object({ ...vcpuList, pending: ints }),
  XenstoreQuota: object({ name: str, value: int }),
  SchedulingInfo: object({
    scheduler: enumOf(POOL_SCHEDULERS), cpus: array(ref('HostCpu')), freeCpus: ints, pools: array(ref('CpupoolInfo')), domains: array(ref('DomainSchedInfo')),
  }),
  HostCpu: object({ cpu: int, node: int }),
  CpupoolInfo: object({ poolid: int, name: str, sched: enumOf(POOL_SCHEDULERS), cpus: ints, domains: int, params: ref('PoolSchedParams') }),
  PoolSchedParams: object({ tsliceMs: int, ratelimitUs: int, migrationDelayUs: int }),
  DomainSchedInfo: object({ ...domainHead, pool: int, weight: int, cap: int, vcpus: array(ref('CpuReservation')) }),
  CpuReservation: object(cpuReservation),
  VcpuReservation: object({ ...cpuReservation, vcpuid: int }),
  CpupoolCpusResult: object({ pool: ref('CpupoolInfo'), errors: strings }),
  ParsedConfig: object({ config: ref('DomainConfig'), warnings: strings }),
  ChannelInfo: object({
    devid: int, name: str, backendId: int, state: int, evtch: int, rref: int, connection: enumOf(['pty', 'socket']), path: orNull(str),
  }),
  DmesgText: object({ text: str }),
  DebugKeysResult: object({ lines: strings }),
  AssignablePciList: object({ devices: array(ref('AssignablePciInfo')), warnings: strings }),
  AssignablePciInfo: object({ bdf: str, name: opt(str) }),
  AssignablePciChange: object({ bdf: str, warnings: strings }),
  ConfigFileInfo: object(configFileInfo),
  ConfigFileList: object({ dir: str, files: array(ref('ConfigFileInfo')), truncated: bool }),
  ConfigFileText: object({ ...configFileInfo, text: str }),
  DomainSource: object({ ...domainHead, source: str, text: orNull(str), file: orNull(ref('ConfigFileText')), modifiedSince: bool }),
  XenstoreNode: object({ path: str, value: str, perms: strings }),
  DomainXenstore: object({ ...domainHead, path: str, nodes: array(ref('XenstoreNode')), truncated: bool }),
  DomainLog: object({ ...domainHead, file: str, size: int, text: str, truncated: bool }),
  CreateDomainRequest: object({
    config: ref('DomainConfig'), paused: opt(bool), noMonitor: opt(bool), source: opt(str), sourceText: opt(str),
    restore: opt(object({ file: str, offset: int })), incoming: opt(object({ socket: str, holder: opt(int) })), layout: opt(ref('MachineLayout')),
  }),
  DomainRefRequest: object({}),
  DestroyDomainRequest: object({ force: opt(bool) }),
  RenameDomainRequest: object({ name: str, from: opt(str) }),
  ConsoleAttachRequest: object({ type: opt(consoleType), num: opt(int) }),
  TriggerRequest: object({ trigger: enumOf(TRIGGER_NAMES), vcpu: opt(int) }),
  SysrqRequest: object({ key: str }),
  AttachDeviceRequest: object({ device }),
  DetachDeviceRequest: object({ force: opt(bool) }),
  ChangeMediaRequest: object({ disk: ref('DiskDevice') }),
  SetMemoryRequest: object({ targetKiB: opt(int), maxKiB: opt(int) }),
  SaveDomainRequest: object({ file: str, checkpoint: opt(bool), paused: opt(bool), preserveDomid: opt(bool), config: opt(ref('DomainConfig')) }),
  MigrateDomainRequest: object({ fifo: str, holder: opt(int) }),
  ClaimMigrationRequest: object({ holder: int }),
  UnpauseRequest: object({ holder: opt(int) }),
  DumpCoreRequest: object({ file: str }),
  MonitorCommandRequest: object({ command: str }),
  VcpuAffinityRequest: object({ vcpu: { anyOf: [int, enumOf(['all'])] }, hard: opt(ints), soft: opt(ints) }),
  SetVcpusRequest: object({ count: int }),
  SetXenstoreQuotaRequest: object({ quotas: array(ref('XenstoreQuota')) }),
  SetDomainSchedRequest: object({ sched: enumOf(['credit', 'credit2']), weight: opt(int), cap: opt(int) }),
  SetVcpuSchedRequest: object({ vcpus: opt(array(ref('VcpuReservation'))), all: opt(ref('CpuReservation')) }),
  MigrateToCpupoolRequest: object({ pool: str }),
  SetPoolSchedRequest: object({ sched: enumOf(['credit', 'credit2']), tsliceMs: opt(int), ratelimitUs: opt(int), migrationDelayUs: opt(int) }),
  CreateCpupoolRequest: object({ name: str, sched: str, cpus: ints }),
  CpupoolRef: object({}),
  RenameCpupoolRequest: object({ name: str }),
  CpupoolCpusRequest: object({ cpus: ints }),
  ParseConfigRequest: object({ text: str, source: opt(str) }),
  UpdateDomainConfigRequest: object({ config: ref('DomainConfig') }),
  DmesgRequest: object({ clear: opt(bool) }),
  DebugKeysRequest: object({ keys: str }),
  AddAssignablePciRequest: object({ bdf: str, name: opt(str) }),
  RemoveAssignablePciRequest: object({ ident: str, rebind: opt(bool) }),
};

/** Every schema of the document, by name (`#/components/schemas/<name>`). */
export const API_SCHEMAS: Readonly<Record<SchemaName, JsonSchema>> = { ...IDL_SCHEMAS, ...SCHEMAS } satisfies Record<SchemaName, unknown>;

/** Each operation's request body (POST) and result. */
export const OPERATION_SCHEMAS = {
  daemonInfo: { result: ref('DaemonInfo') },
  hostInfo: { result: ref('HostInfo') },
  listDomains: { result: array(ref('DomainInfo')) },
  domainStats: { result: ref('StatsSample') },
  getDomain: { result: ref('DomainInfo') },
  listDomainConfigs: { result: array(ref('DomainConfigEntry')) },
  getDomainConfig: { result: ref('DomainConfigEntry') },
  createDomain: { request: ref('CreateDomainRequest'), result: ref('DomainInfo') },
  destroyDomain: { request: ref('DestroyDomainRequest'), result: ref('DomainIdentity') },
  shutdownDomain: { request: ref('DomainRefRequest'), result: ref('DomainInfo') },
  rebootDomain: { request: ref('DomainRefRequest'), result: ref('DomainInfo') },
  pauseDomain: { request: ref('DomainRefRequest'), result: ref('DomainInfo') },
  unpauseDomain: { request: ref('UnpauseRequest'), result: ref('DomainInfo') },
  suspendDomain: { request: ref('DomainRefRequest'), result: ref('DomainInfo') },
  resumeDomain: { request: ref('DomainRefRequest'), result: ref('DomainInfo') },
  renameDomain: { request: ref('RenameDomainRequest'), result: ref('DomainInfo') },
  attachConsole: { request: ref('ConsoleAttachRequest'), result: ref('ConsoleAttachment') },
  sendTrigger: { request: ref('TriggerRequest'), result: ref('TriggerResult') },
  sendSysrq: { request: ref('SysrqRequest'), result: ref('SysrqResult') },
  getVnc: { result: ref('VncInfo') },
  getMachineLayout: { result: ref('MachineLayoutInfo') },
  attachDevice: { request: ref('AttachDeviceRequest'), result: ref('DeviceInfo') },
  detachDevice: { request: ref('DetachDeviceRequest'), result: ref('DeviceDetached') },
  listDevices: { result: array(ref('DeviceInfo')) },
  changeMedia: { request: ref('ChangeMediaRequest'), result: ref('MediaChanged') },
  setMemory: { request: ref('SetMemoryRequest'), result: ref('MemoryInfo') },
  saveDomain: { request: ref('SaveDomainRequest'), result: ref('SaveResult') },
  migrateDomain: { request: ref('MigrateDomainRequest'), result: ref('MigrationResult') },
  getMigrationProgress: { result: ref('MigrationProgress') },
  claimMigration: { request: ref('ClaimMigrationRequest'), result: ref('DomainInfo') },
  endMigration: { request: ref('DomainRefRequest'), result: ref('DomainInfo') },
  dumpCore: { request: ref('DumpCoreRequest'), result: ref('CoreDumped') },
  monitorCommand: { request: ref('MonitorCommandRequest'), result: object({ output: str }) },
  listVcpus: { result: ref('VcpuList') },
  setVcpuAffinity: { request: ref('VcpuAffinityRequest'), result: ref('VcpuAffinityResult') },
  setVcpus: { request: ref('SetVcpusRequest'), result: ref('VcpusSet') },
  getXenstoreQuota: { result: array(ref('XenstoreQuota')) },
  setXenstoreQuota: { request: ref('SetXenstoreQuotaRequest'), result: array(ref('XenstoreQuota')) },
  getScheduling: { result: ref('SchedulingInfo') },
  setDomainSched: { request: ref('SetDomainSchedRequest'), result: ref('DomainSchedInfo') },
  setVcpuSched: { request: ref('SetVcpuSchedRequest'), result: ref('DomainSchedInfo') },
  migrateToCpupool: { request: ref('MigrateToCpupoolRequest'), result: ref('DomainSchedInfo') },
  setPoolSched: { request: ref('SetPoolSchedRequest'), result: ref('CpupoolInfo') },
  createCpupool: { request: ref('CreateCpupoolRequest'), result: ref('CpupoolInfo') },
  destroyCpupool: { request: ref('CpupoolRef'), result: ref('CpupoolInfo') },
  renameCpupool: { request: ref('RenameCpupoolRequest'), result: ref('CpupoolInfo') },
  addCpupoolCpus: { request: ref('CpupoolCpusRequest'), result: ref('CpupoolCpusResult') },
  removeCpupoolCpus: { request: ref('CpupoolCpusRequest'), result: ref('CpupoolCpusResult') },
  numaSplitCpupools: { request: object({}), result: array(ref('CpupoolInfo')) },
  parseConfig: { request: ref('ParseConfigRequest'), result: ref('ParsedConfig') },
  updateDomainConfig: { request: ref('UpdateDomainConfigRequest'), result: ref('DomainConfigEntry') },
  listChannels: { result: array(ref('ChannelInfo')) },
  readDmesg: { request: ref('DmesgRequest'), result: ref('DmesgText') },
  sendDebugKeys: { request: ref('DebugKeysRequest'), result: ref('DebugKeysResult') },
  listAssignablePci: { result: ref('AssignablePciList') },
  addAssignablePci: { request: ref('AddAssignablePciRequest'), result: ref('AssignablePciChange') },
  removeAssignablePci: { request: ref('RemoveAssignablePciRequest'), result: ref('AssignablePciChange') },
  listConfigFiles: { result: ref('ConfigFileList') },
  readConfigFile: { result: ref('ConfigFileText') },
  getDomainSource: { result: ref('DomainSource') },
  getDomainXenstore: { result: ref('DomainXenstore') },
  getDomainLog: { result: ref('DomainLog') },
} satisfies { readonly [K in ApiOperation]: { readonly result: JsonSchema } & ((typeof API_ROUTES)[K]['method'] extends 'POST' ? { readonly request: JsonSchema } : unknown) };

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;
type PathParams<P> = P extends `${string}:${infer N}/${infer Rest}` ? N | PathParams<Rest> : P extends `${string}:${infer N}` ? N : never;
/** An operation's request fields that travel in its JSON body (none for a GET). */
type Body<K extends ApiOperation> = Omit<Parameters<ToolstackApi[K]> extends readonly [infer R] ? R : object, PathParams<(typeof API_ROUTES)[K]['path']>>;
type Op<K extends ApiOperation> = (typeof OPERATION_SCHEMAS)[K];

type NamedMismatch = { [N in keyof typeof SCHEMAS]: Same<SchemaType<(typeof SCHEMAS)[N]>, ApiTypes[N]> extends true ? never : N }[keyof typeof SCHEMAS];
type OperationMismatch = {
  [K in ApiOperation]: Same<SchemaType<Op<K>['result']>, Readonly<Awaited<ReturnType<ToolstackApi[K]>>>> extends true
    ? Same<Op<K> extends { readonly request: infer Q } ? SchemaType<Q> : object, Body<K>> extends true ? never : `${K} (request)`
    : `${K} (result)`;
}[ApiOperation];
/** `true` when there is no `M`, else `M`: a mismatch in a compile error names what mismatched. */
type NoneOf<M> = [M] extends [never] ? true : M;
type Assert<T extends true> = T;
// These do not compile while a schema, or an operation's request or result, describes another
// type than its TypeScript one; the error names it.
type _NamedSchemasMatchTypes = Assert<NoneOf<NamedMismatch>>;
type _OperationSchemasMatchTypes = Assert<NoneOf<OperationMismatch>>;
