#!/usr/bin/python3
# The baseline for the reconnect storm: a qemu hook as an administrator would write it, with no mactable.
# ElementTree for the domain XML on stdin, sysfs for each bridge port's flags, one `bridge -batch` for the
# static entries.
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

name, op, subop = sys.argv[1:4]
if (op, subop) not in (("started", "begin"), ("reconnect", "begin"), ("attach", "begin")):
    sys.exit(0)
domain = ET.fromstring(sys.stdin.read())
batch = []
for nic in domain.iter("interface"):
    target, mac = nic.find("target"), nic.find("mac")
    if nic.get("type") not in ("bridge", "network") or target is None or mac is None:
        continue
    tap, address = target.get("dev"), mac.get("address")
    port = f"/sys/class/net/{tap}/brport"
    if not os.path.isdir(port):
        continue
    for flag in ("learning", "unicast_flood"):
        with open(f"{port}/{flag}", "w") as f:
            f.write("0")
    batch.append(f"fdb replace {address} dev {tap} master static\n")
if batch:
    subprocess.run(["/sbin/bridge", "-force", "-batch", "-"], input="".join(batch), text=True, check=False)
