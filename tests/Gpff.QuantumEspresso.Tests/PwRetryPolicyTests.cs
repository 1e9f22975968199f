using Gpff.QuantumEspresso;

namespace Gpff.QuantumEspresso.Tests;

public class PwRetryPolicyTests
{
    private static PwInputSettings Settings() => new()
    {
        Pseudopotentials = new Dictionary<string, string> { ["Si"] = "Si.UPF" },
        EcutwfcRy = 20,
    };

    [Fact]
    public void AttemptsScaleMixingAndAddStepsFromPwxDefaults()
    {
        var policy = new PwRetryPolicy { MaxAttempts = 3, MixingBetaFactor = 0.5, ExtraElectronSteps = 100 };
        var s = Settings();
        Assert.Same(s, policy.SettingsForAttempt(s, 1));
        var third = policy.SettingsForAttempt(s, 3);
        Assert.Equal(0.7 * 0.25, (double)third.Namelists.Get("electrons", "mixing_beta")!, 12);
        Assert.Equal(300, third.Namelists.Get("electrons", "electron_maxstep"));
        Assert.Equal(s.EcutwfcRy, third.EcutwfcRy);
        Assert.Null(s.Namelists.Get("electrons", "mixing_beta"));
        Assert.Equal("mixing_beta 0.35, electron_maxstep 200", policy.Describe(s, 2));
    }

    [Fact]
    public void AttemptsStartFromTheInputsOwnValues()
    {
        var s = Settings();
        s.Namelists.Set("electrons", "mixing_beta", 0.4).Set("electrons", "electron_maxstep", 50);
        var second = new PwRetryPolicy().SettingsForAttempt(s, 2);
        Assert.Equal(0.2, (double)second.Namelists.Get("electrons", "mixing_beta")!, 12);
        Assert.Equal(150, second.Namelists.Get("electrons", "electron_maxstep"));
    }

    [Theory]
    [InlineData(PwFailureKind.NotConverged, true)]
    [InlineData(PwFailureKind.Crashed, true)]
    [InlineData(PwFailureKind.Truncated, true)]
    [InlineData(PwFailureKind.PwError, false)]
    [InlineData(PwFailureKind.CouldNotStart, false)]
    [InlineData(PwFailureKind.Timeout, false)]
    [InlineData(PwFailureKind.MissingResults, false)]
    public void OnlyFailuresAnotherTryMayFixAreRetried(PwFailureKind kind, bool retried) => Assert.Equal(retried, PwRetryPolicy.IsRetried(kind));

    [Theory]
    [InlineData(0, 0.5, 100, "PwRetryPolicy.MaxAttempts = 0: at least 1 attempt.")]
    [InlineData(3, 0.0, 100, "PwRetryPolicy.MixingBetaFactor = 0: must be in (0, 1].")]
    [InlineData(3, 1.5, 100, "PwRetryPolicy.MixingBetaFactor = 1.5: must be in (0, 1].")]
    [InlineData(3, 0.5, -1, "PwRetryPolicy.ExtraElectronSteps = -1: must be ≥ 0.")]
    public void BadPolicyIsRefusedByTheCalculator(int attempts, double factor, int steps, string message)
    {
        var policy = new PwRetryPolicy { MaxAttempts = attempts, MixingBetaFactor = factor, ExtraElectronSteps = steps };
        var ex = Assert.Throws<ArgumentException>(() => new PwCalculator(Settings(), new PwRunOptions { Retry = policy }));
        Assert.Equal(message, ex.Message);
    }
}
