namespace Gpff.Regression;

/// <summary>
/// The closed-form leave-one-structure-out (LOSO) prediction of the labels of one training structure:
/// what the GP would predict for them had it been trained, with the same hyperparameters, noises and
/// reference energies, on all the other structures (see <see cref="GaussianProcess.LeaveOneStructureOut"/>).
/// Arrays are in the structure's label order (<see cref="TrainingEntry.Labels"/>: [total energy],
/// [force components of the force atoms], [6 stress components]); units eV, eV/Å, eV/Å³ and their squares.
/// </summary>
public sealed record LeaveOneOutPrediction
{
    /// <summary>Index of the structure in <see cref="GaussianProcess.Training"/>.</summary>
    public required int StructureIndex { get; init; }

    /// <summary>The training entry (structure and which labels it has).</summary>
    public required TrainingEntry Entry { get; init; }

    /// <summary>Kind of each label (<see cref="LabelKinds.Energy"/>, <see cref="LabelKinds.Forces"/> or <see cref="LabelKinds.Stress"/>).</summary>
    public required LabelKinds[] Kinds { get; init; }

    /// <summary>The training labels (total energy eV, forces eV/Å, stress eV/Å³).</summary>
    public required double[] Labels { get; init; }

    /// <summary>The LOSO predictive means of the labels (energy including the prior mean), same units.</summary>
    public required double[] Mean { get; init; }

    /// <summary>
    /// LOSO predictive variances of the noisy labels (latent variance plus the label noise variance):
    /// the variance of the error of <see cref="Mean"/> against the DFT label; eV², eV²/Å², eV²/Å⁶. Uncalibrated.
    /// </summary>
    public required double[] NoisyLabelVariance { get; init; }

    /// <summary>LOSO predictive variances of the latent function (noise variance subtracted), same units. Uncalibrated.</summary>
    public required double[] LatentVariance { get; init; }

    /// <summary>Errors label − mean, in label order (eV, eV/Å, eV/Å³).</summary>
    public double[] Errors() => Labels.Select((y, i) => y - Mean[i]).ToArray();
}

/// <summary>
/// How a calibration scale did on the leave-one-structure-out residuals of one label kind.
/// z = error / σ with σ the predicted standard deviation of the noisy label (latent and noise).
/// </summary>
/// <param name="Kind">The label kind.</param>
/// <param name="Labels">Number of LOSO labels of that kind.</param>
/// <param name="Scale">The calibration scale s applied to the standard deviations (1: none).</param>
/// <param name="RmsZBefore">rms(z) with the uncalibrated σ (1 for a well-calibrated GP).</param>
/// <param name="RmsZAfter">rms(z) with σ·s.</param>
/// <param name="WithinOneSigmaBefore">Fraction of errors with |z| ≤ 1, uncalibrated (0.683 for Gaussian errors with the right σ).</param>
/// <param name="WithinOneSigmaAfter">Fraction of errors with |error| ≤ σ·s.</param>
/// <param name="WithinOneLatentSigmaAfter">
/// Fraction of errors within the calibrated standard deviation of the latent function (σ_latent·s,
/// what predictions report): smaller than <paramref name="WithinOneSigmaAfter"/> where the label noise
/// is a large part of the error.
/// </param>
public sealed record CalibrationCheck(LabelKinds Kind, int Labels, double Scale, double RmsZBefore, double RmsZAfter, double WithinOneSigmaBefore, double WithinOneSigmaAfter, double WithinOneLatentSigmaAfter);

/// <summary>How <see cref="UncertaintyCalibration.FromLeaveOneOut"/> estimates a scale from normalised errors z = e/σ.</summary>
public enum CalibrationEstimator
{
    /// <summary>
    /// s = rms(z): the maximum-likelihood variance scale for Gaussian errors; the calibrated variances are
    /// right on average, as variance propagation (the hull) needs. The default.
    /// </summary>
    RootMeanSquare,

    /// <summary>
    /// s = the 68.27 % quantile of |z|: 68.27 % of the LOSO errors fall within one calibrated σ whatever
    /// the shape of their distribution. With heavy-tailed errors (a few large misses, as real DFT data
    /// show) it gives a smaller s than <see cref="RootMeanSquare"/>, and variances that underestimate
    /// the mean squared error.
    /// </summary>
    Coverage,
}

/// <summary>
/// One scale factor per label kind that multiplies every predictive standard deviation the GP reports
/// (and its variances and covariances by the square), fitted to the closed-form leave-one-structure-out
/// residuals of the training data.
/// <para>
/// Estimator: s_k² = mean over the LOSO labels of kind k of e²/v, with e the LOSO error and v the
/// predicted variance of the noisy label. It is the maximum-likelihood estimate of a variance scale
/// s_k² under the model e ~ N(0, s_k² v) for independent labels, i.e. it maximises the LOSO
/// pseudo-likelihood (Rasmussen &amp; Williams §5.4.2) over s_k; it makes rms(e/σ) = 1 on the
/// training data. Multiplying both K and the noise Σ by s² leaves every predictive mean unchanged
/// and multiplies every predictive variance, latent or noisy, by s²; the per-kind scale is the same
/// rescaling done separately for energies, forces and stresses. Correlations between labels of one
/// structure are ignored (each label counts once), and with few structures s_k is itself uncertain.
/// </para>
/// </summary>
/// <param name="EnergyScale">Scale of energy standard deviations (total and local energies), dimensionless.</param>
/// <param name="ForceScale">Scale of force standard deviations, dimensionless.</param>
/// <param name="StressScale">Scale of stress standard deviations, dimensionless.</param>
public sealed record UncertaintyCalibration(double EnergyScale, double ForceScale, double StressScale)
{
    /// <summary>No calibration: all scales 1 (models trained without calibration, model files of format versions 1 and 2).</summary>
    public static UncertaintyCalibration None { get; } = new(1, 1, 1);

    /// <summary>True when every scale is 1.</summary>
    public bool IsNone => EnergyScale == 1 && ForceScale == 1 && StressScale == 1;

    /// <summary>The scale of one label kind.</summary>
    /// <param name="kind">A single kind: <see cref="LabelKinds.Energy"/>, <see cref="LabelKinds.Forces"/> or <see cref="LabelKinds.Stress"/>.</param>
    public double Scale(LabelKinds kind) => kind switch
    {
        LabelKinds.Energy => EnergyScale,
        LabelKinds.Forces => ForceScale,
        LabelKinds.Stress => StressScale,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Give one label kind: Energy, Forces or Stress."),
    };

    /// <summary>Throws when a scale is not positive and finite.</summary>
    public void Validate()
    {
        foreach (var (name, v) in new[] { ("energy", EnergyScale), ("force", ForceScale), ("stress", StressScale) })
        {
            if (!(v > 0) || !double.IsFinite(v))
            {
                throw new ArgumentOutOfRangeException(nameof(UncertaintyCalibration), v, $"The {name} calibration scale must be positive and finite.");
            }
        }
    }

    /// <summary>
    /// The calibration fitted to leave-one-structure-out predictions: s_k = sqrt(mean e²/v) over the
    /// labels of kind k (see the type's remarks); 1 for a kind without labels.
    /// </summary>
    /// <param name="predictions">LOSO predictions (<see cref="GaussianProcess.LeaveOneStructureOut"/>).</param>
    /// <param name="estimator">The estimator (default <see cref="CalibrationEstimator.RootMeanSquare"/>, as described above).</param>
    public static UncertaintyCalibration FromLeaveOneOut(IEnumerable<LeaveOneOutPrediction> predictions, CalibrationEstimator estimator = CalibrationEstimator.RootMeanSquare)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        var list = predictions.ToList();
        double S(LabelKinds kind)
        {
            var z = Normalised(list, kind, latent: false).Select(Math.Abs).ToList();
            double s = z.Count == 0 ? 1 : estimator == CalibrationEstimator.Coverage ? Quantile(z, OneSigmaCoverage) : Math.Sqrt(z.Average(x => x * x));
            return s > 0 && double.IsFinite(s) ? s : 1;
        }

        return new UncertaintyCalibration(S(LabelKinds.Energy), S(LabelKinds.Forces), S(LabelKinds.Stress));
    }

    /// <summary>
    /// rms(error/σ) and the fraction of errors within one σ per label kind, before and after this
    /// calibration, on LOSO predictions (σ of the noisy label). Kinds without labels are left out.
    /// </summary>
    /// <param name="predictions">LOSO predictions.</param>
    public IReadOnlyList<CalibrationCheck> Check(IEnumerable<LeaveOneOutPrediction> predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        var list = predictions.ToList();
        var result = new List<CalibrationCheck>();
        foreach (var kind in new[] { LabelKinds.Energy, LabelKinds.Forces, LabelKinds.Stress })
        {
            var z = Normalised(list, kind, latent: false).ToList();
            if (z.Count == 0)
            {
                continue;
            }

            var zLatent = Normalised(list, kind, latent: true).ToList();
            double s = Scale(kind);
            double rms = Math.Sqrt(z.Average(x => x * x));
            result.Add(new CalibrationCheck(kind, z.Count, s, rms, rms / s, z.Count(x => Math.Abs(x) <= 1) / (double)z.Count, z.Count(x => Math.Abs(x) <= s) / (double)z.Count,
                zLatent.Count(x => Math.Abs(x) <= s) / (double)z.Count));
        }

        return result;
    }

    /// <summary>P(|z| ≤ 1) for a standard normal z: erf(1/√2).</summary>
    public const double OneSigmaCoverage = 0.6826894921370859;

    /// <summary>The q-quantile of values by linear interpolation between order statistics (type 7).</summary>
    private static double Quantile(List<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        double h = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(h);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>Uncalibrated error/σ (of the noisy label, or of the latent function) for the LOSO labels of one kind.</summary>
    private static IEnumerable<double> Normalised(List<LeaveOneOutPrediction> list, LabelKinds kind, bool latent)
    {
        foreach (var p in list)
        {
            for (int i = 0; i < p.Kinds.Length; i++)
            {
                if (p.Kinds[i] == kind)
                {
                    double v = latent ? Math.Max(p.LatentVariance[i], 0) : p.NoisyLabelVariance[i];
                    yield return (p.Labels[i] - p.Mean[i]) / Math.Sqrt(v);
                }
            }
        }
    }
}
