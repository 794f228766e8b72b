export { plugVif, unplugDomainVifs, unplugVif } from './vif.js';
export type { PluggedVif } from './vif.js';
