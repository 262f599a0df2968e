#!/bin/sh
# Build mactable on this host. (Installing it as libvirt's hook comes with the install issue.)
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
echo "built dist/mactable.mjs; try: node dist/mactable.mjs plan /run/libvirt/qemu/GUEST.xml"
