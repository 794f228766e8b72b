import { absentDetach, VDISPL } from '../absent-device.js';

/** `xl vdispl-detach`: see `absentDetach` (this host has no vdispl back-end). */
export const vdisplDetachCommand = absentDetach(VDISPL);
