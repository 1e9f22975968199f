using System.Globalization;
using Gpff.Descriptors;
using Gpff.IO;

namespace Gpff.Benchmarks;

/// <summary>
/// Writes the B2 descriptor of every atom of every frame of an extxyz file as text, for
/// benchmarks/flarepp/compare_b2.py to compare with FLARE++:
/// <c>b2-dump DATA OUT NMAX LMAX CUTOFF SPECIES(comma-separated atomic numbers)</c>.
/// Output: one line per atom, "frame atom v0 v1 …" with round-trip ("R") doubles.
/// </summary>
internal static class B2Dump
{
    public static void Run(string[] args)
    {
        if (args.Length != 6)
        {
            Console.Error.WriteLine("usage: b2-dump DATA OUT NMAX LMAX CUTOFF_A SPECIES (e.g. 8,45,56)");
            Environment.Exit(2);
        }

        var ci = CultureInfo.InvariantCulture;
        var settings = new B2Settings(
            args[5].Split(',').Select(s => int.Parse(s, ci)).ToArray(),
            int.Parse(args[2], ci), int.Parse(args[3], ci), double.Parse(args[4], ci));
        var descriptor = new DescriptorSettings(0, 0, settings.CutoffFunction) { ManyBody = settings };
        using var w = new StreamWriter(args[1]);
        int frame = 0;
        foreach (var s in ExtXyz.Read(args[0]))
        {
            var envs = StructureEnvironments.Build(s, descriptor);
            for (int i = 0; i < s.AtomCount; i++)
            {
                w.Write(frame.ToString(ci));
                w.Write(' ');
                w.Write(i.ToString(ci));
                foreach (double v in envs[i].B2)
                {
                    w.Write(' ');
                    w.Write(v.ToString("R", ci));
                }

                w.WriteLine();
            }

            frame++;
        }
    }
}
