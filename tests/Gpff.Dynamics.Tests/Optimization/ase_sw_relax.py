"""Reference relaxation for Gpff's RelaxationTests: ASE 3.22 (ExpCellFilter + BFGS/FIRE, scalar_pressure)
on a Stillinger-Weber calculator written here with the parameters the test passes in.

Reads JSON on stdin: numbers, positions (A), cell (rows, A), pressure_gpa, optimizer ("BFGS"|"FIRE"), fmax,
pairs: [[z1, z2, eps, sigma, A, B, p, q, a, gamma]], triplets: [[zc, z1, z2, Lambda, cos0]].
Writes JSON on stdout: energy (eV), volume (A^3), enthalpy_per_atom (eV), fmax reached, steps.
"""
import io
import json
import sys

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.constraints import ExpCellFilter
from ase.neighborlist import neighbor_list
from ase.optimize import BFGS, FIRE
import ase.units


class SW(Calculator):
    """Multi-species Stillinger-Weber: E = sum_pairs phi2 + sum_i sum_{j<k} phi3(i; j, k)."""

    implemented_properties = ['energy', 'forces', 'stress']

    def __init__(self, pairs, triplets, **kwargs):
        super().__init__(**kwargs)
        self.pairs = {}
        for z1, z2, *p in pairs:
            self.pairs[(z1, z2)] = p
            self.pairs[(z2, z1)] = p
        self.triplets = {}
        for zc, z1, z2, lam, cos0 in triplets:
            self.triplets[(zc, z1, z2)] = (lam, cos0)
            self.triplets[(zc, z2, z1)] = (lam, cos0)
        self.cutoff = max(p[6] * p[1] for p in self.pairs.values())

    def calculate(self, atoms=None, properties=('energy',), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        z = self.atoms.numbers
        n = len(self.atoms)
        ii, jj, dd, DD = neighbor_list('ijdD', self.atoms, self.cutoff)
        forces = np.zeros((n, 3))
        virial = np.zeros((3, 3))
        energy = 0.0
        for i in range(n):
            sel = np.nonzero(ii == i)[0]
            bonds = []
            for s in sel:
                j, r, u = jj[s], dd[s], DD[s]
                eps, sig, A, B, p, q, a, gam = self.pairs[(z[i], z[j])]
                rc = a * sig
                if r >= rc:
                    continue
                x = sig / (r - rc)
                dx = -sig / (r - rc) ** 2
                if x < -700:
                    continue
                sr = sig / r
                rep, att = B * sr ** p, sr ** q
                ex = np.exp(x)
                phi = A * eps * (rep - att) * ex
                dphi = A * eps * ex * ((-p * rep + q * att) / r + (rep - att) * dx)
                energy += 0.5 * phi
                g = np.exp(gam * x) if gam * x >= -700 else 0.0
                bonds.append([j, r, u.copy(), 0.5 * dphi / r * u, g, g * gam * dx])
            for a_ in range(len(bonds)):
                ja, ra, ua, _, ga, dga = bonds[a_]
                if ga == 0:
                    continue
                for b_ in range(a_ + 1, len(bonds)):
                    jb, rb, ub, _, gb, dgb = bonds[b_]
                    if gb == 0:
                        continue
                    lam, cos0 = self.triplets[(z[i], z[ja], z[jb])]
                    inv = 1.0 / (ra * rb)
                    cos = np.dot(ua, ub) * inv
                    d = cos - cos0
                    energy += lam * d * d * ga * gb
                    dcos_a = inv * ub - cos / ra ** 2 * ua
                    dcos_b = inv * ua - cos / rb ** 2 * ub
                    bonds[a_][3] = bonds[a_][3] + 2 * lam * d * ga * gb * dcos_a + lam * d * d * dga * gb / ra * ua
                    bonds[b_][3] = bonds[b_][3] + 2 * lam * d * ga * gb * dcos_b + lam * d * d * ga * dgb / rb * ub
            for j, r, u, de, g, dg in bonds:
                forces[i] += de
                forces[j] -= de
                virial += np.outer(de, u)
        v = self.atoms.get_volume()
        s = 0.5 * (virial + virial.T) / v
        self.results['energy'] = energy
        self.results['free_energy'] = energy
        self.results['forces'] = forces
        self.results['stress'] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])


def main():
    inp = json.load(sys.stdin)
    atoms = Atoms(numbers=inp['numbers'], positions=inp['positions'], cell=inp['cell'], pbc=True)
    atoms.calc = SW(inp['pairs'], inp['triplets'])
    p = inp['pressure_gpa'] * ase.units.GPa
    ecf = ExpCellFilter(atoms, scalar_pressure=p)
    opt_class = {'BFGS': BFGS, 'FIRE': FIRE}[inp['optimizer']]
    opt = opt_class(ecf, logfile=io.StringIO())
    opt.run(fmax=inp['fmax'], steps=5000)
    e = atoms.get_potential_energy()
    vol = atoms.get_volume()
    f = np.sqrt((atoms.get_forces() ** 2).sum(axis=1)).max()
    stress = atoms.get_stress()
    json.dump({'energy': e, 'volume': vol, 'enthalpy_per_atom': (e + p * vol) / len(atoms),
               'max_force': f, 'pressure_gpa': -stress[:3].mean() / ase.units.GPa,
               'steps': opt.get_number_of_steps()}, sys.stdout)


if __name__ == '__main__':
    main()
