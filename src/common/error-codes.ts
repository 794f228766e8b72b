/**
 * The registry of stable error codes. Append only: a code, once shipped, keeps its meaning,
 * because scripts match on it (`xl --json` prints it). Group by area; one line each.
 */
export const ERROR_CODES = {
  // cli
  USAGE: 'Bad command line (unknown option, bad argument)',
  USAGE_ARGS: 'Too few arguments for the command (its help follows on stdout)',
  COMMAND_NOT_IMPLEMENTED: 'No such xl subcommand',
  DRYRUN_UNSUPPORTED: 'The command does not implement -N',
  INTERNAL: 'An internal error (a bug in dom0): `xl -v` prints its stack trace',
  // config: xl.cfg grammar and values
  CFG_SYNTAX: 'xl.cfg syntax error',
  CFG_READ: 'A config file could not be read',
  CFG_VALUE: 'A config setting has a value of the wrong type or out of range',
  CFG_LEGACY: 'A legacy (Python-style) config uses something outside the supported subset',
  SPEC_DISK: 'A disk specification is invalid',
  SPEC_VIF: 'A vif specification is invalid',
  SPEC_CPUS: 'A CPU list is invalid',
  SPEC_PCI: 'A PCI specification is invalid',
  SPEC_USB: 'A USB controller or device specification is invalid',
  SPEC_DEVICE: 'A device specification (vfb, channel, vkb, vtpm, p9, ...) is invalid',
  CONFIG_SCHEMA: 'A domain config (libxl JSON) does not match the IDL',
  // xenstore
  XS_PROTOCOL: 'A xenstore request failed',
  XS_STATE: 'The xenstore state directory is unusable',
  // daemon / api
  DAEMON_UNAVAILABLE: 'dom0d could not be reached or started',
  API: 'The API returned an error',
  // domains
  DOMAIN_NOT_FOUND: 'No such domain',
  DOMAIN_EXISTS: 'A domain with that name already exists',
  DOMAIN_STATE: 'The operation is not allowed in the domain\'s current state',
  QEMU: 'QEMU failed',
  HOST_CAPABILITY: 'The host lacks something the config needs',
  IO: 'A file or socket operation failed',
  // daemon / domains (dom0d)
  DAEMON_RUNNING: 'Another dom0d already serves this run directory',
  NOT_SUPPORTED: 'The operation is not available on this host or for this domain (yet)',
  GUEST_FILE: 'A kernel, ramdisk or disk file the config names is missing or unreadable',
  // host
  NO_SPACE: 'A file system dom0 writes to is full (or over quota)',
  HOST_RESOURCES: 'The host ran out of file descriptors, processes or memory for the moment',
  UNSAFE_PATH: 'A directory dom0 uses is a symlink, owned by another user or writable by others',
  PATH_HUNG: 'A file system a path is on did not answer in time (an NFS server gone, a FUSE server that stopped answering)',
  // xenstore
  XS_JOURNAL: 'A xenstore change could not be made durable (state directory full or failing); it was refused',
  // devices (hotplug)
  DEVICE_EXISTS: 'The domain already has a device of that kind and id (vdev, devid)',
  DEVICE_NOT_FOUND: 'The domain has no such device',
  DEVICE_TIMEOUT: 'The guest did not release a device in time',
  DISK_IMAGE: 'A disk image does not match its spec (format), cannot be read, or is in use by another domain',
  DISK_SCRIPT: 'A disk\'s block hotplug script (script=) is missing, failed, or named no block device',
  // network
  NETWORK: 'The host side of a vif could not be made: its bridge, tap, hotplug script or dom0\'s NAT network',
  // memory
  MEMORY: 'A memory size is invalid, or outside what the domain or its machine allows',
  // save / restore
  SAVE_FILE: 'A save file is not one dom0 can restore (magic, byte order, flags, truncated), or could not be written',
  MIGRATION: 'The migration channel failed: the receiver did not answer as xl does, or the stream broke',
  MACHINE_GONE: 'The domain\'s QEMU exited while an operation on it was under way (a crash: its on_crash applies)',
  // vCPUs
  VCPU: 'A vCPU number, count or CPU affinity is outside what the domain or the host allows, or the machine refused it',
  // schedulers and CPU pools
  SCHED: 'A scheduler parameter is outside what Xen allows, or the domain\'s pool runs another scheduler',
  CPUPOOL: 'No such CPU pool, or the change breaks a pool rule (a CPU in one pool only, no domains in a pool destroyed, CPU 0 stays in Pool-0)',
  CGROUP: 'The host\'s cpu/cpuset cgroups cannot be used (no such controller, or the kernel refused a write)',
  // PCI and USB passthrough
  PCI_DEVICE: 'A host PCI device cannot be passed through: no such device, no IOMMU, not bound to vfio-pci (pci-assignable-add), or held by another domain',
  USB_DEVICE: 'A host USB device cannot be passed through: no such device, a hub, or held by another domain',
  // the API over TCP
  API_AUTH: 'An API request over TCP without the right bearer token',
  API_ORIGIN: 'A state-changing API request from a web page of another origin',
  API_LIMIT: 'An API request over a limit (body size)',
  CONSOLE_BUSY: 'A domain has as many console sessions attached as dom0d serves (xl console, web consoles, console/tty)',
  // cli
  INTERRUPTED: 'The command was stopped by a signal (Ctrl-C, SIGTERM, SIGHUP) and undid what it had begun',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
