import { absentList, VSND } from '../absent-device.js';

/** `xl vsnd-list`: see `absentList` (this host has no vsnd back-end). */
export const vsndListCommand = absentList(VSND);
