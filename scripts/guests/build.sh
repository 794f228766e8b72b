#!/usr/bin/env bash
# Builds the project's test guests from Debian packages only, into a cache, and prints their paths.
#
#   bash scripts/guests/build.sh [--quiet]
#
# Cache: ${DOM0_GUEST_DIR:-/var/cache/dom0/guests}. One directory per build key (a hash of the
# package versions used and of every file under scripts/guests/); an existing build is reused.
# `latest.json` in the cache names the newest build's manifest; Node code reads it through
# `test/support/guests.ts`.
#
# Outputs (in $DOM0_GUEST_DIR/<key>/, listed by manifest.json):
#   vmlinuz         Debian's cloud kernel (linux-image-cloud-amd64's kernel package), bzImage
#   vmlinux         the same kernel uncompressed (ELF with a PVH entry note: `type="pvh"`)
#   initrd.img      busybox-static initramfs whose /init is scripts/guests/init.sh
#   disk.img        raw BIOS-bootable disk: FAT (no partition table), SYSLINUX, the kernel + initrd
#   cdrom.iso       El Torito ISO (ISOLINUX, isohybrid MBR), the kernel + initrd
#   installer.iso   the same with disk.img on it and `dom0.install=disk.img` on the command line:
#                   it writes disk.img over the guest's first hard disk and powers off
# The disk and the ISO boot with the command line in manifest.json `hvmCmdline` (serial console
# ttyS0, VGA tty0); `pvCmdline` is the one for direct kernel boot with the console on hvc0.
# The guest's contract is in scripts/guests/init.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DOM0_GUEST_DIR:-/var/cache/dom0/guests}
script_args=("$@")
quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
say() { [ "$quiet" = 1 ] || echo "guests: $*" >&2; }
die() { echo "guests: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb dpkg-query modinfo cpio gzip lz4 mformat mcopy syslinux xorriso flock sha256sum as ld; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (run scripts/setup.sh)"
done
syslinux_bios=/usr/lib/syslinux/modules/bios
isolinux_dir=/usr/lib/ISOLINUX
[ -f "$syslinux_bios/ldlinux.c32" ] || die "$syslinux_bios/ldlinux.c32 is missing (package syslinux-common)"
[ -f "$isolinux_dir/isolinux.bin" ] || die "$isolinux_dir/isolinux.bin is missing (package isolinux)"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

print_paths() { # print_paths DIR
  [ "$quiet" = 1 ] && return 0
  local f
  for f in vmlinuz:vmlinuz vmlinux:vmlinux initrd:initrd.img disk:disk.img cdrom:cdrom.iso installer:installer.iso manifest:manifest.json; do
    printf '%-9s %s\n' "${f%%:*}" "$1/${f#*:}"
  done
}

# Fast path: nothing that decides the build key changed since the last run (apt's lists, the
# installed packages, these scripts), so the build named in latest.json is still the one.
scripts_hash=$(cd "$here" && find . -type f ! -name '*~' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
stamp="$scripts_hash $(stat -c %Y /var/lib/apt/lists /var/lib/dpkg/status | tr '\n' ' ')"
if [ -f "$cache/latest.json" ] && [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$stamp" ]; then
  manifest=$(sed -n 's/.*"manifest":"\([^"]*\)".*/\1/p' "$cache/latest.json")
  if [ -f "$manifest" ]; then
    say "cached build $(basename "$(dirname "$manifest")")"
    print_paths "$(dirname "$manifest")"
    exit 0
  fi
fi

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }'; }
installed() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
if [ -z "$(candidate linux-image-cloud-amd64)" ] || [ "$(candidate linux-image-cloud-amd64)" = "(none)" ]; then
  say "apt lists are empty: apt-get update"
  apt-get update -qq
fi
kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
[ -n "$kpkg" ] || die "cannot resolve the kernel package of linux-image-cloud-amd64"
kver_pkg=$(candidate "$kpkg")
bb_ver=$(candidate busybox-static)
[ -n "$bb_ver" ] && [ "$bb_ver" != "(none)" ] || die "busybox-static is not available from apt"

key_input=$(
  echo "kernel $kpkg $kver_pkg"
  echo "busybox-static $bb_ver"
  for p in syslinux syslinux-common isolinux mtools xorriso; do echo "$p $(installed "$p")"; done
  echo "scripts $scripts_hash"
)
key=$(printf '%s\n' "$key_input" | sha256sum | cut -c1-16)
out="$cache/$key"

write_latest() {
  printf '{"key":"%s","manifest":"%s"}\n' "$key" "$out/manifest.json" >"$cache/latest.json.tmp"
  mv -f "$cache/latest.json.tmp" "$cache/latest.json"
  echo "$stamp" >"$cache/stamp"
}

if [ -f "$out/manifest.json" ]; then
  write_latest
  say "cached build $key"
  print_paths "$out"
  exit 0
fi

start=$(date +%s%N)
work=$(mktemp -d "$cache/.build-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Packages: downloaded (never installed) into $cache/debs, kept for later builds.
debs="$cache/debs"
mkdir -p "$debs"
cached_deb() { # cached_deb PKG VERSION -> the .deb of that version in $debs, if any
  find "$debs" -maxdepth 1 -name "${1}_*.deb" | while read -r d; do
    [ "$(dpkg-deb -f "$d" Version)" = "$2" ] && echo "$d"; done | head -n1
}
fetch() { # fetch PKG VERSION -> prints the .deb path
  local f
  f=$(cached_deb "$1" "$2")
  if [ -z "$f" ]; then
    (cd "$debs" && apt-get download -q "$1=$2" >/dev/null 2>"$work/apt.err") || return 1
    f=$(cached_deb "$1" "$2")
  fi
  [ -n "$f" ] || return 1
  echo "$f"
}
# Stale apt lists name versions the mirror no longer has: refresh them and start over, once.
retry_after_update() {
  if [ -n "${DOM0_GUESTS_RETRY:-}" ]; then
    cat "$work/apt.err" >&2 2>/dev/null || true
    die "apt-get download failed"
  fi
  say "apt-get download failed: apt-get update, then once more"
  apt-get update -qq
  rm -rf "$work"
  trap - EXIT
  exec 9>&-
  DOM0_GUESTS_RETRY=1 exec bash "$here/build.sh" "${script_args[@]}"
}
kdeb=$(fetch "$kpkg" "$kver_pkg") || retry_after_update
bbdeb=$(fetch busybox-static "$bb_ver") || retry_after_update
say "kernel $kpkg $kver_pkg, busybox-static $bb_ver"

# Kernel and the modules the guest loads (with their dependencies, in load order).
mkdir -p "$work/k"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work/k" --wildcards './boot/vmlinuz-*' './lib/modules/*/kernel/*'
kver=$(ls "$work/k/lib/modules")
kmods="$work/k/lib/modules/$kver"
cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"

# The uncompressed ELF vmlinux (for PVH boot: QEMU -kernel enters it at its Xen PVH note), from
# the bzImage payload (boot protocol: setup_sects at 0x1f1, payload_offset/length at 0x248).
le32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
setup_sects=$(od -An -t u1 -j $((0x1f1)) -N 1 "$work/vmlinuz" | tr -d ' ')
[ "$setup_sects" = 0 ] && setup_sects=4
payload=$(( (setup_sects + 1) * 512 + $(le32 "$work/vmlinuz" $((0x248))) ))
payload_len=$(le32 "$work/vmlinuz" $((0x24c)))
magic=$(od -An -t x1 -j "$payload" -N 4 "$work/vmlinuz" | tr -d ' ')
case "$magic" in
  02214c18) unpack="lz4 -dc" ;;
  1f8b*) unpack="gzip -dc" ;;
  fd377a58) unpack="xz -dc" ;;
  28b52ffd) unpack="zstd -dc" ;;
  *) die "unknown kernel payload compression (magic $magic)" ;;
esac
# The payload ends with the uncompressed size, which some decompressors call trailing garbage.
tail -c +$((payload + 1)) "$work/vmlinuz" | head -c "$payload_len" | $unpack >"$work/vmlinux" 2>/dev/null || true
[ "$(od -An -t x1 -N 4 "$work/vmlinux" | tr -d ' ')" = 7f454c46 ] || die "extracting vmlinux ($unpack) failed"

root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,etc/acpi/PWRF,var/log,lib/modules}
dpkg-deb --fsys-tarfile "$bbdeb" | tar -x -O ./bin/busybox >"$root/bin/busybox"
chmod 755 "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done

# Per group, the modules with their dependencies in load order: /etc/modules.GROUP, one file
# name a line (a module shared by two groups is in both; loading it twice is harmless).
modfile() { find "$kmods/kernel" -name "$1.ko" -o -name "${1//_/-}.ko" | head -n1; }
add_module() { # add_module GROUP NAME: depth-first, dependencies before the module
  local group=$1 name=${2//-/_} f dep
  [ -n "${seen[$name]:-}" ] && return 0
  seen[$name]=1
  f=$(modfile "$name")
  [ -n "$f" ] || return 0   # built into this kernel
  for dep in $(modinfo -F depends "$f" | tr ',' ' '); do add_module "$group" "$dep"; done
  cp -n "$f" "$root/lib/modules/"
  basename "$f" >>"$root/etc/modules.$group"
}
for group in $(awk '!/^#/ && NF { print $1 }' "$here/modules.list" | uniq); do
  declare -A seen=()
  : >"$root/etc/modules.$group"
  for m in $(awk -v g="$group" '$1 == g { print $2 }' "$here/modules.list"); do add_module "$group" "$m"; done
  unset seen
done

install -m 755 "$here/init.sh" "$root/init"
as --64 -o "$work/debugport.o" "$here/debugport.S"
ld -static -s -o "$root/bin/debugport" "$work/debugport.o"
echo "PWRF PWRF/00000080" >"$root/etc/acpid.conf"
install -m 755 "$here/power-button.sh" "$root/etc/acpi/PWRF/00000080"
mknod "$root/dev/console" c 5 1 2>/dev/null || true
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -n -6) >"$work/initrd.img"

# Kernel command lines: `quiet` and `cryptomgr.notests` (no crypto self-tests) take about a
# third off a TCG boot; `panic=-1` makes a panic reset (QEMU -no-reboot then exits).
hvm_cmdline="console=tty0 console=ttyS0 panic=-1 no_timer_check quiet cryptomgr.notests"
pv_cmdline="console=hvc0 panic=-1 no_timer_check quiet cryptomgr.notests"

# BIOS disk: one FAT volume over the whole disk ("superfloppy"); SYSLINUX's boot sector is sector 0.
cat >"$work/syslinux.cfg" <<CFG
DEFAULT dom0
PROMPT 0
TIMEOUT 0
LABEL dom0
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND $hvm_cmdline
CFG
kib=$(( ( $(stat -c %s "$work/vmlinuz") + $(stat -c %s "$work/initrd.img") ) / 1024 + 4096 ))
mib=$(( (kib + 1023) / 1024 ))
truncate -s "${mib}M" "$work/disk.img"
mformat -i "$work/disk.img" -T $((mib * 2048)) -h 64 -s 32 -v DOM0GUEST ::
syslinux --install "$work/disk.img"
mcopy -i "$work/disk.img" "$work/vmlinuz" "$work/initrd.img" "$work/syslinux.cfg" ::

# ISO: ISOLINUX (El Torito, no emulation), also bootable as a disk through the isohybrid MBR.
iso="$work/iso"
mkdir -p "$iso/isolinux"
cp "$isolinux_dir/isolinux.bin" "$syslinux_bios/ldlinux.c32" "$iso/isolinux/"
cp "$work/syslinux.cfg" "$iso/isolinux/isolinux.cfg"
cp "$work/vmlinuz" "$work/initrd.img" "$iso/"
xorriso -as mkisofs -quiet -o "$work/cdrom.iso" -V DOM0GUEST -J -r \
  -isohybrid-mbr "$isolinux_dir/isohdpfx.bin" \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  "$iso" 2>"$work/xorriso.err" || { cat "$work/xorriso.err" >&2; die "xorriso failed"; }

# Installer ISO: the ISO's boot files, the disk image to install, and the installer's command line.
cp -r "$iso" "$work/installer"
cp "$work/disk.img" "$work/installer/"
sed -i "s|APPEND .*|APPEND $hvm_cmdline dom0.install=disk.img|" "$work/installer/isolinux/isolinux.cfg"
xorriso -as mkisofs -quiet -o "$work/installer.iso" -V DOM0INSTALL -J -r \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  "$work/installer" 2>"$work/xorriso.err" || { cat "$work/xorriso.err" >&2; die "xorriso failed"; }

mkdir -p "$work/out"
mv "$work/vmlinuz" "$work/vmlinux" "$work/initrd.img" "$work/disk.img" "$work/cdrom.iso" "$work/installer.iso" "$work/out/"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat >"$work/out/manifest.json" <<JSON
{
  "key": "$key",
  "dir": "$out",
  "kernelPackage": "$kpkg",
  "kernelPackageVersion": "$kver_pkg",
  "kernelRelease": "$kver",
  "busyboxVersion": "$bb_ver",
  "vmlinuz": "$out/vmlinuz",
  "vmlinux": "$out/vmlinux",
  "initrd": "$out/initrd.img",
  "disk": "$out/disk.img",
  "cdrom": "$out/cdrom.iso",
  "installer": "$out/installer.iso",
  "hvmCmdline": "$hvm_cmdline",
  "pvCmdline": "$pv_cmdline",
  "readyLine": "DOM0-GUEST-READY",
  "prompt": "dom0-guest# ",
  "buildMs": $ms
}
JSON
rm -rf "$out"
mv "$work/out" "$out"
write_latest
# Older builds go: only the newest is kept (the .debs of other versions too).
for d in "$cache"/*/; do
  d=${d%/}
  [ "$d" = "$out" ] || [ "$d" = "$debs" ] || rm -rf "$d"
done
find "$debs" -maxdepth 1 -name '*.deb' ! -path "$kdeb" ! -path "$bbdeb" -delete
say "built $key in ${ms} ms"
print_paths "$out"
