namespace Gpff.Regression;

/// <summary>
/// The fit of a trained GP to the labels of one of its training structures, read off the factorisation
/// (see <see cref="GaussianProcess.TrainingResiduals"/>). Arrays are in the structure's label order
/// (<see cref="TrainingEntry.Labels"/>: [total energy], [force components of the force atoms],
/// [6 stress components]); units eV, eV/Å, eV/Å³.
/// </summary>
public sealed record TrainingResidual
{
    /// <summary>Index of the structure in <see cref="GaussianProcess.Training"/>.</summary>
    public required int StructureIndex { get; init; }

    /// <summary>The training entry (structure and which labels it has).</summary>
    public required TrainingEntry Entry { get; init; }

    /// <summary>Kind of each label (<see cref="LabelKinds.Energy"/>, <see cref="LabelKinds.Forces"/> or <see cref="LabelKinds.Stress"/>).</summary>
    public required LabelKinds[] Kinds { get; init; }

    /// <summary>The training labels (total energy eV, forces eV/Å, stress eV/Å³).</summary>
    public required double[] Labels { get; init; }

    /// <summary>The GP's predictive means of the labels (energy including the prior mean), same units: what predicting the structure gives.</summary>
    public required double[] Mean { get; init; }

    /// <summary>Errors label − mean, in label order (eV, eV/Å, eV/Å³).</summary>
    public double[] Errors() => Labels.Select((y, i) => y - Mean[i]).ToArray();
}

public sealed partial class GaussianProcess
{
    /// <summary>
    /// The training residuals in O(N), without predicting anything again. With C = K + Σ + δI (Σ the
    /// label-noise variances, δ any jitter the factorisation added) and α = C⁻¹(y − m), the predictive
    /// mean at the training labels is m + Kα = m + (C − Σ − δI)α = y − (Σ + δI)α, so each label's
    /// residual is y_i − mean_i = (Σ_ii + δ)·α_i: the label noise variance of its kind
    /// (<see cref="NoiseVariances"/>; a total energy of N atoms (N·σ_E)²) times its entry of α. The prior
    /// mean m (the per-species reference energies) cancels, and the calibration does not touch means.
    /// This equals predicting every training structure's labels (<see cref="PredictLabels"/>, plus the
    /// prior mean for energies) to round-off, at O(N) instead of O(N²) per label. Only the labels the
    /// model was trained on are covered (a structure's energy that was not a training label has no α).
    /// </summary>
    /// <returns>One residual record per training structure, in training order.</returns>
    /// <exception cref="InvalidOperationException">The model is not trained.</exception>
    public IReadOnlyList<TrainingResidual> TrainingResiduals()
    {
        EnsureTrained();
        var alpha = _alpha!;
        double jitter = _factor!.JitterAdded;
        var result = new TrainingResidual[_entries.Count];
        for (int s = 0; s < result.Length; s++)
        {
            var e = _entries[s];
            int o = _offsets[s], b = e.Count;
            var sigma2 = LabelNoise.Variances(e, Noise);
            var kinds = new LabelKinds[b];
            var mean = new double[b];
            for (int i = 0; i < b; i++)
            {
                mean[i] = e.Values[i] - (sigma2[i] + jitter) * alpha[o + i];
                kinds[i] = LabelNoise.LabelKind(e, i);
            }

            result[s] = new TrainingResidual
            {
                StructureIndex = s,
                Entry = e,
                Kinds = kinds,
                Labels = e.Values.ToArray(),
                Mean = mean,
            };
        }

        return result;
    }
}
