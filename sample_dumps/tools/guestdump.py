#!/usr/bin/env python3
"""Boot the sample guest under QEMU/TCG and dump its memory once it is ready.

    guestdump.py run  --kernel VMLINUZ --initrd INITRD --serial LOG --elf OUT
                      [--mem MIB] [--smp N] [--timeout S] [--append CMDLINE]
    guestdump.py elf-fix FILE

run: starts qemu-system-x86_64 (-accel tcg, -device vmcoreinfo, serial to a
file, a QMP socket), waits until the serial log shows LHS-DUMP-NOW (or
LHS-FAIL / a panic / the timeout), then over QMP: stop, dump-guest-memory
(ELF, paging off) and quit. Exit 0 only if the ELF was written.

elf-fix: QEMU 7.2 writes the ELF section header table at offset 64 and the
program headers behind it; makedumpfile 1.7.2 expects the program headers
directly after the 64-byte ELF header. This rewrites FILE in place so that
e_phoff = 64 (the section headers are dropped; all segment offsets are
absolute and stay valid).
"""
import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

READY = b"LHS-DUMP-NOW"
FAILED = (b"LHS-FAIL", b"Kernel panic", b"BUG: kernel NULL", b"Oops:")


def msg(text):
    print("guestdump: " + text, file=sys.stderr, flush=True)


class QMP:
    """Minimal QMP client (one command at a time, events skipped)."""

    def __init__(self, path, timeout):
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)
        self.buf = b""
        self._line(30)                      # greeting
        self.call("qmp_capabilities")

    def _line(self, timeout):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd, timeout=60, **args):
        req = {"execute": cmd}
        if args:
            req["arguments"] = args
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("QMP %s timed out" % cmd)
            reply = self._line(left)
            if "event" in reply:
                continue
            if "error" in reply:
                raise RuntimeError("QMP %s: %s" % (cmd, reply["error"]))
            return reply.get("return")


def cmd_run(a):
    tmp = tempfile.mkdtemp(prefix="lhs-qmp.")
    qmp_path = os.path.join(tmp, "qmp.sock")
    for p in (a.serial, a.elf):
        if os.path.exists(p):
            os.unlink(p)
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc",
            "-smp", str(a.smp), "-m", str(a.mem),
            "-kernel", a.kernel, "-initrd", a.initrd, "-append", a.append,
            "-device", "vmcoreinfo",
            "-display", "none", "-vga", "none", "-nodefaults",
            "-serial", "file:" + a.serial,
            "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
            "-no-reboot"]
    msg("exec: " + " ".join(argv))
    t0 = time.monotonic()
    q = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    rc = 1
    try:
        state = "timeout"
        while time.monotonic() - t0 < a.timeout:
            if q.poll() is not None:
                state = "qemu-exited-%d" % q.returncode
                break
            try:
                with open(a.serial, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                data = b""
            if READY in data:
                state = "ready"
                break
            bad = [m for m in FAILED if m in data]
            if bad:
                state = "guest-failed(%s)" % bad[0].decode()
                break
            time.sleep(0.25)
        t_ready = time.monotonic() - t0
        msg("guest state %s after %.1f s" % (state, t_ready))
        if state != "ready":
            return 3
        time.sleep(0.5)                     # let the console drain
        qmp = QMP(qmp_path, 30)
        qmp.call("stop")
        t1 = time.monotonic()
        qmp.call("dump-guest-memory", timeout=600, paging=False,
                 protocol="file:" + os.path.abspath(a.elf))
        msg("dump-guest-memory: %d bytes in %.1f s" %
            (os.path.getsize(a.elf), time.monotonic() - t1))
        try:
            qmp.call("quit", timeout=10)
        except (OSError, TimeoutError, ValueError):
            pass
        rc = 0
    finally:
        if rc != 0 and q.poll() is None:
            q.kill()
        try:
            q.wait(timeout=20)
        except subprocess.TimeoutExpired:
            q.kill()
            q.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        msg("qemu done after %.1f s" % (time.monotonic() - t0))
    return rc


def cmd_elf_fix(a):
    with open(a.file, "r+b") as f:
        hdr = bytearray(f.read(64))
        if hdr[:4] != b"\x7fELF" or hdr[4] != 2 or hdr[5] != 1:
            sys.exit("elf-fix: %s is not a little-endian ELF64 file" % a.file)
        phoff, shoff = struct.unpack_from("<QQ", hdr, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", hdr, 0x36)
        if phoff == 64:
            msg("elf-fix: program headers already at 64")
            return 0
        if phnum == 0xFFFF:
            sys.exit("elf-fix: more than 65534 program headers, not handled")
        f.seek(phoff)
        table = f.read(phentsize * phnum)
        lowest = min(struct.unpack_from("<Q", table, k * phentsize + 8)[0]
                     for k in range(phnum))
        if 64 + len(table) > lowest:
            sys.exit("elf-fix: no room for the program headers at offset 64")
        struct.pack_into("<QQ", hdr, 0x20, 64, 0)          # e_phoff, e_shoff
        struct.pack_into("<H", hdr, 0x34, 64)              # e_ehsize
        struct.pack_into("<HHH", hdr, 0x3A, 0, 0, 0)        # e_shentsize/num/strndx
        f.seek(0)
        f.write(hdr)
        f.write(table)
    msg("elf-fix: %d program headers moved from offset %d to 64" % (phnum, phoff))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--kernel", required=True)
    r.add_argument("--initrd", required=True)
    r.add_argument("--serial", required=True)
    r.add_argument("--elf", required=True)
    r.add_argument("--mem", type=int, default=112)
    r.add_argument("--smp", type=int, default=2)
    r.add_argument("--timeout", type=float, default=300)
    r.add_argument("--append", default="console=ttyS0 quiet panic=-1 log_buf_len=1M")
    e = sub.add_parser("elf-fix")
    e.add_argument("file")
    a = ap.parse_args()
    return cmd_run(a) if a.cmd == "run" else cmd_elf_fix(a)


if __name__ == "__main__":
    sys.exit(main())
