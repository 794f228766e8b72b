/**
 * Graphics: the emulated VGA (HVM) or the framebuffer of a PV/PVH `vfb`, VNC, SDL, the keymap
 * and input devices. QEMU never opens a window unless SDL is asked for (`-display none`); VNC
 * listens where the config says (127.0.0.1 by default) on display `vncdisplay` or the runtime's,
 * and with `vncunused` (the default) QEMU takes the first free display up to 99 (`to=99`): the
 * domain layer reads the port back with QMP `query-vnc`. A VNC password is set over QMP
 * (`change-vnc-password`) after start; the argv only says `password=on`.
 */
import { own } from '../../common/index.js';
import { hostLacks, invalid, opts, unsupported } from './options.js';
import type { Argv } from './options.js';
import type { Guest, HvmInfo } from './guest.js';
import { num } from './guest.js';
import type { QdevWiring } from './passthrough.js';
import type { DomainRuntime } from './types.js';
import type { VkbDevice } from '../../config/index.js';

type SdlInfo = NonNullable<HvmInfo['sdl']>;

/** The display settings in force: HVM's own, or the (single) vfb of a PV/PVH guest. */
interface Screen {
  readonly vnc: NonNullable<HvmInfo['vnc']>;
  readonly sdl: SdlInfo;
  readonly keymap: string | undefined;
  /** The emulated adapter (`-device` type), or none. */
  readonly adapter: string | undefined;
  readonly videoMiB: number | undefined;
  readonly vncOn: boolean;
  readonly sdlOn: boolean;
}

const VGA_DEVICES: Readonly<Record<string, string | undefined>> = { cirrus: 'cirrus-vga', std: 'VGA', qxl: 'qxl-vga', none: undefined };
const VGA_NAMES: Readonly<Record<string, string>> = { cirrus: 'cirrus', std: 'stdvga', qxl: 'qxl', none: 'none' };
/** libxl's minimum video RAM per adapter (MiB), also the default. */
const MIN_VIDEO_MIB: Readonly<Record<string, number>> = { 'cirrus-vga': 8, 'VGA': 16, 'qxl-vga': 128 };

function screenOf(g: Guest): Screen | undefined {
  const videoKb = num(g.b.video_memkb);
  const videoMiB = videoKb === undefined ? undefined : Math.ceil(videoKb / 1024);
  if (g.type === 'hvm') {
    const h = g.hvm;
    const vnc = h.vnc ?? {};
    const sdl = h.sdl ?? {};
    const kind = h.vga?.kind ?? 'cirrus';
    return {
      vnc, sdl, keymap: h.keymap, adapter: own(VGA_DEVICES, kind), videoMiB,
      vncOn: vnc.enable ?? h.nographic !== true,
      sdlOn: sdl.enable === true,
    };
  }
  const vfbs = g.config.vfbs ?? [];
  if (vfbs.length > 1) throw unsupported('vfb', vfbs.length, 'dom0 gives a guest one framebuffer', 'keep one vfb entry');
  const vfb = vfbs[0];
  if (vfb === undefined) return undefined;
  const vnc = vfb.vnc ?? {};
  const sdl = vfb.sdl ?? {};
  return { vnc, sdl, keymap: vfb.keymap, adapter: 'VGA', videoMiB, vncOn: vnc.enable ?? true, sdlOn: sdl.enable === true };
}

/** The X display SDL would use: the config's `display=`, else dom0d's own. */
function sdlDisplay(sdl: SdlInfo, rt: DomainRuntime): string | undefined {
  return sdl.display ?? rt.hostDisplay;
}

/** Environment QEMU needs for the config's display (DISPLAY/XAUTHORITY for SDL); pure. */
export function displayEnvironment(g: Guest, rt: DomainRuntime): Record<string, string> {
  const s = screenOf(g);
  if (s === undefined || !s.sdlOn) return {};
  const display = sdlDisplay(s.sdl, rt);
  return {
    ...(display === undefined ? {} : { DISPLAY: display }),
    ...(s.sdl.xauthority === undefined ? {} : { XAUTHORITY: s.sdl.xauthority }),
  };
}

/** A host name or an IPv4 address, then an optional `:DISPLAY`. */
const VNC_HOST = /^([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d+))?$/;
/** An IPv6 address in brackets, then an optional `:DISPLAY`. */
const VNC_BRACKETED_IPV6 = /^(\[[0-9A-Fa-f.]*(?::[0-9A-Fa-f.]*){2,}\])(?::(\d+))?$/;
/** A bare IPv6 address (two colons or more), which takes no display. */
const VNC_BARE_IPV6 = /^[0-9A-Fa-f.]*(?::[0-9A-Fa-f.]*){2,}$/;

/**
 * `vnclisten` is `ADDRESS[:DISPLAY]`: a host name, an IPv4 address or an IPv6 one in brackets; a
 * bare IPv6 address takes no display and is bracketed here. It is the head of `-vnc`, where
 * QEMU's `,,` escape cannot help (a `=` would name an option), so any other text is refused
 * rather than passed: `,websocket=...` after the address would open a second listener.
 */
function vncListen(listen: string): { host: string; display: number | undefined } {
  if (VNC_BARE_IPV6.test(listen)) return { host: `[${listen}]`, display: undefined };
  const m = VNC_HOST.exec(listen) ?? VNC_BRACKETED_IPV6.exec(listen);
  // QEMU reads `unix:` at the head of -vnc as a Unix socket path (`unix:0`: a socket `0` in its working directory).
  if (m?.[1] === 'unix') throw invalid('vnclisten', listen, 'QEMU would take "unix:" for a Unix socket path, not a host name', 'give an address, e.g. vnclisten="127.0.0.1"');
  if (m === null) {
    throw invalid('vnclisten', listen, 'not an address with an optional display number (ADDRESS[:DISPLAY])',
      'e.g. vnclisten="127.0.0.1", "0.0.0.0:1" or "[::1]:1"');
  }
  return { host: m[1] as string, display: m[2] === undefined ? undefined : Number(m[2]) };
}

/** `-k` names a file in QEMU's keymaps directory: a plain name, never a path. */
const KEYMAP = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

function keymapArg(keymap: string): string {
  if (!KEYMAP.test(keymap)) throw invalid('keymap', keymap, 'not a keymap name', 'a QEMU keymap, e.g. keymap="en-us", "de" or "fr-ch"');
  return keymap;
}

/** Whether the guest gets a VNC server (HVM unless vnc=0 or nographic=1; PV/PVH with a vfb unless its vnc=0). */
export function hasVnc(g: Guest): boolean {
  return screenOf(g)?.vncOn === true;
}

export function display(a: Argv, g: Guest): void {
  const s = screenOf(g);
  const rt = a.env.runtime;
  if (s?.sdlOn === true) {
    const key = g.type === 'hvm' ? 'sdl' : 'vfb';
    const value = g.type === 'hvm' ? 1 : 'sdl=1';
    if (sdlDisplay(s.sdl, rt) === undefined) {
      throw hostLacks(key, value, 'an X display, and DISPLAY is not set for dom0', 'use VNC (vnc=1, the default; xl vncviewer), or give display=":0"');
    }
    const displays = a.env.caps.displays;
    if (displays !== undefined && !displays.includes('sdl')) {
      throw hostLacks(key, value, `QEMU's SDL display, which ${a.env.caps.binary} lacks`, 'apt-get install qemu-system-gui, or use VNC');
    }
    a.push('-display', opts('sdl', { gl: s.sdl.opengl === true ? true : undefined }));
  } else {
    a.push('-display', 'none');
  }
  if (s?.vncOn === true) {
    const { host, display: listenDisplay } = vncListen(s.vnc.listen ?? '127.0.0.1');
    const fixed = rt.vncDisplay;
    const disp = fixed ?? listenDisplay ?? num(s.vnc.display) ?? 0;
    const findUnused = fixed === undefined && s.vnc.findunused !== false;
    a.push('-vnc', opts(`${host}:${disp}`, {
      to: findUnused ? 99 : undefined,
      password: (s.vnc.passwd ?? '') !== '' ? true : undefined,
    }));
  }
  if (s !== undefined && (s.vncOn || s.sdlOn) && s.keymap !== undefined) a.push('-k', keymapArg(s.keymap));
  adapter(a, g, s);
  input(a, g);
}

function adapter(a: Argv, g: Guest, s: Screen | undefined): void {
  const dev = s?.adapter;
  if (dev === undefined) return;
  const min = MIN_VIDEO_MIB[dev] ?? 0;
  const mib = Math.max(min, s?.videoMiB ?? min);
  const key = g.type === 'hvm' ? 'vga' : 'vfb';
  const value = g.type === 'hvm' ? VGA_NAMES[g.hvm.vga?.kind ?? 'cirrus'] ?? 'cirrus' : 'vnc=1';
  if (dev === 'cirrus-vga') {
    if (mib !== 8 && mib !== 16) throw unsupported('videoram', mib, "QEMU's Cirrus adapter has 8 or 16 MiB", 'videoram=8 or 16, or vga="stdvga" for more');
    a.device(dev, { id: 'video0', vgamem_mb: mib }, key, value);
  } else if (dev === 'qxl-vga') {
    a.device(dev, { id: 'video0', ram_size_mb: Math.floor(mib / 2), vram_size_mb: Math.floor(mib / 2) }, key, value);
  } else {
    a.device(dev, { id: 'video0', vgamem_mb: mib }, key, value);
  }
}

/** Whether a `vkb=` device is a QEMU device: one without a backend type is the vkb libxl adds for a vfb (whose own pair stands for it). */
export function vkbHasDevice(vkb: VkbDevice): boolean {
  return (vkb.backend_type ?? 'unknown') !== 'unknown';
}

/** The QEMU id of vkb `devid` (`vkb=`, `xl vkb-attach`). */
export function vkbQdevId(devid: number): string {
  return `vkb${devid}`;
}

/**
 * A `vkb=` device (Xen's PV keyboard and pointer) as one virtio input device, at boot and for
 * hot-plug: the keyboard, or with `feature-disable-keyboard=1` the pointer alone (a tablet with
 * `feature-abs-pointer=1`, else a mouse). Multi-touch has no virtio device in this QEMU.
 */
export function vkbWiring(vkb: VkbDevice, index = 0): QdevWiring {
  const devid = vkb.devid !== undefined && vkb.devid >= 0 ? vkb.devid : index;
  const key = `devid=${devid}`;
  if (vkb.feature_multi_touch === true) throw unsupported('vkb', key, 'QEMU has no virtio multi-touch device here', 'remove feature-multi-touch and its sizes');
  if (vkb.feature_disable_keyboard !== true) return { driver: 'virtio-keyboard-pci', id: vkbQdevId(devid) };
  if (vkb.feature_disable_pointer === true) throw unsupported('vkb', key, 'it disables both the keyboard and the pointer', 'leave one of them on');
  return { driver: vkb.feature_abs_pointer === true ? 'virtio-tablet-pci' : 'virtio-mouse-pci', id: vkbQdevId(devid) };
}

/**
 * Keyboard and pointer: a PV/PVH vfb's implicit pair (virtio keyboard and tablet; the vkb libxl
 * adds for a vfb has no backend type), and each `vkb=` device (`vkbWiring`; xl requires its
 * backend type), for any guest type.
 */
function input(a: Argv, g: Guest): void {
  if (g.type !== 'hvm' && (g.config.vfbs?.length ?? 0) > 0) {
    a.device('virtio-keyboard-pci', { id: 'vkbd0' }, 'vfb', 'vnc=1');
    a.device('virtio-tablet-pci', { id: 'vtablet0' }, 'vfb', 'vnc=1');
  }
  (g.config.vkbs ?? []).forEach((vkb, i) => {
    if (!vkbHasDevice(vkb)) return;
    const { driver, ...props } = vkbWiring(vkb, i);
    a.device(driver, props, 'vkb', `devid=${vkb.devid ?? i}`);
  });
}
