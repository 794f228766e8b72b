#!/usr/bin/env bash
# Set-up for a fresh Debian 12 host (root, Node 20): the Debian packages dom0 runs with, the npm
# dependencies, and the build. Safe to run any number of times: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  qemu-system-x86 qemu-utils      # the engine and its image tool
  xenstore-utils                  # Xen's own xenstore-* clients (tests and users)
  iproute2 nftables dnsmasq-base  # bridges, taps, namespaces
  busybox-static cpio xorriso     # guest images built by the project
  syslinux syslinux-common isolinux mtools lz4  # boot loaders of the hvm test guests, kernel unpacking (scripts/guests)
  lvm2 kmod procps psmisc
  gdb binutils                    # guest debugging: dump-core's ELF cores, gdbsx sessions (tests); the test guest's debugport
  openssl                         # the TCP API's HTTPS test makes a self-signed certificate
  chromium                        # the web console's tests drive it headless (playwright-core)
  openssh-server openssh-client   # xl migrate over real ssh (the test starts its own sshd on a private port)
  socat                           # xl migrate-receive hands the stream to QEMU with it (without: Node copies)
  gcc libc6-dev                   # programs the tests run in guests (test/support/*.c), built static
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No package's service is started by the install (openssh-server's sshd would listen on port
  # 22): policy-rc.d answers 101, "action forbidden", for the install's duration only.
  policy=/usr/sbin/policy-rc.d ours=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$ours" ]; then rm -f "$policy"; trap - EXIT; fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node scripts/build.mjs
# Test guests from Debian packages (cached in ${DOM0_GUEST_DIR:-/var/cache/dom0/guests}).
bash scripts/guests/build.sh --quiet
