#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# restart-latency.py - what a restart costs programs (see RESTART in
# remapfs(1)).  Two figures:
#   latency: the worker is killed (SIGKILL) N times, KILL_GAP s apart; each
#     time, from the kill to the first answered request (a read of .stats,
#     which waits in the kernel until the next worker answers it): p50,
#     p90, p99, max.
#   load: P programs each pwrite and pread 4 KiB of their own file in a
#     loop (the page cache dropped every 8 operations, so requests reach the
#     daemon) while the worker is killed R times; every error, and the
#     longest time any program waited for one operation.
# A figure, not a test: run it on an idle machine.
#
# usage: bench/restart-latency.py [N] [P] [R] [DAEMON]
#        (100, 8, 20, src/remapfs; as root)
import os, shutil, signal, subprocess, sys, tempfile, time

KILL_GAP = 1.05


def worker_of(sup):
    with open("/proc/%d/task/%d/children" % (sup, sup)) as fh:
        kids = fh.read().split()
    return int(kids[0]) if kids else None


def stats_worker(mnt):
    with open(os.path.join(mnt, ".stats")) as fh:
        for line in fh:
            if line.startswith("worker "):
                return int(line.split()[1])
    return None


def wait_mount(mnt, proc):
    for _ in range(500):
        if os.path.ismount(mnt):
            return
        if proc.poll() is not None:
            sys.exit("remapfs exited with status %d" % proc.returncode)
        time.sleep(0.01)
    sys.exit("remapfs did not mount")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def latency(sup, mnt, n):
    lat = []
    for _ in range(n):
        time.sleep(KILL_GAP)
        before = stats_worker(mnt)
        t = time.perf_counter()
        os.kill(worker_of(sup), signal.SIGKILL)
        while True:
            now = stats_worker(mnt)  # waits for the next worker
            if now != before:
                break
        lat.append((time.perf_counter() - t) * 1000)
    print("latency: %d restarts, kill to first answer: p50 %.1f ms, "
          "p90 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (n, pct(lat, 50), pct(lat, 90), pct(lat, 99), max(lat)))


def program(path, stop_at, out):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    errors, ops, worst, i = 0, 0, 0.0, 0
    buf = bytes([65 + os.getpid() % 26]) * 4096
    while time.monotonic() < stop_at:
        t = time.perf_counter()
        try:
            off = (i % 64) * 4096
            if os.pwrite(fd, buf, off) != 4096 or os.pread(fd, 4096, off) != buf:
                errors += 1
            if i % 8 == 7:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            errors += 1
        worst = max(worst, time.perf_counter() - t)
        ops += 1
        i += 1
    os.write(out, ("%d %d %f\n" % (ops, errors, worst)).encode())
    os._exit(0)


def load(sup, mnt, nprog, restarts):
    r, w = os.pipe()
    stop_at = time.monotonic() + 1.0 + restarts * 1.1 + 1.0
    kids = []
    for k in range(nprog):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            program(os.path.join(mnt, "load%d" % k), stop_at, w)
        kids.append(pid)
    os.close(w)
    time.sleep(1.0)
    for _ in range(restarts):
        os.kill(worker_of(sup), signal.SIGKILL)
        time.sleep(1.1)
    for pid in kids:
        os.waitpid(pid, 0)
    ops = errors = 0
    worst = 0.0
    with os.fdopen(r) as fh:
        for line in fh:
            o, e, wst = line.split()
            ops, errors = ops + int(o), errors + int(e)
            worst = max(worst, float(wst))
    print("load: %d programs, %d restarts: %d operations, %d errors, the "
          "longest wait for one operation %.0f ms"
          % (nprog, restarts, ops, errors, worst * 1000))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    nprog = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    restarts = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    daemon = sys.argv[4] if len(sys.argv) > 4 else os.path.abspath("src/remapfs")
    base = tempfile.mkdtemp(prefix="restart-latency-")
    src, mnt = os.path.join(base, "src"), os.path.join(base, "mnt")
    os.makedirs(src)
    os.makedirs(mnt)
    proc = subprocess.Popen([daemon, "-f", "-o", "restart", src, mnt],
                            stderr=subprocess.DEVNULL)
    try:
        wait_mount(mnt, proc)
        latency(proc.pid, mnt, n)
        load(proc.pid, mnt, nprog, restarts)
    finally:
        subprocess.call(["fusermount3", "-u", mnt])
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


main()
