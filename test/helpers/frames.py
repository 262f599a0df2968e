#!/usr/bin/env python3
"""Numbered test frames for the migration suite: a sender at a fixed rate, and a counter of the frames each
interface of a network namespace transmits.

  frames.py send IFACE DST_MAC RATE      send numbered frames until SIGTERM
  frames.py count MAC OUT               until SIGTERM, then write to OUT {"frames": {"IFACE": [[seq, ms], ...]},
                                        the numbered frames each interface sent out and when, "announces":
                                        {"IFACE": ms}, when a RARP frame from MAC (QEMU announcing a migrated
                                        guest) first came in}; times are the kernel's (SO_TIMESTAMPNS), not when
                                        this process got round to reading them

The counter's socket is bound to no interface, so it sees taps that appear later (a migration's destination);
only an ETH_P_ALL packet socket is shown outgoing frames (PACKET_OUTGOING). The counter writes JSON to a file: its
standard output belongs to whoever started it.
"""
import json
import os
import signal
import socket
import struct
import sys
import time

ETHERTYPE = 0x88B5  # IEEE local experimental
MAGIC = b"MTSQ"
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35

stop = False


def on_term(_signum, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def write(path, value):
    with open(path + ".tmp", "w") as out:
        json.dump(value, out)
    os.rename(path + ".tmp", path)


def send(iface, dst, rate):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    src = sock.getsockname()[4]  # the interface's own MAC
    header = mac_bytes(dst) + src + struct.pack("!H", ETHERTYPE) + MAGIC
    start = time.monotonic()
    seq = 0
    while not stop:
        # Paced by the clock, not by sleeps added up: a late wake-up sends the frames it owes.
        due = start + seq / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
            continue
        sock.send(header + struct.pack("!I", seq) + bytes(40))
        seq += 1


def count(mac, path):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # A large buffer (a busy machine may not read for a while) and the kernel's own time of each frame.
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.settimeout(0.2)
    guest = mac_bytes(mac)
    seen = {}
    announces = {}
    print("ready", file=sys.stderr, flush=True)
    while not stop:
        try:
            data, ancillary, _flags, address = sock.recvmsg(2048, 64)
        except (socket.timeout, InterruptedError):
            continue
        at = time.time() * 1000
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("qq", value[:16])
                at = seconds * 1000 + nanoseconds / 1e6
        ifname, pkttype = address[0], address[2]
        if data[12:14] == b"\x80\x35" and data[6:12] == guest and pkttype != PACKET_OUTGOING:
            announces.setdefault(ifname, round(at, 2))
        if pkttype != PACKET_OUTGOING or len(data) < 22 or data[12:14] != b"\x88\xb5" or data[14:18] != MAGIC:
            continue
        seen.setdefault(ifname, []).append([struct.unpack("!I", data[18:22])[0], round(at, 2)])
    write(path, {"frames": seen, "announces": announces})


if __name__ == "__main__":
    if sys.argv[1:2] == ["send"] and len(sys.argv) == 5:
        send(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif sys.argv[1:2] == ["count"] and len(sys.argv) == 4:
        count(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
