#!/usr/bin/env dotnet
// The honest check of a GP hull against DFT (issue 19, point 4), outside CI:
//   1. for each named candidate, a pw.x vc-relax at the study's pressure (default 10 GPa), started from the structure the
//      GP relaxed (STUDY_DIR/relaxed-10GPa.extxyz, written by `gpff study`), with the DFT settings of the bundled data
//      (PBE, pslibrary 1.0.0 ultrasoft, 45/360 Ry, m-v smearing 0.02 Ry, k-point spacing 0.35/Å as `gpff learn`'s
//      k_spacing_per_a);
//   2. the DFT hull of those candidates (H = E + P·V of the final SCF of each vc-relax);
//   3. side by side with the GP: formation enthalpies (GP ± σ from the joint covariance), energies above the hull, the
//      GP's stability probability against the DFT call, and whether each DFT value fell within the GP's stated
//      uncertainty (|ΔH_f| ≤ 2σ, and the DFT energy above the hull inside the GP's 5–95 % band).
//
// usage: dotnet run examples/dft-check-barho.cs -- STUDY_DIR PSEUDO_DIR WORK_DIR [NAME...]
//   NAME  candidates to recompute (default: BaO-rocksalt RhO2-rutile BaRhO3-3C Ba2RhO4-K2NiF4 BaRhO3-2H); the two
//         terminals are always included. A candidate whose WORK_DIR/NAME/pw.out already ended is not run again, so
//         rerunning continues an interrupted check. A candidate whose GP relaxation failed (the study lists it and
//         asks for DFT) starts from its unrelaxed structure in the candidates file and is shown with the DFT values
//         only: the GP gave no number to check. An interrupted vc-relax continues from its last complete ionic step.
// Environment: PW_COMMAND (default "pw.x"; e.g. "mpirun -np 4 pw.x"), PRESSURE_GPA (default 10),
//   CANDIDATES (default data/barho-candidates.extxyz, relative to the current folder).
// Cost on one free core: BaO 4 min, the 5–7-atom cells 15–40 min each, BaRhO3-2H (10 atoms) hours.
#:project ../src/Gpff/Gpff.csproj

using System.Diagnostics;
using System.Globalization;
using Gpff;
using Gpff.IO;
using Gpff.Phases;
using Gpff.QuantumEspresso;

var inv = CultureInfo.InvariantCulture;
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: dotnet run examples/dft-check-barho.cs -- STUDY_DIR PSEUDO_DIR WORK_DIR [NAME...]");
    return 2;
}

string study = Path.GetFullPath(args[0]), pseudo = Path.GetFullPath(args[1]), work = Path.GetFullPath(args[2]);
double pressure = double.Parse(Environment.GetEnvironmentVariable("PRESSURE_GPA") ?? "10", inv);
string tag = pressure.ToString("0.###", inv) + "GPa";
string[] terminals = ["BaO-rocksalt", "RhO2-rutile"];
var names = terminals.Concat(args.Length > 3 ? args[3..] : ["BaRhO3-3C", "Ba2RhO4-K2NiF4", "BaRhO3-2H"]).Distinct().ToArray();

// The GP's side: relaxed structures, hull entries and the joint covariance written by `gpff study`.
var relaxed = ExtXyz.Read(Path.Combine(study, $"relaxed-{tag}.extxyz")).ToDictionary(s => (string)s.Info["name"]);
var gpEntries = PhaseEntryCsv.Read(Path.Combine(study, $"entries-{tag}.csv"));
var gpCovariance = PhaseEntryCsv.ReadCovariance(Path.Combine(study, $"covariance-{tag}.txt"), gpEntries.Count);
string candidatesFile = Path.GetFullPath(Environment.GetEnvironmentVariable("CANDIDATES") ?? Path.Combine("data", "barho-candidates.extxyz"));
var start = new Dictionary<string, Structure>(relaxed);
if (names.Any(n => !relaxed.ContainsKey(n)))
{
    foreach (var c in ExtXyz.Read(candidatesFile).Where(c => !start.ContainsKey(CandidateName(c))))
    {
        start[CandidateName(c)] = c;
    }
}

foreach (string n in names.Where(n => !start.ContainsKey(n)))
{
    Console.Error.WriteLine($"{n}: neither relaxed by the study ({string.Join(", ", relaxed.Keys)}) nor in {candidatesFile}");
    return 2;
}

foreach (string n in terminals.Where(n => !relaxed.ContainsKey(n)))
{
    Console.Error.WriteLine($"{n}: a terminal the study did not relax; the GP hull cannot be compared without it");
    return 2;
}

// 1. pw.x vc-relax of each candidate, one at a time.
var namelists = new PwNamelists()
    .Set("control", "calculation", "vc-relax").Set("control", "etot_conv_thr", 1e-5).Set("control", "forc_conv_thr", 1e-3)
    .Set("ions", "ion_dynamics", "bfgs")
    .Set("cell", "cell_dynamics", "bfgs").Set("cell", "press", pressure * 10).Set("cell", "press_conv_thr", 0.5).Set("cell", "cell_dofree", "all");
var settings = new PwInputSettings
{
    Pseudopotentials = new Dictionary<string, string>
    {
        ["Ba"] = "Ba.pbe-spn-rrkjus_psl.1.0.0.UPF", ["Rh"] = "Rh.pbe-spn-rrkjus_psl.1.0.0.UPF", ["O"] = "O.pbe-n-rrkjus_psl.1.0.0.UPF",
    },
    PseudoDirectory = pseudo,
    EcutwfcRy = 45,
    EcutrhoRy = 360,
    Smearing = new PwSmearing("mv", 0.02),
    KSpacingPerA = 0.35,
    Namelists = namelists,
};
var command = PwRunOptions.SplitCommandLine(Environment.GetEnvironmentVariable("PW_COMMAND") ?? "pw.x");
var dft = new Dictionary<string, (double EnergyEv, double VolumeA3, int Atoms, double Seconds)>();
foreach (string name in names)
{
    string dir = Path.Combine(work, name), output = Path.Combine(dir, "pw.out");
    Directory.CreateDirectory(dir);
    var clock = Stopwatch.StartNew();
    if (!(File.Exists(output) && File.ReadAllText(output).Contains("JOB DONE")))
    {
        // An interrupted vc-relax (hours for the 20- and 30-atom cells) continues from its last complete ionic step
        // (the BFGS history starts afresh); the interrupted output is kept as pw.out.N.
        var from = start[name];
        string origin = relaxed.ContainsKey(name) ? "" : " (GP relaxation failed: from the unrelaxed candidate)";
        if (File.Exists(output))
        {
            var done = PwOutput.ReadTolerant(output).Frames;
            int part = 1;
            while (File.Exists($"{output}.{part}"))
            {
                part++;
            }

            File.Move(output, $"{output}.{part}");
            if (done.Count > 0)
            {
                from = done[^1];
                origin = string.Create(inv, $" (continuing from step {done.Count} of the interrupted run, kept as pw.out.{part}: H = {(done[^1].EnergyEv!.Value + Units.GpaToEvPerA3(pressure) * done[^1].VolumeA3) / done[^1].AtomCount:F5} eV/atom)");
            }
        }

        using (var w = new StreamWriter(Path.Combine(dir, "pw.in")))
        {
            PwInput.Write(w, from.CloneWithoutLabels(), settings);
        }

        Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {name}: pw.x vc-relax at {pressure} GPa in {dir}{origin}");
        var psi = new ProcessStartInfo(command[0]) { WorkingDirectory = dir, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in command.Skip(1).Concat(["-in", "pw.in"]))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        await using (var file = File.Create(output))
        {
            await p.StandardOutput.BaseStream.CopyToAsync(file);
        }

        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            Console.Error.WriteLine($"{name}: pw.x exited with {p.ExitCode}; see {output}");
            return 1;
        }
    }

    var final = PwOutput.ReadAll(output)[^1];   // the SCF pw.x adds at the relaxed geometry
    dft[name] = (final.EnergyEv!.Value, final.VolumeA3, final.AtomCount, clock.Elapsed.TotalSeconds);
    Console.Error.WriteLine(string.Create(inv, $"{name}: E = {final.EnergyEv:F5} eV, V = {final.VolumeA3 / final.AtomCount:F3} Å³/atom ({clock.Elapsed.TotalMinutes:F1} min)"));
}

// 2. The DFT hull and the GP's hull over the same candidates.
Composition[] axes = [Composition.Parse("BaO"), Composition.Parse("RhO2")];
var dftDiagram = new PhaseDiagram(names.Select(n => new PhaseEntry(n, start[n].HillFormula(), dft[n].EnergyEv, dft[n].VolumeA3)), pressure, axes);
string[] gpNames = names.Where(n => gpEntries.Any(e => e.Name == n)).ToArray();
int[] pick = gpNames.Select(n => gpEntries.FindIndex(e => e.Name == n)).ToArray();
var gpDiagram = new PhaseDiagram(pick.Select(i => gpEntries[i]), pressure, axes);
var cov = new double[pick.Length, pick.Length];
for (int a = 0; a < pick.Length; a++)
{
    for (int b = 0; b < pick.Length; b++)
    {
        cov[a, b] = gpCovariance[pick[a], pick[b]];
    }
}

var stability = HullUncertainty.Analyze(gpDiagram, cov, new StabilityOptions { Samples = 20_000 });

// 3. Side by side. σ of a formation enthalpy from the joint covariance: H_f = H_i/N_i − Σ_t c_t H_t/N_t.
Console.WriteLine(string.Create(inv, $"GP vs DFT at {pressure} GPa (BaO–RhO2; meV/atom)"));
Console.WriteLine($"{"candidate",-16} {"GP H_f ± σ",16} {"DFT H_f",8} {"Δ/σ",6}  {"GP E_hull [5 %, 95 %]",24} {"DFT E_hull",10}  {"GP p",5} {"DFT",8}  within");
foreach (string n in names.Where(n => !gpNames.Contains(n)))
{
    var d = dftDiagram[n];
    Console.WriteLine(string.Create(inv,
        $"{n,-16} {"GP failed",16} {d.FormationEnthalpyPerAtomEv * 1000,8:F1} {"",6}  {"(relaxation failed)",24} {d.EnergyAboveHullEvPerAtom * 1000,10:F1}  {"",5} {(d.IsStable ? "stable" : "unstable"),8}  (no GP value)"));
}

for (int i = 0; i < gpNames.Length; i++)
{
    string n = gpNames[i];
    var g = gpDiagram[n];
    var d = dftDiagram[n];
    var w = new double[gpNames.Length];
    w[i] += 1 / g.Entry.NumAtoms;
    var c = gpDiagram.GetCoordinates(g.Entry.Composition);
    for (int t = 0; t < 2; t++)
    {
        int ti = Array.IndexOf(gpNames, terminals[t]);
        w[ti] -= c[t] / gpDiagram[terminals[t]].Entry.NumAtoms;
    }

    double var = 0;
    for (int a = 0; a < gpNames.Length; a++)
    {
        for (int b = 0; b < gpNames.Length; b++)
        {
            var += w[a] * cov[a, b] * w[b];
        }
    }

    double sigma = Math.Sqrt(Math.Max(var, 0)), delta = d.FormationEnthalpyPerAtomEv - g.FormationEnthalpyPerAtomEv;
    var s = stability[n];
    bool isTerminal = terminals.Contains(n);
    bool within = isTerminal || (Math.Abs(delta) <= 2 * sigma
        && d.EnergyAboveHullEvPerAtom >= s.EnergyAboveHull.Q05 - 1e-9 && d.EnergyAboveHullEvPerAtom <= s.EnergyAboveHull.Q95 + 1e-9);
    Console.WriteLine(string.Create(inv,
        $"{n,-16} {g.FormationEnthalpyPerAtomEv * 1000,8:F1} ± {sigma * 1000,5:F1} {d.FormationEnthalpyPerAtomEv * 1000,8:F1} {(sigma > 0 ? delta / sigma : 0),6:F2}  {g.EnergyAboveHullEvPerAtom * 1000,7:F1} [{s.EnergyAboveHull.Q05 * 1000,6:F1}, {s.EnergyAboveHull.Q95 * 1000,6:F1}] {d.EnergyAboveHullEvPerAtom * 1000,10:F1}  {s.PStable,5:F2} {(d.IsStable ? "stable" : "unstable"),8}  {(isTerminal ? "(terminal)" : within ? "yes" : "NO")}"));
}

Console.WriteLine(string.Create(inv, $"pw.x wall time: {dft.Values.Sum(v => v.Seconds) / 60:F1} min this run (candidates already done are not rerun)"));
return 0;

static string CandidateName(Structure s) =>
    s.Info.TryGetValue("name", out var n) ? (string)n : s.Info.TryGetValue("config_type", out var c) ? (string)c : "";
