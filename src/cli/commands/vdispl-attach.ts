import { absentAttach, VDISPL } from '../absent-device.js';

/** `xl vdispl-attach`: see `absentAttach` (this host has no vdispl back-end). */
export const vdisplAttachCommand = absentAttach(VDISPL);
