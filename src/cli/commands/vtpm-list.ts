import { absentList, VTPM } from '../absent-device.js';

/** `xl vtpm-list`: see `absentList` (this host has no vtpm back-end). */
export const vtpmListCommand = absentList(VTPM);
