namespace Gpff;

/// <summary>
/// A calculator that learns (a GP force field): on-the-fly active learning adds reference labels to it
/// where it is uncertain, refits it, and saves it in checkpoints. The seam that lets the dynamics layer
/// drive a model without knowing how it is built. Its <see cref="ICalculator.Calculate"/> must give
/// force standard deviations with <see cref="CalculatorProperties.Uncertainty"/>.
/// </summary>
public interface ILearningCalculator : ICalculator
{
    /// <summary>The model's force-label noise (standard deviation per component) in eV/Å, the scale of a relative uncertainty threshold.</summary>
    double ForceNoiseEvPerA { get; }

    /// <summary>Number of structures in the training data.</summary>
    int TrainingStructureCount { get; }

    /// <summary>
    /// Adds a labelled structure to the training data and updates the model (a block update for a
    /// trained GP): its energy and stress, where labelled, and the forces of the atoms selected.
    /// </summary>
    /// <param name="structure">Labelled with the reference energy (eV), forces (eV/Å) and stress (eV/Å³); copied.</param>
    /// <param name="forceAtoms">Atoms whose forces to add (null: all).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    void AddTrainingData(Structure structure, IReadOnlyList<int>? forceAtoms, CancellationToken cancellationToken = default);

    /// <summary>Refits the hyperparameters (and noises) to all training data, starting from the current ones, and retrains.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    void Refit(CancellationToken cancellationToken = default);

    /// <summary>Saves the model to a file atomically (a temporary file renamed over the destination).</summary>
    /// <param name="path">Destination.</param>
    void SaveModel(string path);
}
