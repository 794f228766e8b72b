import { absentDetach, VSND } from '../absent-device.js';

/** `xl vsnd-detach`: see `absentDetach` (this host has no vsnd back-end). */
export const vsndDetachCommand = absentDetach(VSND);
