using Gpff.Dynamics;

namespace Gpff;

/// <summary>
/// The shortest interatomic distances a trained model has seen (<see cref="TrainingDistances"/>), read from what
/// the model file already holds, so that no file format changes: the training structures of a full GP, the
/// inducing environments (central atom to each neighbour) of a sparse GP.
/// </summary>
public static class ModelTrainingDistances
{
    /// <summary>
    /// The shortest distance of each species pair in the model's training data, within the kernel's cutoff:
    /// exact for a full GP (<see cref="ForceField"/>, every training structure is kept); for a sparse GP
    /// (<see cref="SparseForceField"/>) over its inducing environments, a subset of the training atoms, so each
    /// distance is at least the true shortest one and the check is somewhat stricter.
    /// </summary>
    /// <param name="model">A trained <see cref="ForceField"/> or <see cref="SparseForceField"/>.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The distances, or null for an untrained model or another kind of calculator.</returns>
    public static TrainingDistances? Of(ICalculator model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        switch (model)
        {
            case ForceField ff when ff.Model.Training.Count > 0:
                return TrainingDistances.FromStructures(ff.Model.Training.Select(e => e.Structure), ff.Model.Kernel.CutoffA, cancellationToken);
            case SparseForceField { Model: { InducingCount: > 0 } sparse }:
                return TrainingDistances.FromPairs(sparse.Inducing.SelectMany(Pairs), sparse.Kernel.CutoffA);
            default:
                return null;
        }

        static IEnumerable<(int, int, double)> Pairs(Descriptors.EnvironmentCluster c)
        {
            for (int k = 0; k < c.NeighborCount; k++)
            {
                yield return (c.CentralSpecies, c.NeighborSpecies[k], c.NeighborVectorsA[k].Length);
            }
        }
    }
}
