using System.Text;
using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.Core.Tests;

/// <summary>
/// The atomic writer, the output guard, stale-temporary clean-up, the memory guard, bounded line
/// reading, and the extxyz reader's and writer's refusal of non-finite numbers.
/// </summary>
public sealed class SafeFileTests : IDisposable
{
    private const string Previous = "the previous content, which must survive\n";
    private readonly string _dir = Directory.CreateTempSubdirectory("gpff-safe-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static Structure Water() =>
        new(new[] { "O", "H", "H" }, [new Vec3(0, 0, 0), new Vec3(0.96, 0, 0), new Vec3(-0.24, 0.93, 0)], 10 * Mat3.Identity, Pbc.All) { EnergyEv = -14.2 };

    [Fact]
    public void AWriteThatFailsMidwayLeavesThePreviousFileByteIdenticalAndNoTemporary()
    {
        string path = P("out.dat");
        File.WriteAllText(path, Previous);
        var ex = Assert.Throws<IOException>(() => SafeFile.WriteAtomic(path, s =>
        {
            s.Write(new byte[100_000]);
            throw new IOException("disk pulled out");
        }));
        Assert.Equal("disk pulled out", ex.Message);
        Assert.Equal(Previous, File.ReadAllText(path));
        Assert.Equal(["out.dat"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void AWriteThatCannotStartNamesTheFileAskedForNotTheTemporary()
    {
        string path = P("gone/out.dat");
        var e = Assert.Throws<DirectoryNotFoundException>(() => SafeFile.WriteAtomic(path, s => s.Write("x"u8)));
        Assert.StartsWith($"Cannot write '{path}': ", e.Message);
        Assert.DoesNotContain(".tmp", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACancelledWriteNeverReplacesTheFile()
    {
        string path = P("out.dat");
        File.WriteAllText(path, Previous);
        using var cts = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => SafeFile.WriteAtomic(path, s =>
        {
            s.Write("new"u8);
            cts.Cancel();
        }, cts.Token));
        Assert.Equal(Previous, File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void ExtXyzWriteInterruptedByAFailingFrameSourceKeepsThePreviousFile()
    {
        string path = P("data.extxyz");
        File.WriteAllText(path, Previous);
        IEnumerable<Structure> Frames()
        {
            yield return Water();
            throw new InvalidOperationException("the calculator died");
        }

        Assert.Throws<InvalidOperationException>(() => ExtXyz.Write(path, Frames()));
        Assert.Equal(Previous, File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Theory]
    [InlineData("data.extxyz")]
    [InlineData("data.extxyz.gz")]
    public void ExtXyzWriteStoppedByAnInvalidFrameMidwayKeepsThePreviousFileByteIdenticalAndLeavesNoTemporary(string name)
    {
        string path = P(name);
        File.WriteAllText(path, Previous);
        var bad = Water();
        bad.Positions[1] = new Vec3(double.PositiveInfinity, 0, 0);
        var snapshot = FolderSnapshot.Take(_dir);
        var e = Assert.Throws<InvalidDataException>(() => ExtXyz.Write(path, [Water(), Water(), bad, Water()]));
        Assert.Equal($"frame 3: atom 2 (H) has a non-finite position {bad.Positions[1]}; not written.", e.Message);
        snapshot.AssertUnchanged();
    }

    [Fact]
    public void ExtXyzWriteStoppedByAFailingLazySourceMidwayKeepsThePreviousFileByteIdenticalAndLeavesNoTemporary()
    {
        string path = P("data.extxyz");
        File.WriteAllText(path, Previous);
        IEnumerable<Structure> Frames()
        {
            for (int i = 0; i < 50; i++)
            {
                yield return Water();
            }

            throw new IOException("the source file went away after frame 50");
        }

        var snapshot = FolderSnapshot.Take(_dir);
        var e = Assert.Throws<IOException>(() => ExtXyz.Write(path, Frames()));
        Assert.Equal("the source file went away after frame 50", e.Message);
        snapshot.AssertUnchanged();
    }

    [Theory]
    [InlineData("energy", "the energy is NaN")]
    [InlineData("force", "atom 2 (H) has a non-finite force")]
    [InlineData("stress", "the stress has a non-finite component")]
    [InlineData("position", "atom 3 (H) has a non-finite position")]
    public void ExtXyzRefusesToWriteANonFiniteNumberAndWritesNothing(string what, string message)
    {
        var s = Water();
        switch (what)
        {
            case "energy": s.EnergyEv = double.NaN; break;
            case "force": s.ForcesEvPerA = [Vec3.Zero, new Vec3(double.NaN, 0, 0), Vec3.Zero]; break;
            case "stress": s.StressEvPerA3 = new Voigt(0, 0, double.PositiveInfinity, 0, 0, 0); break;
            default: s.Positions[2] = new Vec3(0, double.NaN, 0); break;
        }

        string path = P("out.extxyz");
        var e = Assert.Throws<InvalidDataException>(() => ExtXyz.Write(path, [Water(), s]));
        Assert.StartsWith("frame 2: " + message, e.Message);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Theory]
    [InlineData("Lattice=\"5 0 0 0 NaN 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3 energy=-1", "O 0 0 0 0 0 0", 2, "key 'Lattice': a value is not a finite number")]
    [InlineData("Lattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3 energy=NaN", "O 0 0 0 0 0 0", 2, "key 'energy': a value is not a finite number")]
    [InlineData("Lattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3 stress=\"0 0 0 0 Infinity 0 0 0 0\"", "O 0 0 0 0 0 0", 2, "key 'stress': a value is not a finite number")]
    [InlineData("Lattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3 virial=\"0 0 0 0 NaN 0 0 0 0\"", "O 0 0 0 0 0 0", 2, "key 'virial': a value is not a finite number")]
    [InlineData("Lattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3", "O NaN 0 0 0 0 0", 3, "atom 1, column 'pos': 'NaN' is not a finite number")]
    [InlineData("Lattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3", "O 0 0 0 0 -Infinity 0", 3, "atom 1, column 'forces': '-Infinity' is not a finite number")]
    public void ExtXyzReaderRefusesNonFiniteCellsPositionsAndLabelsNamingFileFrameAndLine(string comment, string atom, int line, string message)
    {
        string path = P("bad.extxyz");
        File.WriteAllText(path, $"1\n{comment}\n{atom}\n");
        var e = Assert.Throws<ExtXyzFormatException>(() => ExtXyz.Read(path).ToList());
        Assert.Equal($"{path}, frame 1, line {line}: {message}" + (message.StartsWith("key", StringComparison.Ordinal) ? " (NaN or infinity)." : "."), e.Message);
    }

    [Fact]
    public void ExtXyzWritesGzipForAGzNameThroughTheAtomicWriter()
    {
        string path = P("data.extxyz.gz");
        ExtXyz.Write(path, [Water(), Water()]);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0x1f, bytes[0]);
        Assert.Equal(0x8b, bytes[1]);
        Assert.Equal(2, ExtXyz.Read(path).Count());
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void ExtXyzAppendRefusesAFileThatIsNotExtxyzAndLeavesItIntact()
    {
        string path = P("notes.txt");
        File.WriteAllText(path, Previous);
        var e = Assert.Throws<InvalidDataException>(() => ExtXyz.Write(path, [Water()], append: true));
        Assert.StartsWith($"Cannot append to '{path}': it is not an extended XYZ file ({path}, frame 1, line 1: expected the number of atoms", e.Message);
        Assert.Equal(Previous, File.ReadAllText(path));

        string good = P("good.extxyz");
        ExtXyz.Write(good, [Water()]);
        ExtXyz.Write(good, [Water()], append: true);
        Assert.Equal(2, ExtXyz.Read(good).Count());

        string gz = P("good.extxyz.gz");
        ExtXyz.Write(gz, [Water()]);
        ExtXyz.Write(gz, [Water(), Water()], append: true); // a second gzip member
        Assert.Equal(3, ExtXyz.Read(gz).Count());
    }

    [Fact]
    public void CheckOutputRefusesAnInputUnderAnotherSpellingOrALinkAMissingFolderAndAFolder()
    {
        string input = P("in.extxyz");
        File.WriteAllText(input, Previous);
        Directory.CreateDirectory(P("sub"));
        Assert.Contains("is also an input", Assert.Throws<ArgumentException>(() => SafeFile.CheckOutput(P("sub/../in.extxyz"), [input], "-o")).Message);
        if (!OperatingSystem.IsWindows())
        {
            File.CreateSymbolicLink(P("link.extxyz"), input);
            Assert.Contains("is also an input", Assert.Throws<ArgumentException>(() => SafeFile.CheckOutput(P("link.extxyz"), [input], "-o")).Message);
            Directory.CreateSymbolicLink(P("dirlink"), _dir);
            Assert.Contains("is also an input", Assert.Throws<ArgumentException>(() => SafeFile.CheckOutput(Path.Combine(P("dirlink"), "in.extxyz"), [input], "-o")).Message);
        }

        Assert.Equal($"-o '{P("nofolder/x")}': the folder '{P("nofolder")}' does not exist.", Assert.Throws<DirectoryNotFoundException>(() => SafeFile.CheckOutput(P("nofolder/x"), null, "-o")).Message);
        Assert.Equal($"-o '{P("sub")}' is a folder; give a file name.", Assert.Throws<ArgumentException>(() => SafeFile.CheckOutput(P("sub"), null, "-o")).Message);
        Assert.Equal(P("new.extxyz"), SafeFile.CheckOutput(P("new.extxyz"), [input, null], "-o"));
        Assert.Equal(Previous, File.ReadAllText(input));
        Assert.False(File.Exists(P("new.extxyz")));
        Assert.DoesNotContain(Directory.GetFiles(_dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void CheckOutputRefusesAHardLinkToAnInputOnLinux()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // device and inode are read with statx(2); elsewhere only resolved paths are compared
        }

        string input = P("data.extxyz");
        string other = P("other.extxyz");
        string hard = P("hard.extxyz");
        File.WriteAllText(input, Previous);
        File.WriteAllText(other, Previous);
        using (var ln = System.Diagnostics.Process.Start("ln", [input, hard])!)
        {
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
        }

        Assert.True(SafeFile.IsSameFile(hard, input));
        Assert.False(SafeFile.IsSameFile(other, input)); // same content, another file
        Assert.False(SafeFile.IsSameFile(P("missing.extxyz"), input));
        var snapshot = FolderSnapshot.Take(_dir);
        var e = Assert.Throws<ArgumentException>(() => SafeFile.CheckOutput(hard, [input], "-o"));
        Assert.Equal($"-o '{hard}' is also an input ('{input}'); writing it would destroy that input. Choose another output name.", e.Message);
        snapshot.AssertUnchanged();
    }

    [Fact]
    public void StaleTemporariesOfDeadProcessesAreRemovedAndNothingElse()
    {
        string output = P("model.gpff");
        int dead = DeadPid();
        string stale = P($".model.gpff.{dead}.{Guid.NewGuid():N}.tmp");
        string mine = P($".model.gpff.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        string noPid = P(".model.gpff.tmp");
        string otherName = P($".other.gpff.{dead}.{Guid.NewGuid():N}.tmp");
        string notHex = P($".model.gpff.{dead}.not-a-guid.tmp");
        foreach (var f in new[] { stale, mine, noPid, otherName, notHex })
        {
            File.WriteAllText(f, "x");
        }

        Assert.True(SafeFile.IsTemporaryOf(Path.GetFileName(stale), "model.gpff"));
        Assert.False(SafeFile.IsTemporaryOf(Path.GetFileName(notHex), "model.gpff"));
        Assert.Equal(1, SafeFile.RemoveStaleTemporaries(output));
        Assert.False(File.Exists(stale));
        Assert.All(new[] { mine, noPid, otherName, notHex }, f => Assert.True(File.Exists(f), f));

        // A write removes them too.
        string stale2 = P($".model.gpff.{dead}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(stale2, "x");
        SafeFile.WriteAtomic(output, s => s.Write("model"u8));
        Assert.False(File.Exists(stale2));
        Assert.Equal("model", File.ReadAllText(output));
    }

    [Fact]
    public void ResourceGuardRefusesWithTheEstimateAndHowToReduceIt()
    {
        var e = Assert.Throws<ResourceLimitException>(() => ResourceGuard.EnsureFits(3.0 * (1L << 30), "The thing", "use less", availableBytes: 4L << 30));
        Assert.Equal("The thing would need about 3 GiB, more than half of the 4 GiB of memory available; use less.", e.Message);
        Assert.Equal(4L << 30, e.AvailableBytes);
        ResourceGuard.EnsureFits(2.0 * (1L << 30), "The thing", "use less", availableBytes: 4L << 30);
        Assert.Throws<ResourceLimitException>(() => ResourceGuard.EnsureFits(double.NaN, "x", "y", 1L << 40));
    }

    [Fact]
    public void ANeighbourListFarBeyondMemoryIsRefusedBeforeAllocating()
    {
        var s = new Structure(new[] { "O" }, [Vec3.Zero], 0.11 * Mat3.Identity, Pbc.All);
        var e = Assert.Throws<ResourceLimitException>(() => NeighborList.Build(s, 1000));
        Assert.StartsWith("The neighbour list of this 1-atom cell (0.001331 Å³, perpendicular widths 0.11, 0.11, 0.11 Å) within 1000 Å", e.Message);
        Assert.EndsWith("check the cell, which is far smaller than the cutoff's reach, or use a smaller cutoff.", e.Message);
    }

    [Fact]
    public void ASlabFarNarrowerThanTheCutoffIsRefusedBeforeAllocatingAndARealSlabIsNot()
    {
        // Ten atoms stacked along the free axis of a 0.11 Å × 0.11 Å periodic column: about 3·10⁷ images within 300 Å.
        var pos = Enumerable.Range(0, 10).Select(i => new Vec3(0, 0, 0.2 * i)).ToArray();
        var column = new Structure(Enumerable.Repeat(8, 10), pos, Mat3.Diagonal(0.11, 0.11, 0), new Pbc(true, true, false));
        var e = Assert.Throws<ResourceLimitException>(() => NeighborList.Build(column, 300));
        Assert.StartsWith("The neighbour list of this 10-atom cell, periodic along a, b (perpendicular widths 0.11, 0.11, 1 Å), within 300 Å (2.98E+07 periodic images", e.Message);
        Assert.EndsWith("check the cell, which is far narrower than the cutoff's reach along a periodic axis, or use a smaller cutoff.", e.Message);

        // A 200-atom slab 10 Å wide with a 5 Å cutoff: 3 × 3 images, not checked, built.
        var slabPos = Enumerable.Range(0, 200).Select(i => new Vec3(10 * ((i % 14) + 0.5) / 14, 10 * ((i / 14 % 14) + 0.5) / 14, 2.0 * (i / 196))).ToArray();
        var slab = new Structure(Enumerable.Repeat(8, 200), slabPos, Mat3.Diagonal(10, 10, 0), new Pbc(true, true, false));
        Assert.True(NeighborList.Build(slab, 5).EntryCount > 0);
    }

    [Fact]
    public void BoundedLineReaderReadsAllLineEndsAndRefusesAnEndlessLine()
    {
        var bytes = Encoding.UTF8.GetBytes("a\r\nb\rc\n\nlast");
        using (var r = new StreamReader(new MemoryStream(bytes)))
        {
            var lines = new BoundedLineReader(r, "mem");
            var got = new List<string>();
            for (string? l; (l = lines.ReadLine()) is not null;)
            {
                got.Add(l);
            }

            Assert.Equal(["a", "b", "c", "", "last"], got);
            Assert.Equal(5, lines.LineNumber);
        }

        using var endless = new StreamReader(new MemoryStream(Encoding.UTF8.GetBytes("ok\n" + new string('x', 5000))));
        var bounded = new BoundedLineReader(endless, "big.txt", maxLineLength: 1000);
        Assert.Equal("ok", bounded.ReadLine());
        var e = Assert.Throws<InvalidDataException>(() => bounded.ReadLine());
        Assert.Equal("big.txt, line 2: longer than 1000 characters without a line break; this is not a text file of the expected format.", e.Message);
    }

    private static int DeadPid()
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }
}
