using MolecularLearning.Core;

namespace MolecularLearning.Dynamics;

public enum ThermostatKind { None, NoseHoover }

/// <summary>
/// How a run integrates: time step (fs), ensemble and thermostat parameters. Defaults follow the
/// CP2K water runs this project learns from (0.5 fs, Nosé–Hoover chain of 3, CP2K's NC 3 / YOSHIDA 3).
/// </summary>
public sealed record MdSettings
{
    public double TimestepFs { get; init; } = 0.5;
    public ThermostatKind Thermostat { get; init; } = ThermostatKind.NoseHoover;
    public double TemperatureK { get; init; } = 300;
    public int ChainLength { get; init; } = 3;
    /// <summary>Thermostat time constant τ (fs), as CP2K's NOSE TIMECON.</summary>
    public double TauFs { get; init; } = 100;
    /// <summary>One chain per atom (CP2K REGION MASSIVE) instead of one for the system (GLOBAL).</summary>
    public bool Massive { get; init; }
    public int MultipleTimeSteps { get; init; } = 3;
    public int YoshidaOrder { get; init; } = 3;
    /// <summary>
    /// Project out the centre-of-mass velocity after every step. Agent forces need not sum to zero
    /// (no Newton's third law), so without it the whole box would drift; the temperature then counts
    /// 3N − 3 degrees of freedom. For conservative forces it changes nothing but rounding.
    /// </summary>
    public bool RemoveCenterOfMassMotion { get; init; } = true;

    public void Validate()
    {
        if (!(TimestepFs > 0) || !double.IsFinite(TimestepFs)) throw new DataException($"time step must be > 0 fs, got {TimestepFs}");
        if (Thermostat == ThermostatKind.NoseHoover)
        {
            if (!(TemperatureK > 0) || !double.IsFinite(TemperatureK)) throw new DataException($"temperature must be > 0 K, got {TemperatureK}");
            if (ChainLength < 1) throw new DataException($"chain length must be ≥ 1, got {ChainLength}");
            if (!(TauFs > 0) || !double.IsFinite(TauFs)) throw new DataException($"thermostat time constant must be > 0 fs, got {TauFs}");
        }
    }

    /// <summary>Degrees of freedom of N atoms under these settings (3N, or 3N − 3 without centre-of-mass motion).</summary>
    public int DegreesOfFreedom(int atoms) => Math.Max(1, RemoveCenterOfMassMotion && atoms > 1 ? 3 * atoms - 3 : 3 * atoms);
}
