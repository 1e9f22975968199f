#!/usr/bin/env python3
"""FLARE 1.x on the Mg-O-like cells of Gpff's MgO benchmarks, one core, for side-by-side timings.

Times, with the hyperparameters of benchmarks/Gpff.Benchmarks/MgOBenchmarks.cs (2-body r_c = 5.0 A,
sigma_2 = 0.3 eV, l_2 = 0.3 A; 3-body r_c = 3.5 A, sigma_3 = 0.03 eV, l_3 = 0.3 A; force noise
0.05 eV/A), trained on the forces of the first CELLS cells of mgo-train-20.extxyz:
  - K + Cholesky (+ inverse and alpha): GaussianProcess.set_L_alpha
  - -log likelihood and its gradient: gp_algebra.get_neg_like_grad
  - forces and their standard deviations of the 32-atom test cell: predict.predict_on_structure
and prints FLARE's predicted forces and standard deviations of the first atoms, for comparison with
Gpff's (same kernel, same hyperparameters: they should agree to round-off).

Numba compiles the kernels on first use: a warm-up on a 1-cell GP runs first and is not timed.
FLARE itself is not a dependency of Gpff: this script runs from a copy of the `flare/` package of
mir-group/flare at commit 3fd04311 with Debian's python3-numba, python3-scipy and python3-ase:

  git clone https://github.com/mir-group/flare flare-3fd04311 && git -C flare-3fd04311 checkout 3fd04311
  dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --write-mgo mgo-data
  OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONPATH=flare-3fd04311 \
      /usr/bin/python3 benchmarks/flare/compare_flare.py mgo-data --cells 5
"""
import argparse
import sys
import time

import numpy as np
from ase.io import read


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="folder written by `Gpff.Benchmarks --write-mgo`")
    parser.add_argument("--cells", type=int, default=5, help="training cells (96 force labels each; default 5 = 480 labels)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step; the least times are printed (default 1)")
    parser.add_argument("--skip-likelihood", action="store_true", help="skip the likelihood gradient (the slowest step)")
    args = parser.parse_args()

    from flare.atoms import FLARE_Atoms
    from flare.bffs.gp import GaussianProcess
    from flare.bffs.gp import gp_algebra
    from flare.bffs.gp.predict import predict_on_structure

    train = read(f"{args.data}/mgo-train-20.extxyz", index=":")[: args.cells]
    test = read(f"{args.data}/mgo-test.extxyz", index=0)
    hyps = np.array([0.3, 0.3, 0.03, 0.3, 0.05])   # sigma_2, l_2, sigma_3, l_3, force noise

    def make_gp(frames):
        gp = GaussianProcess(
            kernels=["twobody", "threebody"], component="mc", hyps=hyps,
            cutoffs={"twobody": 5.0, "threebody": 3.5},
            hyp_labels=["sig2", "ls2", "sig3", "ls3", "noise"],
            parallel=False, n_cpus=1, maxiter=0,
        )
        for frame in frames:
            atoms = FLARE_Atoms.from_ase_atoms(frame)
            gp.update_db(atoms, frame.get_forces())
        return gp

    def timed(label, fn):
        # Wall clock and the CPU time of the process: what one core alone would take, the figure to
        # compare on a machine shared with other work.
        best_wall = best_cpu = float("inf")
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            result = fn()
            best_wall = min(best_wall, time.perf_counter() - t)
            best_cpu = min(best_cpu, time.process_time() - c)
        print(f"{label:52s} wall {best_wall:9.3f} s   cpu {best_cpu:9.3f} s", flush=True)
        return result

    # Warm-up: numba compiles every kernel used below.
    warm = make_gp(train[:1])
    warm.set_L_alpha()
    gp_algebra.get_neg_like_grad(warm.hyps, warm.name, warm.kernel_grad, cutoffs=warm.cutoffs, hyps_mask=warm.hyps_mask, n_cpus=1)
    predict_on_structure(FLARE_Atoms.from_ase_atoms(test), warm)

    gp = make_gp(train)
    n = len(gp.training_labels_np)
    print(f"FLARE 1.x, {args.cells} cells of {len(train[0])} atoms: {n} force labels; test cell of {len(test)} atoms")
    timed(f"K + Cholesky + inverse + alpha ({n} labels)", gp.set_L_alpha)
    if not args.skip_likelihood:
        timed(f"-log likelihood + gradient ({n} labels)",
              lambda: gp_algebra.get_neg_like_grad(gp.hyps, gp.name, gp.kernel_grad, cutoffs=gp.cutoffs, hyps_mask=gp.hyps_mask, n_cpus=1))
    structure = FLARE_Atoms.from_ase_atoms(test)
    forces, stds = timed(f"forces + std of the {len(test)}-atom test cell", lambda: predict_on_structure(structure, gp))
    np.set_printoptions(precision=10, suppress=False)
    print("forces (eV/A), first 3 atoms:")
    for row in forces[:3]:
        print("  " + " ".join(f"{v:16.10f}" for v in row))
    print("std (eV/A), first 3 atoms:")
    for row in stds[:3]:
        print("  " + " ".join(f"{v:16.10f}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
