// The config area's public surface: xl.cfg grammar, spec strings, DomainConfig, legacy configs.
export type { CfgAtom, CfgDocument, CfgList, CfgSetting, CfgValue } from './cfg/types.js';
export { parseCfg, parseCfgText, PARSE_FAILED_TRAILER, PYTHON_WARNING } from './cfg/parser.js';
export type { CfgParseResult } from './cfg/parser.js';
export { readCfgFile, strerror, withExtraConfig } from './cfg/read.js';
export type { ReadCfgOptions } from './cfg/read.js';
export {
  cfgBool, cfgList, cfgListItem, cfgLong, cfgString, cfgStringList, cfgStringOrList, cfgValueList, cfgValueString, lastSetting, strtol0,
} from './cfg/access.js';
export type { CfgGetOptions, CfgLongOptions, CfgWarningSink } from './cfg/access.js';
export { rawCfgSettings, rawCfgValue } from './cfg/raw.js';
export type { RawCfgSetting, RawCfgValue } from './cfg/raw.js';
export { evaluateLegacyConfig } from './legacy/index.js';
export { defboolJson, libxlJson, libxlStruct, yajlString } from './libxl-json.js';
export type { LibxlField, LibxlFieldKind, LibxlJsonObject, LibxlJsonValue } from './libxl-json.js';
export { diskToJson, parseDiskSpec } from './spec/disk.js';
export type { DiskBackend, DiskDevice, DiskFormat, DiskParseOptions, DiskSpecification, DiskTransport } from './spec/disk.js';
export { formatMac, newNic, nicToJson, parseVifArgs, parseVifRate, parseVifSpec } from './spec/vif.js';
export type { NicDevice, NicType, VifDefaults, VifParseOptions, VifRate, VifSpecResult } from './spec/vif.js';
export { domainConfigToLibxlJson, domainConfigToLibxlObject, loadDomainConfig, resolveDomainConfig } from './domain/resolve.js';
export type { LoadDomainConfigOptions, ResolvedDomainConfig } from './domain/resolve.js';
export type { DomainConfig } from './domain/idl.js';
export type { GuestType, ResolveOptions } from './domain/context.js';
export { OPTIONS as XL_CFG_OPTIONS } from './domain/options.js';
export type { OptionSpec as XlCfgOption } from './domain/options.js';
export { readXlConf, XL_CONF_DEFAULTS, xlConfFromDoc } from './xlconf.js';
export type { XlConf } from './xlconf.js';
