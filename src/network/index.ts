export { HostNetwork } from './host-network.js';
export { isDnsmasqLog } from './nat.js';
export type { DomainVifs, HostNetworkOptions } from './host-network.js';
