import type {
  AttachDeviceRequest,
  ChangeMediaRequest,
  ConsoleAttachment,
  ConsoleAttachRequest,
  CreateDomainRequest,
  DaemonInfo,
  DestroyDomainRequest,
  DetachDeviceRequest,
  DeviceDetached,
  DeviceInfo,
  DomainConfigEntry,
  DomainIdentity,
  DomainInfo,
  DomainRefRequest,
  HostInfo,
  ListDevicesRequest,
  MediaChanged,
  MemoryInfo,
  RenameDomainRequest,
  CoreDumped,
  DumpCoreRequest,
  MigrateDomainRequest,
  MonitorCommandRequest,
  MigrationResult,
  SaveDomainRequest,
  SaveResult,
  SetMemoryRequest,
  StatsSample,
  ShutdownDomainRequest,
  SysrqRequest,
  SysrqResult,
  TriggerRequest,
  TriggerResult,
  VncInfo,
  SetXenstoreQuotaRequest,
  XenstoreQuota,
  XenstoreQuotaScope,
} from './types.js';

/**
 * Everything dom0 can do, transport-free: dom0d implements it (`ToolstackService`), `xl` and the
 * web console call it through `connectToolstack` (HTTP/JSON over `RUN_DIR/api.sock`). Every
 * method takes at most one request object and resolves with JSON-serialisable data; failures are
 * `ToolstackError`s whose code survives the transport. `API_ROUTES` gives each method its route.
 */
export interface ToolstackApi {
  daemonInfo(): Promise<DaemonInfo>;
  hostInfo(): Promise<HostInfo>;
  /** Every domain in domid order, Domain-0 first. */
  listDomains(): Promise<DomainInfo[]>;
  /** `xentop`: the host and every domain with its machine's counters. */
  domainStats(): Promise<StatsSample>;
  getDomain(req: DomainRefRequest): Promise<DomainInfo>;
  /** The stored configs of every guest (Domain-0 has none), in domid order (`xl list -l`). */
  listDomainConfigs(): Promise<DomainConfigEntry[]>;
  getDomainConfig(req: DomainRefRequest): Promise<DomainConfigEntry>;
  createDomain(req: CreateDomainRequest): Promise<DomainInfo>;
  destroyDomain(req: DestroyDomainRequest): Promise<DomainIdentity>;
  /** Asks the guest to power off; returns once asked (state `shutting-down`). */
  shutdownDomain(req: ShutdownDomainRequest): Promise<DomainInfo>;
  /** Asks the guest to reboot; returns once asked. */
  rebootDomain(req: ShutdownDomainRequest): Promise<DomainInfo>;
  pauseDomain(req: DomainRefRequest): Promise<DomainInfo>;
  unpauseDomain(req: DomainRefRequest): Promise<DomainInfo>;
  renameDomain(req: RenameDomainRequest): Promise<DomainInfo>;
  /** Resolves a console (`xl console -t/-n`; the primary one by default); see `ConsoleAttachment`. */
  attachConsole(req: ConsoleAttachRequest): Promise<ConsoleAttachment>;
  /** `xl trigger`: nmi, reset (then on_reboot), power, s3resume; init and sleep: NOT_SUPPORTED. */
  sendTrigger(req: TriggerRequest): Promise<TriggerResult>;
  /** `xl sysrq`: writes `control/sysrq` and presses Alt+SysRq+key on the guest's keyboard. */
  sendSysrq(req: SysrqRequest): Promise<SysrqResult>;
  /** `xl vncviewer`: where the domain's VNC server is. */
  getVnc(req: DomainRefRequest): Promise<VncInfo>;
  /**
   * `xl block-attach` (and the other `*-attach`): adds a device to a running domain (machine,
   * xenstore, stored config), all or nothing; resolves with it as `listDevices` shows it.
   */
  attachDevice(req: AttachDeviceRequest): Promise<DeviceInfo>;
  /** `xl block-detach [-f]`: removes a device once the guest released it (or at once with force). */
  detachDevice(req: DetachDeviceRequest): Promise<DeviceDetached>;
  /** `xl block-list`: a domain's devices of one kind (those with xenstore nodes), in config order. */
  listDevices(req: ListDevicesRequest): Promise<DeviceInfo[]>;
  /** `xl cd-insert` / `cd-eject`: changes the medium of an HVM domain's CD-ROM drive. */
  changeMedia(req: ChangeMediaRequest): Promise<MediaChanged>;
  /**
   * `xl mem-set` / `mem-max`: moves the balloon target and/or the static maximum with libxl's
   * rules (target ≤ max); the stored config follows, so a reboot keeps them.
   */
  setMemory(req: SetMemoryRequest): Promise<MemoryInfo>;
  /** `xl save`: the domain's config and state to a file xl's `restore` (createDomain with `restore`) reads. */
  saveDomain(req: SaveDomainRequest): Promise<SaveResult>;
  /** `xl migrate`: streams the domain live to the sending xl's socket; it is paused here once the stream is complete. */
  migrateDomain(req: MigrateDomainRequest): Promise<MigrationResult>;
  /** `xl dump-core`: the guest's memory as an ELF core file (gdb, crash); the guest runs on. */
  dumpCore(req: DumpCoreRequest): Promise<CoreDumped>;
  /** `xl qemu-monitor-command`: an HMP command through dom0d's QMP connection; resolves with its output. */
  monitorCommand(req: MonitorCommandRequest): Promise<{ readonly output: string }>;
  /** `xl xenstore-quota-get`: every quota xenstored supports (GET_QUOTA), for the scope. */
  getXenstoreQuota(req: XenstoreQuotaScope): Promise<XenstoreQuota[]>;
  /** `xl xenstore-quota-set`: SET_QUOTA of each, in order; resolves with the scope's quotas after. */
  setXenstoreQuota(req: SetXenstoreQuotaRequest): Promise<XenstoreQuota[]>;
}

/** A ToolstackApi method's name. */
export type ApiOperation = keyof ToolstackApi;
