#!/usr/bin/env python3
"""Writes the Ba-Rh-O candidate structures of the stability study (data/barho-candidates.extxyz) and,
with --pool, the unlabelled pool from which `gpff learn --pool` grew the training data.

Standard library only. Candidates (unrelaxed; the study relaxes them at each pressure):
  BaO-rocksalt, RhO2-rutile, BaRhO3-3C (cubic perovskite), Ba2RhO4-K2NiF4: the reference cells of
  data/barho-train.extxyz (labels BaOfix_ref, RhO2_ref, BaRhO3_ref, Ba2RhO4k444_ref), positions and cells unchanged;
  BaRhO3-2H, -4H, -6H: hexagonal perovskites built as stackings of close-packed BaO3 layers (stacking AB, ABAC,
  ABCACB; Rh in the octahedral holes between consecutive layers whose six neighbours are all O), in-plane
  a = sqrt(2) * 4.0 A and layer spacing 4.0 / sqrt(3) A (the cubic cell's (111) planes), i.e. ideal octahedra.

usage: python3 data/make-barho-candidates.py                  > data/barho-candidates.extxyz
       python3 data/make-barho-candidates.py --pool-2h          > pool-2h.extxyz
       python3 data/make-barho-candidates.py --pool SEED      > pool.extxyz
       python3 data/make-barho-candidates.py --pool-hex         > pool-hex.extxyz
       python3 data/make-barho-candidates.py --pool-faces       > pool-faces.extxyz
--pool-2h (the pool the bundled data/barho-added.extxyz was selected from; --pool-hex: data/barho-hex.extxyz): the ideal BaRhO3-2H cell at linear
scales 1.00 and 0.975 (about 0 and 10 GPa), symmetric, so that pw.x needs few k-points.
--pool-hex: BaRhO3-2H with its in-plane axes scaled by 1.00 and 1.015 and its c axis by 1.08 and 1.10, and
BaRhO3-4H scaled by 1.01 in-plane and 1.06 along c: the ideal prototypes stretched along c (their face-sharing
Rh-Rh distance, 2.31 A, is short: the ideal 2H cell at scale 0.975 is at 35 GPa in pw.x), symmetric, so that pw.x
needs few k-points.
--pool-faces: BaRhO3-2H with its c axis scaled by 1.035 (near 10 GPa by the pressures of the --pool-2h and --pool-hex
frames) and by 1.05 with every O moved in-plane by -0.12 and +0.12 A from the Rh chain axis (the shared-face O
triangles shrunk and grown: the coordinate along which the hexagonal cells collapsed), symmetric.
--pool SEED: every candidate except BaRhO3-4H/6H (20/30 atoms: too costly for pw.x here) at linear scales 1.00 and
0.975, each cell strained by up to +-1.5 % and every atom displaced by up to 0.08 A (uniform, random.Random(SEED));
BaRhO3-2H twice per scale (without symmetry: a pw.x run of a rattled 2H cell took over 15 minutes of CPU here).
"""
import math
import random
import sys

A_CUBIC = 4.0
REFERENCE_LABELS = {"BaO-rocksalt": "BaOfix_ref", "RhO2-rutile": "RhO2_ref", "BaRhO3-3C": "BaRhO3_ref",
                    "Ba2RhO4-K2NiF4": "Ba2RhO4k444_ref"}


def read_reference_cells(path):
    """Frames of an extxyz file by their label: (cell rows, species, positions)."""
    frames = {}
    with open(path) as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        header = lines[i + 1]
        lattice = [float(x) for x in header.split('Lattice="')[1].split('"')[0].split()]
        label = header.split(" label=")[1].split()[0]
        species, positions = [], []
        for line in lines[i + 2:i + 2 + n]:
            t = line.split()
            species.append(t[0])
            positions.append([float(x) for x in t[1:4]])
        frames[label] = ([lattice[0:3], lattice[3:6], lattice[6:9]], species, positions)
        i += 2 + n
    return frames


def hexagonal_perovskite(stacking, a_cubic=A_CUBIC):
    a = math.sqrt(2.0) * a_cubic
    dz = a_cubic / math.sqrt(3.0)
    c = dz * len(stacking)
    cell = [[a, 0.0, 0.0], [-a / 2.0, a * math.sqrt(3.0) / 2.0, 0.0], [0.0, 0.0, c]]
    shift = {"A": (0.0, 0.0), "B": (1.0 / 6.0, 1.0 / 3.0), "C": (1.0 / 3.0, 1.0 / 6.0)}
    sub = [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)]

    def cart(f):
        return [f[0] * cell[0][k] + f[1] * cell[1][k] + f[2] * cell[2][k] for k in range(3)]

    def inplane_distance(p, q):
        best = 1e9
        for i in (-1, 0, 1):
            for j in (-1, 0, 1):
                d = cart((p[0] - q[0] + i, p[1] - q[1] + j, 0.0))
                best = min(best, math.hypot(d[0], d[1]))
        return best

    species, frac = [], []
    n = len(stacking)
    ba_sites = []
    for layer, letter in enumerate(stacking):
        s = shift[letter]
        z = layer / n
        sites = [((s[0] + u[0]) % 1.0, (s[1] + u[1]) % 1.0) for u in sub]
        # Ba sits over a triangle of O of the layer below (never over a Ba), as in every AO3 close packing.
        ba = sites[0] if layer == 0 else max(sites, key=lambda p: inplane_distance(p, ba_sites[-1]))
        ba_sites.append(ba)
        for p in sites:
            species.append("Ba" if p == ba else "O")
            frac.append((p[0], p[1], z))
    for layer in range(n):
        lower, upper = stacking[layer], stacking[(layer + 1) % n]
        hole = next(x for x in "ABC" if x not in (lower, upper))
        ba = [ba_sites[layer], ba_sites[(layer + 1) % n]]
        sites = [((shift[hole][0] + u[0]) % 1.0, (shift[hole][1] + u[1]) % 1.0) for u in sub]
        site = max(sites, key=lambda p: min(inplane_distance(p, b) for b in ba))
        species.append("Rh")
        frac.append((site[0], site[1], (layer + 0.5) / n))
    order = sorted(range(len(species)), key=lambda i: ("Ba", "Rh", "O").index(species[i]))
    return cell, [species[i] for i in order], [cart(frac[i]) for i in order]


def candidates(reference_path):
    ref = read_reference_cells(reference_path)
    out = [(name, ref[label]) for name, label in REFERENCE_LABELS.items()]
    for name, stacking in (("BaRhO3-2H", "AB"), ("BaRhO3-4H", "ABAC"), ("BaRhO3-6H", "ABCACB")):
        out.append((name, hexagonal_perovskite(stacking)))
    order = ["BaO-rocksalt", "RhO2-rutile", "BaRhO3-3C", "BaRhO3-2H", "BaRhO3-4H", "BaRhO3-6H", "Ba2RhO4-K2NiF4"]
    return sorted(out, key=lambda x: order.index(x[0]))


def write(name, cell, species, positions, extra=""):
    lattice = " ".join(f"{x:.10f}" for row in cell for x in row)
    print(len(species))
    print(f'Lattice="{lattice}" Properties=species:S:1:pos:R:3 name={name}{extra} pbc="T T T"')
    for s, p in zip(species, positions):
        print(f"{s:2s} {p[0]:16.10f} {p[1]:16.10f} {p[2]:16.10f}")


def faces_moved(cell, species, positions, delta):
    """Every O moved in-plane by delta (A) away from the nearest Rh chain axis (negative: towards it), which
    shrinks or grows the O triangles of the faces that the RhO6 octahedra share along c, keeping the symmetry."""
    axes = [p for s, p in zip(species, positions) if s == "Rh"]
    out = []
    for s, p in zip(species, positions):
        if s != "O":
            out.append(list(p))
            continue
        best = None
        for q in axes:
            for i in (-1, 0, 1):
                for j in (-1, 0, 1):
                    dx = p[0] - (q[0] + i * cell[0][0] + j * cell[1][0])
                    dy = p[1] - (q[1] + i * cell[0][1] + j * cell[1][1])
                    if best is None or math.hypot(dx, dy) < math.hypot(*best):
                        best = (dx, dy)
        r = math.hypot(*best)
        out.append([p[0] + delta * best[0] / r, p[1] + delta * best[1] / r, p[2]])
    return out


def main():
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    cands = candidates(os.path.join(here, "barho-train.extxyz"))
    if len(sys.argv) == 1:
        for name, (cell, species, positions) in cands:
            write(name, cell, species, positions)
        return
    if len(sys.argv) == 2 and sys.argv[1] == "--pool-2h":
        cell, species, positions = dict(cands)["BaRhO3-2H"]
        for scale in (1.0, 0.975):
            write("BaRhO3-2H", [[scale * x for x in r] for r in cell], species, [[scale * x for x in p] for p in positions],
                  f" pool_scale={scale}")
        return
    if len(sys.argv) == 2 and sys.argv[1] == "--pool-hex":
        for name, sa, sc in (("BaRhO3-2H", 1.0, 1.08), ("BaRhO3-2H", 1.015, 1.10), ("BaRhO3-4H", 1.01, 1.06)):
            cell, species, positions = dict(cands)[name]
            scale = (sa, sa, sc)   # the c axis is along z
            write(name, [[scale[k] * r[k] for k in range(3)] for r in cell], species,
                  [[scale[k] * p[k] for k in range(3)] for p in positions], f" pool_scale_ab={sa} pool_scale_c={sc}")
        return
    if len(sys.argv) == 2 and sys.argv[1] == "--pool-faces":
        for sa, sc, delta in ((1.0, 1.035, 0.0), (1.0, 1.05, -0.12), (1.0, 1.05, 0.12)):
            cell, species, positions = dict(cands)["BaRhO3-2H"]
            scale = (sa, sa, sc)
            cell = [[scale[k] * r[k] for k in range(3)] for r in cell]
            positions = [[scale[k] * p[k] for k in range(3)] for p in positions]
            write("BaRhO3-2H", cell, species, faces_moved(cell, species, positions, delta),
                  f" pool_scale_ab={sa} pool_scale_c={sc} pool_face_shift={delta}")
        return
    if len(sys.argv) != 3 or sys.argv[1] != "--pool":
        sys.exit(__doc__)
    rng = random.Random(int(sys.argv[2]))
    for scale in (1.0, 0.975):
        for name, (cell, species, positions) in cands:
            if name in ("BaRhO3-4H", "BaRhO3-6H"):
                continue
            for copy in range(2 if name == "BaRhO3-2H" else 1):
                e = [[(1.0 if i == j else 0.0) + (rng.uniform(-0.015, 0.015) if i <= j else 0.0) for j in range(3)]
                     for i in range(3)]
                e = [[(e[i][j] + e[j][i]) / 2.0 if i != j else e[i][i] for j in range(3)] for i in range(3)]

                def apply(v):
                    return [scale * sum(v[k] * e[k][j] for k in range(3)) for j in range(3)]

                new_cell = [apply(r) for r in cell]
                new_pos = [[x + rng.uniform(-0.08, 0.08) for x in apply(p)] for p in positions]
                write(name, new_cell, species, new_pos, f" pool_scale={scale} pool_copy={copy}")


main()
