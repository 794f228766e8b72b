// The config area's public surface: xl.cfg grammar, spec strings, DomainConfig, legacy configs.
export type { CfgDocument } from './cfg/types.js';
export { parseCfg, parseCfgText } from './cfg/parser.js';
export { readCfgFile, withExtraConfig } from './cfg/read.js';
export { strerror } from '../common/index.js';
export { cfgString } from './cfg/access.js';
export { formatRawCfgSettings, rawCfgSettings } from './cfg/raw.js';
export type { RawCfgSetting, RawCfgValue } from './cfg/raw.js';
export { evaluateLegacyConfig } from './legacy/index.js';
export { libxlJson } from './libxl-json.js';
export type { LibxlJsonObject } from './libxl-json.js';
export { parseDiskSpec } from './spec/disk.js';
export { cpuBitmapBits, formatCpuMap, parseCpuList } from './spec/cpulist.js';
export { vdevNumber } from './spec/vdev.js';
export { parseVifArgs } from './spec/vif.js';
export type { VifDefaults } from './spec/vif.js';
export {
  domainConfigText, domainConfigToLibxlObject, loadDomainConfig, partialConfigText, resolveDomainConfig,
} from './domain-config/resolve.js';
export { DEVICE_DISK, DEVICE_NIC, DEVICE_PCI, DEVICE_USBCTRL, DEVICE_USBDEV, DEVICE_VKB, DOMAIN_CONFIG } from './domain-config/domain-config.js';
export type { DiskDevice, DomainConfig, NicDevice, PciDevice, UsbctrlDevice, UsbdevDevice, VkbDevice } from './domain-config/domain-config.js';
export { idlFromJson, idlToJson } from './domain-config/idl-json.js';
export { idlJsonSchemas } from './domain-config/idl-schema.js';
export type { JsonSchema } from './domain-config/idl-schema.js';
export type { GuestType } from './domain-config/context.js';
export { OPTIONS as XL_CFG_OPTIONS } from './domain-config/options.js';
export { readOtherConfig, readXlConf, xlConfFromDoc } from './xlconf.js';
export type { XlConf } from './xlconf.js';
export { cpupoolConfig, hostCpuList } from './cpupool-cfg.js';
export type { CpupoolConfig, CpupoolHost } from './cpupool-cfg.js';
export { atoi, splitStringList, trimC, UNTERMINATED } from './spec/c-parse.js';
export { globalAffinityMask, looseRange } from './domain-config/cpus.js';
export { parseXsQuotaItem } from './spec/xsquota.js';
export { domainMemory, domainVcpus, domainVncPassword, nicWithLibxlDefaults, withAbsolutePaths, withLibxlDefaults } from './domain-config/defaults.js';
export { usbctrlWithDefaults, usbdevPlacement, usbWithDefaults, withUsbdevType } from './domain-config/usb.js';
export type { UsbController, UsbHostDevice } from './domain-config/usb.js';
export { parsePciBdf, parsePciSpec, pciAllFunctions, pciBdfText } from './spec/pci.js';
export { applyUsbctrlToken, applyUsbdevToken } from './spec/usb.js';
export { applyVkbToken, finishVkb } from './spec/vkb.js';
