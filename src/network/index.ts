export { HostNetwork } from './host-network.js';
export type { DomainVifs, HostNetworkOptions } from './host-network.js';
