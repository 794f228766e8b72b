import { absentList, VDISPL } from '../absent-device.js';

/** `xl vdispl-list`: see `absentList` (this host has no vdispl back-end). */
export const vdisplListCommand = absentList(VDISPL);
