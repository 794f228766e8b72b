// The config area's public surface: xl.cfg grammar, spec strings, DomainConfig, legacy configs.
export type { CfgAtom, CfgDocument, CfgList, CfgSetting, CfgValue } from './cfg/types.js';
export { defboolJson, libxlJson, libxlStruct, yajlString } from './libxl-json.js';
export type { LibxlField, LibxlFieldKind, LibxlJsonObject, LibxlJsonValue } from './libxl-json.js';
