// The storage area: disk images and block devices on the host, as QEMU will open them, and
// Xen's block hotplug scripts that make such devices.
export { blockDeviceUse, imageIdentity, imageMagic, imagesOverlap, openFds, probeImage, processesWithImageOpen } from './image.js';
export type { ImageProbe, ImageReference } from './image.js';
export { blockScriptPath, reportedDevice, runBlockScript } from './block-script.js';
