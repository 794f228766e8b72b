#!/bin/sh
# /init of the project's test guest (busybox-static initramfs). Its contract, which tests rely on:
#
# Console: the device named by the LAST `console=` on the kernel command line (options after a
#   comma ignored; ttyS0 when there is none), e.g. `console=hvc0` (virtio-console) or
#   `console=ttyS0`. /init waits up to 60 s for that device (hvc0 appears some time after
#   virtio_console is loaded), else uses /dev/console. Every other `console=` device (e.g. tty0, the VGA screen)
#   gets the readiness line too.
# Readiness: once modules are loaded and acpid runs, the line `DOM0-GUEST-READY` is printed, then
#   the prompt `dom0-guest# `. The kernel log level is lowered to emergencies only at start, so
#   kernel messages do not interleave with the guest's lines (a panic still prints).
# Input: one command a line (the tty echoes what it receives):
#   poweroff   prints `DOM0-GUEST-POWEROFF`, powers off at once (ACPI S5)
#   reboot     prints `DOM0-GUEST-REBOOT`, resets at once
#   panic      kernel panic via sysrq (`panic=-1` + QEMU `-no-reboot` makes QEMU exit;
#              a pvpanic device reports it as GUEST_PANICKED)
#   anything else runs with `sh -c` (e.g. `echo hello`, `cat /proc/cmdline`, `ls /sys/block`).
# ACPI power button (QMP system_powerdown): acpid prints `DOM0-GUEST-POWEROFF` and powers off.
# Debug port: `debugport` copies its stdin to I/O port 0xe9 (`echo hi | debugport`).
# CPU hotplug: a CPU added to the machine is onlined at once (/sys/devices/system/cpu/online shows it).
# Installer: with `dom0.install=FILE` on the command line (the installer ISO's), after the
#   readiness line FILE (a bootable disk image on the CD) is written over the first hard disk
#   (sd*, vd*, xvd*: not removable), `DOM0-GUEST-INSTALLED` is printed and the guest powers off;
#   on failure `DOM0-GUEST-INSTALL-FAILED` and the prompt follows.
# Modules (scripts/guests/modules.list): groups `base` (button, evdev, pvpanic) and `virtio`
#   (pci, mmio, blk, net, console, balloon, rng, scsi, input: loaded on every machine so that
#   hotplugged virtio devices work) always; `ata` (ata_piix, sd_mod, sr_mod, isofs) only when
#   the machine has an IDE controller (PCI class 0x0101), as hvm guests on `pc` do.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
echo 1 >/proc/sys/kernel/printk
load() { while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done <"/etc/modules.$1"; }
load base
load virtio
for class in /sys/bus/pci/devices/*/class; do
  case "$(cat "$class")" in 0x0101*) load ata; break ;; esac
done

con=ttyS0
all=""
for word in $(cat /proc/cmdline); do
  case "$word" in
    console=*) c=${word#console=}; c=${c%%,*}; con=$c; all="$all $c" ;;
  esac
done
i=0
# hvc0 is registered asynchronously (virtio-serial's control queue, then a workqueue): on a
# loaded host that takes seconds, so wait long rather than fall back early and lose the console.
while [ ! -c "/dev/$con" ] && [ $i -lt 600 ]; do usleep 100000; i=$((i + 1)); done
# A console that cannot be opened (no such device in this machine) falls back to /dev/console:
# PID 1 must never exit.
(: <"/dev/$con") 2>/dev/null || con=console
echo "$con" >/run/console

acpid
# A CPU the machine hot-plugs (xl vcpu-set) arrives offline: it is onlined, as udev's rule does on
# a distribution; one the machine asks back is ejected by the kernel itself (ACPI).
uevent sh -c '[ "$ACTION/$SUBSYSTEM" = add/cpu ] && echo 1 >"/sys$DEVPATH/online"' >/dev/null 2>&1 &
exec </dev/"$con" >/dev/"$con" 2>&1
for c in $all; do [ "$c" = "$con" ] || echo DOM0-GUEST-READY >"/dev/$c" 2>/dev/null; done
echo DOM0-GUEST-READY

install_image=""
for word in $(cat /proc/cmdline); do
  case "$word" in dom0.install=*) install_image=${word#dom0.install=} ;; esac
done
if [ -n "$install_image" ]; then
  mkdir -p /cdrom
  for d in /dev/sr*; do mount -t iso9660 -o ro "$d" /cdrom 2>/dev/null && break; done
  target=""
  for b in /sys/block/sd* /sys/block/vd* /sys/block/xvd*; do
    [ -e "$b" ] && [ "$(cat "$b/removable")" = 0 ] && { target=${b##*/}; break; }
  done
  if [ -n "$target" ] && [ -f "/cdrom/$install_image" ] && dd if="/cdrom/$install_image" of="/dev/$target" bs=1M 2>/dev/null && sync; then
    echo "DOM0-GUEST-INSTALLED $install_image on $target"
    poweroff -f
  fi
  echo "DOM0-GUEST-INSTALL-FAILED (image '$install_image', disk '$target')"
fi

while :; do
  printf 'dom0-guest# '
  # EOF (nothing attached to the console's backend): wait and read again.
  IFS= read -r line || { sleep 1; continue; }
  case "$line" in
    poweroff) echo DOM0-GUEST-POWEROFF; poweroff -f ;;
    reboot) echo DOM0-GUEST-REBOOT; reboot -f ;;
    panic) echo c >/proc/sysrq-trigger ;;
    '') ;;
    *) sh -c "$line" ;;
  esac
done
