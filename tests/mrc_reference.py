#!/usr/bin/python3
"""Independent MRC references for tests/test_mrc_reference.c, made with numpy + mrcfile
(Debian python3-mrcfile; run with /usr/bin/python3, not a pyenv without those modules).

  maps OUTDIR FILE...   for each map: OUTDIR/<base>.raw = the data as float32 little-endian in
                        v[z][y][x] order (x fastest), obtained from mrcfile's data[s][r][c] by the
                        transpose rule of mapc/mapr/maps; OUTDIR/<base>.txt = "nx ny nz px py pz".
  modes OUTDIR          mode 0/1/2/6/12 files written by mrcfile, little- and big-endian
                        (mode<M>_<le|be>.mrc, 5 x 6 x 7 values), and the values numpy reads back
                        as float32 (mode<M>_<le|be>.raw).
  check FILE NX NY NZ   exit 0 when mrcfile validates FILE as MRC2014 and its header statistics
                        (dmin, dmax, dmean, rms) and shape agree with numpy on the data.
Exit status 3 means numpy or mrcfile is missing (the caller skips).
"""
import os
import sys

try:
    import numpy as np
    import mrcfile
except ImportError as e:  # the C test turns this into a skip
    print("missing module: %s" % e)
    sys.exit(3)


def to_zyx(m):
    h = m.header
    d = np.asarray(m.data, dtype=np.float32)
    # data axes are (section, row, column) and run along axes maps, mapr, mapc (1 = X)
    axis_of = [int(h.maps), int(h.mapr), int(h.mapc)]
    perm = [axis_of.index(3), axis_of.index(2), axis_of.index(1)]
    return np.ascontiguousarray(d.transpose(perm))


def cmd_maps(out, files):
    for f in files:
        with mrcfile.open(f, permissive=True) as m:
            v = to_zyx(m)
            px = [float(m.voxel_size.x), float(m.voxel_size.y), float(m.voxel_size.z)]
        base = os.path.join(out, os.path.basename(f))
        v.astype("<f4").tofile(base + ".raw")
        with open(base + ".txt", "w") as t:
            t.write("%d %d %d %.9g %.9g %.9g\n" % (v.shape[2], v.shape[1], v.shape[0], px[0], px[1], px[2]))


def cmd_modes(out):
    nz, ny, nx = 5, 6, 7
    i = np.arange(nx * ny * nz).reshape(nz, ny, nx)
    values = {
        0: (i % 256 - 128).astype(np.int8),
        1: (i * 97 % 65536 - 32768).astype(np.int16),
        2: (np.sin(i * 0.37) * 1000).astype(np.float32),
        6: (i * 331 % 65536).astype(np.uint16),
        12: (np.cos(i * 0.11) * 300).astype(np.float16),
    }
    for mode, a in values.items():
        for order, code in (("le", "<"), ("be", ">")):
            name = os.path.join(out, "mode%d_%s" % (mode, order))
            with mrcfile.new(name + ".mrc", overwrite=True) as m:
                m.set_data(a.astype(a.dtype.newbyteorder(code)))
                m.voxel_size = 1.25
            with mrcfile.open(name + ".mrc") as m:
                assert m.header.mode == mode
                np.asarray(m.data, dtype=np.float32).astype("<f4").tofile(name + ".raw")


def cmd_check(path, nx, ny, nz):
    ok = mrcfile.validate(path, print_file=open(os.devnull, "w"))
    with mrcfile.open(path) as m:
        h = m.header
        d = np.asarray(m.data, dtype=np.float64)
        shape_ok = d.shape == (nz, ny, nx) or (nz == 1 and d.shape == (ny, nx))
        stats = [(float(h.dmin), d.min()), (float(h.dmax), d.max()), (float(h.dmean), d.mean()), (float(h.rms), d.std())]
        stats_ok = all(abs(a - b) <= 1e-5 * (1 + abs(b)) for a, b in stats)
        tag_ok = bytes(h.map) == b"MAP " and bytes(h.machst)[:2] == b"\x44\x44"
    print("validate=%s shape=%s stats=%s tag=%s %s" % (ok, d.shape, stats, tag_ok, path))
    sys.exit(0 if (ok and shape_ok and stats_ok and tag_ok) else 1)


if __name__ == "__main__":
    if sys.argv[1] == "maps":
        cmd_maps(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "modes":
        cmd_modes(sys.argv[2])
    elif sys.argv[1] == "check":
        cmd_check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit("unknown command %s" % sys.argv[1])
