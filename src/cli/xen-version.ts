/** The Xen release whose `xl` interface dom0 follows, as `xl info` and `xentop` name it. */
export const XEN_MAJOR = 4;
export const XEN_MINOR = 17;
export const XEN_EXTRA = '-dom0';
export const XEN_VERSION = `${XEN_MAJOR}.${XEN_MINOR}${XEN_EXTRA}`;
