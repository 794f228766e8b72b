import type {
  AddAssignablePciRequest,
  ConfigFileList,
  ConfigFileRequest,
  ConfigFileText,
  DomainLog,
  DomainSource,
  DomainXenstore,
  DebugKeysRequest,
  DebugKeysResult,
  DmesgRequest,
  DmesgText,
  ParseConfigRequest,
  ParsedConfig,
  AssignablePciChange,
  AssignablePciList,
  ChannelInfo,
  AttachDeviceRequest,
  ChangeMediaRequest,
  ConsoleAttachment,
  ConsoleAttachRequest,
  CreateDomainRequest,
  DaemonInfo,
  DestroyDomainRequest,
  DetachDeviceRequest,
  DeviceDetached,
  RemoveAssignablePciRequest,
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
  ClaimMigrationRequest,
  UnpauseRequest,
  MigrateDomainRequest,
  MonitorCommandRequest,
  SetVcpusRequest,
  VcpuAffinityRequest,
  VcpuAffinityResult,
  VcpuList,
  VcpusSet,
  MigrationProgress,
  MigrationResult,
  SaveDomainRequest,
  SaveResult,
  SetMemoryRequest,
  StatsSample,
  SysrqRequest,
  SysrqResult,
  TriggerRequest,
  TriggerResult,
  UpdateDomainConfigRequest,
  VncInfo,
  MachineLayoutInfo,
  SetXenstoreQuotaRequest,
  XenstoreQuota,
  XenstoreQuotaScope,
  CpupoolCpusRequest,
  CpupoolCpusResult,
  CpupoolInfo,
  CpupoolRef,
  CreateCpupoolRequest,
  DomainSchedInfo,
  MigrateToCpupoolRequest,
  RenameCpupoolRequest,
  SchedulingInfo,
  SetDomainSchedRequest,
  SetPoolSchedRequest,
  SetVcpuSchedRequest,
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
  shutdownDomain(req: DomainRefRequest): Promise<DomainInfo>;
  /** Asks the guest to reboot; returns once asked. */
  rebootDomain(req: DomainRefRequest): Promise<DomainInfo>;
  pauseDomain(req: DomainRefRequest): Promise<DomainInfo>;
  unpauseDomain(req: UnpauseRequest): Promise<DomainInfo>;
  /** `xl suspend`: the guest stops where it is, shut down with reason suspend (no on_* action). */
  suspendDomain(req: DomainRefRequest): Promise<DomainInfo>;
  /** `xl resume`: a suspended domain runs on. */
  resumeDomain(req: DomainRefRequest): Promise<DomainInfo>;
  renameDomain(req: RenameDomainRequest): Promise<DomainInfo>;
  /** Resolves a console (`xl console -t/-n`; the primary one by default); see `ConsoleAttachment`. */
  attachConsole(req: ConsoleAttachRequest): Promise<ConsoleAttachment>;
  /** `xl trigger`: nmi, reset (then on_reboot), power, s3resume; init and sleep: NOT_SUPPORTED. */
  sendTrigger(req: TriggerRequest): Promise<TriggerResult>;
  /** `xl sysrq`: writes `control/sysrq` and presses Alt+SysRq+key on the guest's keyboard. */
  sendSysrq(req: SysrqRequest): Promise<SysrqResult>;
  /** `xl vncviewer`: where the domain's VNC server is. */
  getVnc(req: DomainRefRequest): Promise<VncInfo>;
  /** Where the domain's machine has its PCI devices: `xl migrate` sends it with the config, for the receiver to rebuild. */
  getMachineLayout(req: DomainRefRequest): Promise<MachineLayoutInfo>;
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
  /**
   * `xl migrate`, before its transport runs: the domain's migration becomes the sending xl's
   * (`holder`), or is refused at once (another has it; its machine cannot be migrated), before any
   * receiver has made a domain for it. Its `migrateDomain` with the same holder then runs; it ends
   * as `endMigration` says, or when that xl ends (see MigrateDomainRequest.holder).
   */
  claimMigration(req: ClaimMigrationRequest): Promise<DomainInfo>;
  /** `xl migrate`: streams the domain live to the sending xl's socket; it is paused here once the stream is complete. */
  migrateDomain(req: MigrateDomainRequest): Promise<MigrationResult>;
  /** `xl migrate`'s progress line: how far the domain's migration (or save) is, as QEMU counts. */
  getMigrationProgress(req: DomainRefRequest): Promise<MigrationProgress>;
  /**
   * The sending xl is done with the domain's migration without destroying it (its target failed):
   * another migration of it may start. Until then (or until it is unpaused or destroyed) one is refused.
   */
  endMigration(req: DomainRefRequest): Promise<DomainInfo>;
  /** `xl dump-core`: the guest's memory as an ELF core file (gdb, crash); the guest runs on. */
  dumpCore(req: DumpCoreRequest): Promise<CoreDumped>;
  /** `xl qemu-monitor-command`: an HMP command through dom0d's QMP connection; resolves with its output. */
  monitorCommand(req: MonitorCommandRequest): Promise<{ readonly output: string }>;
  /** `xl vcpu-list`: a domain's vCPUs as its machine's threads run them (Domain-0: the host's CPUs). */
  listVcpus(req: DomainRefRequest): Promise<VcpuList>;
  /** `xl vcpu-pin`: hard affinity (the vCPU threads', now) and soft affinity (kept); both stored for every boot. */
  setVcpuAffinity(req: VcpuAffinityRequest): Promise<VcpuAffinityResult>;
  /** `xl vcpu-set`: vCPUs plugged or unplugged (QEMU CPU hotplug); the stored config follows. */
  setVcpus(req: SetVcpusRequest): Promise<VcpusSet>;
  /** `xl xenstore-quota-get`: every quota xenstored supports (GET_QUOTA), for the scope. */
  getXenstoreQuota(req: XenstoreQuotaScope): Promise<XenstoreQuota[]>;
  /** `xl xenstore-quota-set`: SET_QUOTA of each, in order; resolves with the scope's quotas after. */
  setXenstoreQuota(req: SetXenstoreQuotaRequest): Promise<XenstoreQuota[]>;
  /** `xl sched-*`, `cpupool-list`, `info`: the host's CPUs, pools and every domain's scheduling. */
  getScheduling(): Promise<SchedulingInfo>;
  /** `xl sched-credit` / `sched-credit2 -d D -w -c`: libxl's checks, then the domain's cgroup; kept across reboots. */
  setDomainSched(req: SetDomainSchedRequest): Promise<DomainSchedInfo>;
  /** `xl sched-rtds -d D -v ... -p -b -e`: vCPUs' reservations (each vCPU thread's cgroup). */
  setVcpuSched(req: SetVcpuSchedRequest): Promise<DomainSchedInfo>;
  /** `xl sched-credit -s` / `sched-credit2 -s` with values: a pool's scheduler-wide parameters. */
  setPoolSched(req: SetPoolSchedRequest): Promise<CpupoolInfo>;
  /** `xl cpupool-create`: a pool of free CPUs (its cpuset made). */
  createCpupool(req: CreateCpupoolRequest): Promise<CpupoolInfo>;
  /** `xl cpupool-destroy`: a pool without domains; its CPUs become free. */
  destroyCpupool(req: CpupoolRef): Promise<CpupoolInfo>;
  renameCpupool(req: RenameCpupoolRequest): Promise<CpupoolInfo>;
  /** `xl cpupool-cpu-add`: CPUs Xen refuses are reported, the others join. */
  addCpupoolCpus(req: CpupoolCpusRequest): Promise<CpupoolCpusResult>;
  /** `xl cpupool-cpu-remove`: CPUs Xen refuses are reported, the others leave (and are free). */
  removeCpupoolCpus(req: CpupoolCpusRequest): Promise<CpupoolCpusResult>;
  /** `xl cpupool-migrate`: the domain's QEMU moves to the pool's cpuset, with its scheduler's defaults. */
  migrateToCpupool(req: MigrateToCpupoolRequest): Promise<DomainSchedInfo>;
  /** `xl cpupool-numa-split`: one pool per NUMA node. */
  numaSplitCpupools(): Promise<CpupoolInfo[]>;
  /**
   * An xl.cfg text read as `xl create` reads a file (xl.conf applied; relative paths are not
   * resolved: give absolute ones); a syntax error carries `pos` (its line).
   */
  parseConfig(req: ParseConfigRequest): Promise<ParsedConfig>;
  /** The config files of dom0d's config directory (`DOM0_CONFIG_DIR`), for a create form to offer. */
  listConfigFiles(): Promise<ConfigFileList>;
  /** One of them, by name: CFG_READ for a path, a non-regular file, a symlink out of the directory, over 1 MiB. */
  readConfigFile(req: ConfigFileRequest): Promise<ConfigFileText>;
  /** What the domain was created from, and that config file's text when dom0d's config directory has it. */
  getDomainSource(req: DomainRefRequest): Promise<DomainSource>;
  /** The domain's xenstore directory, `/local/domain/<domid>`, node by node (the first 2000). */
  getDomainXenstore(req: DomainRefRequest): Promise<DomainXenstore>;
  /** The end of the domain's log (its QEMU's output; Domain-0: dom0d's log). */
  getDomainLog(req: DomainRefRequest): Promise<DomainLog>;
  /** `xl config-update`: the config is kept for the domain's next restart (name and uuid stay). */
  updateDomainConfig(req: UpdateDomainConfigRequest): Promise<DomainConfigEntry>;
  /** `xl channel-list`: a domain's channels in config order (Domain-0 has none). */
  listChannels(req: DomainRefRequest): Promise<ChannelInfo[]>;
  /** `xl dmesg`: dom0's console ring (see `DmesgText`); `clear` empties it after reading. */
  readDmesg(req: DmesgRequest): Promise<DmesgText>;
  /** `xl debug-keys`: Xen's key handlers where dom0 has the thing they show; output to the ring. */
  sendDebugKeys(req: DebugKeysRequest): Promise<DebugKeysResult>;
  /** `xl pci-assignable-list`: host PCI devices bound to vfio-pci that no running domain has. */
  listAssignablePci(): Promise<AssignablePciList>;
  /** `xl pci-assignable-add`: binds a host PCI device to vfio-pci (the host needs an IOMMU). */
  addAssignablePci(req: AddAssignablePciRequest): Promise<AssignablePciChange>;
  /** `xl pci-assignable-remove`: unbinds it from vfio-pci, back to its driver with `rebind`. */
  removeAssignablePci(req: RemoveAssignablePciRequest): Promise<AssignablePciChange>;
}

/** A ToolstackApi method's name. */
export type ApiOperation = keyof ToolstackApi;
