// The API's public surface. `cli` and `web` reach the rest of dom0 only through here.
export type { CfgDocument, CfgSetting, CfgValue } from '../config/index.js';
export { diskToJson, libxlJson, nicToJson, parseDiskSpec, parseVifArgs } from '../config/index.js';
export type { DiskDevice, NicDevice, VifDefaults } from '../config/index.js';
