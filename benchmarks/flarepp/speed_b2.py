#!/usr/bin/env python3
"""Per-atom prediction time of FLARE++'s sparse GP with the B2 descriptor and Gpff's, side by side in one run.

Not part of CI (needs FLARE++, see README.md here). One thread for both (OMP_NUM_THREADS=1 for FLARE++,
MaxDegreeOfParallelism 1 for Gpff). From the repository root:

    PYTHONPATH=<flare++ work dir>/py OMP_NUM_THREADS=1 /usr/bin/python3 benchmarks/flarepp/speed_b2.py

Both models: B2 n_max 8, l_max 3, r_c 5 A, normalised dot product power 2, sigma 6.5 eV, every atom of the
bundled frames an inducing environment; timed: descriptors plus mean energy, forces and stress of every
frame, best of 5.
"""
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
from ase.io import read
from flare.bffs.sgp._C_flare import B2, NormalizedDotProduct, SparseGP, Structure

DATA, NMAX, LMAX, RC, REPEATS = "data/barho-train.extxyz", 8, 3, 5.0, 5


def main():
    frames = read(DATA, index=":")
    species = sorted({int(z) for f in frames for z in f.numbers})
    code = {z: i for i, z in enumerate(species)}
    calc = B2("chebyshev", "quadratic", [0.0, RC], [], [len(species), NMAX, LMAX])
    kernel = NormalizedDotProduct(6.5, 2)  # keep a reference (see ../shared/anchors/flarepp/README.md)
    sgp = SparseGP([kernel], 0.005, 0.09, 0.005)
    for f in frames:
        s = Structure(np.array(f.cell), [code[int(z)] for z in f.numbers], f.positions, RC, [calc])
        s.forces = f.get_forces().reshape(-1)
        sgp.add_training_structure(s)
        sgp.add_all_environments(s)
    sgp.update_matrices_QR()
    atoms = sum(len(f) for f in frames)
    coded = [[code[int(z)] for z in f.numbers] for f in frames]

    def timed(predict):
        best = float("inf")
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            for f, c in zip(frames, coded):
                s = Structure(np.array(f.cell), c, f.positions, RC, [calc])
                if predict:
                    sgp.predict_mean(s)
            best = min(best, (time.perf_counter() - t0) * 1e3 / atoms)
        return best

    d, m = timed(False), timed(True)
    print(f"flare++: {len(frames)} frames, {atoms} atoms, M = {atoms}, one thread, best of {REPEATS}, ms per atom:")
    print(f"flare++ descriptor only     {d:.4f}")
    print(f"flare++ sparse GP mean      {m:.4f}")
    sys.stdout.flush()
    subprocess.run(["dotnet", "run", "-c", "Release", "--project", "benchmarks/Gpff.Benchmarks", "--",
                    "b2-speed", DATA, str(NMAX), str(LMAX), repr(RC), str(REPEATS)], check=True)


if __name__ == "__main__":
    main()
