using System.Globalization;
using System.Text.RegularExpressions;

namespace Gpff.QuantumEspresso.Tests;

/// <summary>
/// A deliberately independent, minimal reader for the reference file barho-train.extxyz written by
/// ASE (fixed Properties=species:S:1:pos:R:3:forces:R:3), so that the pw.x parser is checked against
/// ASE's numbers and not against Gpff's own extxyz code.
/// </summary>
internal sealed record ReferenceFrame(
    string Source, double Energy, double[] Lattice, double[] Stress9, string[] Species, double[][] Positions, double[][] Forces);

internal static class ReferenceExtxyz
{
    public static List<ReferenceFrame> Read(string path)
    {
        var lines = File.ReadAllLines(path);
        var frames = new List<ReferenceFrame>();
        int i = 0;
        while (i < lines.Length && lines[i].Trim().Length > 0)
        {
            int n = int.Parse(lines[i].Trim(), CultureInfo.InvariantCulture);
            var kv = Regex.Matches(lines[i + 1], "(\\w+)=(\"[^\"]*\"|\\S+)")
                .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim('"'));
            Assert.Equal("species:S:1:pos:R:3:forces:R:3", kv["Properties"]);
            var species = new string[n];
            var pos = new double[n][];
            var forces = new double[n][];
            for (int a = 0; a < n; a++)
            {
                var t = lines[i + 2 + a].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                species[a] = t[0];
                pos[a] = t[1..4].Select(Num).ToArray();
                forces[a] = t[4..7].Select(Num).ToArray();
            }

            frames.Add(new ReferenceFrame(kv["source"], Num(kv["energy"]), Nums(kv["Lattice"]), Nums(kv["stress"]), species, pos, forces));
            i += n + 2;
        }

        return frames;
    }

    private static double Num(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static double[] Nums(string s) => s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Num).ToArray();
}
