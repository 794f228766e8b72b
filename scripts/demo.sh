#!/usr/bin/env bash
# Set-up, then the demo: a small VM booted by dom0's xl, `xl list`, its console, and a clean
# shutdown; then the article's configs as Xen's `xl -N create` prints them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/bin:$PATH"

manifest=$(node -e 'const c=process.env.DOM0_GUEST_DIR||"/var/cache/dom0/guests";console.log(JSON.parse(require("fs").readFileSync(c+"/latest.json","utf8")).manifest)')
field() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))[process.argv[2]])' "$manifest" "$1"; }
kernel=$(field vmlinuz)
ramdisk=$(field initrd)

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# A demo domain left from an earlier run goes first.
xl domid demo >/dev/null 2>&1 && xl destroy demo

step xl create examples/demo/demo-pv.cfg kernel=... ramdisk=...
xl create examples/demo/demo-pv.cfg "kernel=\"$kernel\"" "ramdisk=\"$ramdisk\""

step xl list
xl list

echo; echo "(waiting for the guest to boot; under TCG this takes a few seconds)"
for _ in $(seq 1 120); do
  xl console demo </dev/null 2>/dev/null | grep -q DOM0-GUEST-READY && break
  sleep 1
done

step "xl console demo   # from a pipe: the boot log so far, then the answer to 'uname -a'"
echo 'uname -a' | xl console demo | tail -n 12

step xl shutdown -w demo
xl shutdown -w demo

step xl list
xl list

# The article's configs, resolved as Xen's `xl -N create` prints them (libxl's JSON on stdout,
# xl's messages and ours on stderr).
for f in examples/article/*.cfg; do
  [ -e "$f" ] || continue
  step xl -N create "$f"
  xl -N create "$f" 2>&1 | head -n 25 || true
  echo "(...)"
done
