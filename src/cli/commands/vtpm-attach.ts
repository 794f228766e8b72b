import { absentAttach, VTPM } from '../absent-device.js';

/** `xl vtpm-attach`: see `absentAttach` (this host has no vtpm back-end). */
export const vtpmAttachCommand = absentAttach(VTPM);
