using Gpff.IO;

namespace Gpff.Cli;

/// <summary>
/// The checks every command runs on its inputs before work starts, so that the same bad input gives
/// the same one-line error, naming the file and frame, whichever command reads it.
/// </summary>
internal static class Inputs
{
    /// <summary>
    /// A trained model as a calculator, full or sparse GP (the file's magic tells which), with the
    /// species it was trained on: what the commands that only evaluate a model (md, relax) need.
    /// </summary>
    /// <param name="path">The model file.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static (ICalculator Calculator, HashSet<int> Species) LoadModel(string path, CancellationToken cancellationToken)
    {
        var calculator = SparseForceField.LoadCalculator(path, cancellationToken);
        var species = calculator switch
        {
            ForceField ff => ff.Species,
            SparseForceField sparse => sparse.Species,
            _ => throw new InvalidOperationException($"{path}: unexpected model kind {calculator.GetType().Name}."),
        };
        return (calculator, species.ToHashSet());
    }

    /// <summary>
    /// The frames of an extended XYZ file, each checked with <see cref="Structure.Validate"/> (finite
    /// coordinates, a usable cell, atoms at least <see cref="Structure.DefaultMinimumDistanceA"/> apart),
    /// read lazily; an error names the file and the frame.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="minimumDistanceA">Smallest allowed interatomic distance in Å.</param>
    public static IEnumerable<Structure> ReadFrames(string path, double minimumDistanceA = Structure.DefaultMinimumDistanceA)
    {
        int index = 0;
        foreach (var s in ExtXyz.Read(path))
        {
            AtFrame(path, index, () => s.Validate(minimumDistanceA, allowLeftHandedCell: true));
            yield return s;
            index++;
        }
    }

    /// <summary>Runs <paramref name="work"/> on frame <paramref name="index"/> (0-based) of <paramref name="path"/>; an input error becomes "PATH, frame N: what is wrong".</summary>
    /// <param name="path">The file the frame comes from.</param>
    /// <param name="index">0-based frame index.</param>
    /// <param name="work">What to do with the frame.</param>
    public static T AtFrame<T>(string path, int index, Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException && ex is not ObjectDisposedException)
        {
            throw new InvalidDataException($"{path}, frame {index + 1}: {CommandLine.OneLine(ex)}", ex);
        }
    }

    /// <summary>Runs <paramref name="work"/> on frame <paramref name="index"/> of <paramref name="path"/>; see <see cref="AtFrame{T}(string, int, Func{T})"/>.</summary>
    /// <param name="path">The file the frame comes from.</param>
    /// <param name="index">0-based frame index.</param>
    /// <param name="work">What to do with the frame.</param>
    public static void AtFrame(string path, int index, Action work) => AtFrame(path, index, () =>
    {
        work();
        return 0;
    });

    /// <summary>Throws when a frame has an atom of a species outside <paramref name="known"/>; the error names the file, frame, atom and the known species.</summary>
    /// <param name="path">The file.</param>
    /// <param name="index">0-based frame index.</param>
    /// <param name="s">The frame.</param>
    /// <param name="known">Atomic numbers known (to the model, or in the training data).</param>
    /// <param name="knownBy">Who knows them ("the model", "the training data").</param>
    public static void CheckSpecies(string path, int index, Structure s, IReadOnlySet<int> known, string knownBy)
    {
        for (int i = 0; i < s.AtomCount; i++)
        {
            if (!known.Contains(s.AtomicNumbers[i]))
            {
                throw new InvalidDataException(
                    $"{path}, frame {index + 1}: atom {i + 1} is {s.Symbol(i)}, a species {knownBy} does not have (it has {string.Join(", ", known.Order().Select(Elements.Symbol))}).");
            }
        }
    }
}
