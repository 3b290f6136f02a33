#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# test-picture.py - remapctl show --svg drawn by a real browser: headless
# Chromium renders the picture of a small map, and the pixels where runs
# must be have their colours (grey identity, blue remap, red aliased).
# TAP.  Needs root (mounts), chromium (else skipped).
import os, shutil, struct, subprocess, sys, tempfile, time, zlib

def tap(ok, name, why=""):
    print(("ok" if ok else "not ok") + " 1 - " + name + (" # " + why if why else ""))

def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], None
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i] if prev else 0
            c = prev[i - bpp] if prev and i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows

def main():
    print("1..1")
    name = "Chromium draws remapctl's picture with each run where it must be"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        return tap(True, name, "SKIP chromium is not installed")
    daemon = os.environ.get("REMAPFS", os.path.abspath("src/remapfs"))
    remapctl = os.path.abspath("src/lib/remapctl")
    base = tempfile.mkdtemp(prefix="picture-", dir=os.environ.get("RFS_TEST_BASE"))
    src, mnt = os.path.join(base, "src"), os.path.join(base, "mnt")
    os.mkdir(src); os.mkdir(mnt)
    with open(os.path.join(src, "f"), "wb") as f:
        f.write(bytes(16 * os.sysconf("SC_PAGESIZE")))
    proc = subprocess.Popen([daemon, "-f", src, mnt], stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if os.stat(mnt).st_dev != os.stat(base).st_dev:
                break
            time.sleep(0.01)
        with open(os.path.join(mnt, ".control"), "w") as c:
            c.write("remap f 0 10 4\nremap f 4 10 2\nremap f 12 0 3\n")
        svg = os.path.join(base, "f.svg")
        subprocess.run([remapctl, "show", "--svg", svg, os.path.join(mnt, "f")],
                       check=True, stdout=subprocess.DEVNULL)
    finally:
        subprocess.run(["fusermount3", "-u", mnt], stderr=subprocess.DEVNULL)
        if proc.wait(timeout=10) is None:
            proc.kill()
    png = os.path.join(base, "f.png")
    r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--screenshot=" + png,
                        "--window-size=920,920", "file://" + svg],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    if not os.path.exists(png):
        tap(False, name)
        print("# chromium made no screenshot: " + r.stderr.decode(errors="replace")[-500:].replace("\n", "\n# "))
        return
    w, h, rows = png_pixels(png)
    # The plot: 800 px for 16 pages, 60 px from the corner; 50 px a page.
    at = lambda v, f: (int(60 + v * 50), int(60 + f * 50))
    want = [("remap 12-14 -> 0-2", at(13.5, 1.5), (0x1f, 0x5f, 0xbf)),
            ("aliased 4-5 -> 10-11", at(5, 11), (0xd6, 0x27, 0x28)),
            ("identity 6-9", at(8, 8), (0xaa, 0xaa, 0xaa)),
            ("nothing", at(3, 3), (0xff, 0xff, 0xff))]
    bad = []
    for what, (x, y), rgb in want:
        got = rows[y][x] if y < h and x < w else None
        if got is None or max(abs(a - b) for a, b in zip(got, rgb)) > 40:
            bad.append("%s at (%d, %d): expected #%02x%02x%02x, got %s" % (what, x, y, *rgb, got))
    tap(not bad, name)
    for b in bad:
        print("# " + b)
    shutil.rmtree(base, ignore_errors=True)

main()
