import { absentAttach, VSND } from '../absent-device.js';

/** `xl vsnd-attach`: see `absentAttach` (this host has no vsnd back-end). */
export const vsndAttachCommand = absentAttach(VSND);
