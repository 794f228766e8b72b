// The config area's public surface: xl.cfg grammar, spec strings, DomainConfig, legacy configs.
export type { CfgAtom, CfgDocument, CfgList, CfgSetting, CfgValue } from './cfg/types.js';
export { defboolJson, libxlJson, libxlStruct, yajlString } from './libxl-json.js';
export type { LibxlField, LibxlFieldKind, LibxlJsonObject, LibxlJsonValue } from './libxl-json.js';
export { diskToJson, parseDiskSpec } from './spec/disk.js';
export type { DiskBackend, DiskDevice, DiskFormat, DiskParseOptions, DiskSpecification, DiskTransport } from './spec/disk.js';
export { formatMac, newNic, nicToJson, parseVifArgs, parseVifRate, parseVifSpec } from './spec/vif.js';
export type { NicDevice, NicType, VifDefaults, VifParseOptions, VifRate, VifSpecResult } from './spec/vif.js';
