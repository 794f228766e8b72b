#!/bin/sh
# acpid's action for the ACPI power button (PWRF): tell the console, then power off at once.
echo DOM0-GUEST-POWEROFF >"/dev/$(cat /run/console)"
poweroff -f
