import { absentDetach, VTPM } from '../absent-device.js';

/** `xl vtpm-detach`: see `absentDetach` (this host has no vtpm back-end). */
export const vtpmDetachCommand = absentDetach(VTPM);
