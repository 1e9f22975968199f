#!/usr/bin/env python3
"""Compare Gpff's B2 descriptor with FLARE++'s on every atom of an extxyz file.

Not part of CI: it needs FLARE++ built with ../shared/anchors/flarepp (its README) and
Debian's python3 with numpy and ase. Usage, from the repository root:

    PYTHONPATH=<flare++ work dir>/py /usr/bin/python3 benchmarks/flarepp/compare_b2.py \
        [--data data/barho-train.extxyz] [--nmax 8] [--lmax 3] [--cutoff 5.0]

It runs `dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- b2-dump ...` for Gpff's values,
computes FLARE++'s (radial basis "chebyshev" on [0, r_c], "quadratic" cutoff, the same species order)
and prints the largest relative difference max|d_gpff - d_flare| / max|d_flare| per atom and over all.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from ase.io import read
from flare.bffs.sgp._C_flare import B2, Structure


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="data/barho-train.extxyz")
    p.add_argument("--nmax", type=int, default=8)
    p.add_argument("--lmax", type=int, default=3)
    p.add_argument("--cutoff", type=float, default=5.0)
    p.add_argument("--gpff-dump", help="an existing b2-dump output (skips dotnet)")
    a = p.parse_args()

    frames = read(a.data, index=":")
    species = sorted({int(z) for f in frames for z in f.numbers})
    code = {z: i for i, z in enumerate(species)}

    dump = a.gpff_dump
    if dump is None:
        dump = os.path.join(tempfile.mkdtemp(), "b2.txt")
        subprocess.run(["dotnet", "run", "-c", "Release", "--project", "benchmarks/Gpff.Benchmarks", "--",
                        "b2-dump", a.data, dump, str(a.nmax), str(a.lmax), repr(a.cutoff),
                        ",".join(str(z) for z in species)], check=True)
    gpff = {}
    with open(dump) as fh:
        for line in fh:
            t = line.split()
            gpff[(int(t[0]), int(t[1]))] = np.array([float(x) for x in t[2:]])

    calc = B2("chebyshev", "quadratic", [0.0, a.cutoff], [], [len(species), a.nmax, a.lmax])
    worst, count, atoms = 0.0, 0, 0
    for fi, f in enumerate(frames):
        coded = [code[int(z)] for z in f.numbers]
        s = Structure(np.array(f.cell), coded, f.positions, a.cutoff, [calc])
        d = s.descriptors[0]
        frame_worst = 0.0
        for t in range(len(species)):
            vals = np.array(d.descriptors[t])
            for row, atom in enumerate(np.array(d.atom_indices[t])):
                ref = vals[row]
                mine = gpff[(fi, int(atom))]
                if mine.shape != ref.shape:
                    sys.exit(f"frame {fi} atom {atom}: length {mine.shape} vs FLARE++ {ref.shape}")
                scale = np.max(np.abs(ref))
                rel = np.max(np.abs(mine - ref)) / scale if scale > 0 else np.max(np.abs(mine))
                frame_worst = max(frame_worst, rel)
                atoms += 1
        worst = max(worst, frame_worst)
        count += 1
        print(f"frame {fi:3d} ({f.get_chemical_formula()}, {len(f)} atoms): max relative difference {frame_worst:.3e}")
    print(f"{count} frames, {atoms} atoms, n_max {a.nmax}, l_max {a.lmax}, r_c {a.cutoff} A, "
          f"species {species}, descriptor length {len(next(iter(gpff.values())))}: "
          f"max relative difference {worst:.3e}")
    return 0 if worst <= 1e-10 else 1


if __name__ == "__main__":
    sys.exit(main())
