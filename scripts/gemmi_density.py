#!/usr/bin/python3
"""Reference potential map of an atomic model from gemmi (an independent implementation of
the same electron scattering factors, International Tables C 4.3.2.2), for cryogen's tests.

usage: gemmi_density.py MODEL BOX PIXEL_A CX CY CZ OUT.f32
Writes BOX^3 float32 values, x fastest, on the grid whose voxel BOX/2 sits at (CX, CY, CZ) A,
using each atom's B-factor, no extra blur. Elements are taken as cryogen reads them for
files without an element column (first letter of the atom name after digits)."""
import sys

import gemmi
import numpy as np

path, D, h = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
c = np.array([float(v) for v in sys.argv[4:7]])
out = sys.argv[7]
st = gemmi.read_structure(path)
st.remove_alternative_conformations()
model = st[0]
L = D * h
shift = np.full(3, D // 2 * h) - c  # puts the centre at grid point D/2
for ch in model:
    for res in ch:
        for a in res:
            p = a.pos
            a.pos = gemmi.Position(p.x + shift[0], p.y + shift[1], p.z + shift[2])
st.cell = gemmi.UnitCell(L, L, L, 90, 90, 90)
st.spacegroup_hm = "P 1"
dc = gemmi.DensityCalculatorE()
dc.d_min = 2 * h
dc.set_grid_cell_and_spacegroup(st)
dc.grid.set_size(D, D, D)
dc.add_model_density_to_grid(st[0])
arr = np.array(dc.grid, copy=False)  # indexed [u][v][w], u fastest in memory order 'F'
np.asarray(arr.transpose(2, 1, 0), dtype=np.float32).tofile(out)  # -> [z][y][x]
