#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# txn-stall.py - how long one big transaction keeps other requests waiting:
# while a transaction creates, then removes, N virtual views, one thread
# reads 4 KiB of another file (its cached pages dropped before each read,
# so every read reaches the daemon) and one looks up new directories.
# Prints the worst wait of each, and the worst read with no transaction.
# A figure, not a test: run it on an idle machine.
#
# usage: bench/txn-stall.py [VIEWS] [DAEMON]   (60000, src/remapfs; as root)
import os, subprocess, sys, tempfile, threading, time

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
    daemon = sys.argv[2] if len(sys.argv) > 2 else os.path.abspath("src/remapfs")
    base = tempfile.mkdtemp(prefix="txn-stall-")
    src, mnt = os.path.join(base, "src"), os.path.join(base, "mnt")
    os.makedirs(src)
    os.makedirs(mnt)
    for name in ("f", "g"):
        with open(os.path.join(src, name), "wb") as fh:
            fh.write(os.urandom(1 << 20))
    dirs = 40000
    for i in range(dirs):
        os.makedirs(os.path.join(src, "sub", "d%d" % i))
    proc = subprocess.Popen([daemon, "-f", src, mnt])
    stop = threading.Event()
    reads, lookups = [], []

    def reader():
        fd = os.open(os.path.join(mnt, "g"), os.O_RDONLY)
        while not stop.is_set():
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            t = time.perf_counter()
            os.pread(fd, 4096, 8192)
            reads.append((t, time.perf_counter() - t))
        os.close(fd)

    def looker():
        for i in range(dirs):
            if stop.is_set():
                break
            t = time.perf_counter()
            os.stat(os.path.join(mnt, "sub", "d%d" % i))
            lookups.append((t, time.perf_counter() - t))
            time.sleep(0.0002)

    def txn(lines):
        fd = os.open(os.path.join(mnt, ".control"), os.O_WRONLY)
        data = ("begin\n" + "".join(lines) + "commit\n").encode()
        t = time.perf_counter()
        off = 0
        while off < len(data):
            off += os.write(fd, data[off:off + 500000])
        os.close(fd)
        return t, time.perf_counter()

    def worst(samples, t0, t1):
        during = [l for (t, l) in samples if t0 - 0.01 <= t <= t1]
        return (max(during) * 1000 if during else 0.0), len(during)

    threads = []
    try:
        for _ in range(300):
            if os.stat(mnt).st_dev != os.stat(base).st_dev:
                break
            time.sleep(0.01)
        threads = [threading.Thread(target=reader), threading.Thread(target=looker)]
        for th in threads:
            th.start()
        time.sleep(0.3)
        t0 = time.perf_counter()
        time.sleep(0.5)
        w, c = worst(reads, t0, time.perf_counter())
        print("no transaction: worst read %.2f ms of %d" % (w, c))
        for name, lines in (("create", ["create v%d f\n" % i for i in range(n)]),
                            ("remove", ["remove v%d\n" % i for i in range(n)])):
            t0, t1 = txn(lines)
            time.sleep(0.2)
            wr, cr = worst(reads, t0, t1)
            wl, cl = worst(lookups, t0, t1)
            print("%s of %d views: %.0f ms; worst read %.2f ms of %d, "
                  "worst directory lookup %.2f ms of %d"
                  % (name, n, (t1 - t0) * 1000, wr, cr, wl, cl))
    finally:
        stop.set()
        for th in threads:
            th.join()
        subprocess.run(["fusermount3", "-u", mnt])
        proc.wait()
        subprocess.run(["rm", "-rf", base])

main()
