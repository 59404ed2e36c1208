using System.Globalization;

namespace MolecularLearning.Dynamics;

/// <summary>
/// The thermostat `mld run` uses when the user names none, chosen from the forces' kind so the defaults hold:
/// agent-mode (non-conservative) forces pump heat in locally and a single global chain cannot take it out where it
/// goes in (the default agent model diverged after 2.3–3.4 ps with the global chain, τ 100 fs); a massive chain
/// (one per atom) with τ 10 fs held. Conservative forces get CP2K's global chain, τ 100 fs, which disturbs
/// the dynamics least. Whatever the user gives explicitly wins.
/// </summary>
public static class ThermostatChoice
{
    public const double AgentTauFs = 10;
    public const double ConservativeTauFs = 100;

    /// <summary>
    /// Settings for forces that are (or are not) <paramref name="conservative"/>, with the user's explicit choices
    /// (null: not given) applied on top; and one line saying what was chosen and why.
    /// </summary>
    public static (MdSettings Settings, string Line) For(bool conservative, MdSettings given,
        ThermostatKind? kind, bool? massive, double? tauFs)
    {
        var chosenKind = kind ?? ThermostatKind.NoseHoover;
        bool chosenMassive = massive ?? !conservative;
        double chosenTau = tauFs ?? (chosenMassive ? AgentTauFs : ConservativeTauFs);
        var settings = given with { Thermostat = chosenKind, Massive = chosenMassive, TauFs = chosenTau };
        var inv = CultureInfo.InvariantCulture;
        if (chosenKind == ThermostatKind.None)
            return (settings, "thermostat: none (NVE), as given");
        string what = string.Create(inv, $"thermostat: Nosé–Hoover chain of {settings.ChainLength}, {(chosenMassive ? "massive (one per atom)" : "global")}, τ {chosenTau:0.###} fs, {settings.TemperatureK:0.#} K");
        // Name only what was defaulted: `--massive false --tau 100` is the user's global chain, not the agent default.
        string forces = conservative ? "conservative forces" : "agent-mode forces, which a global chain lets heat up locally";
        string why = (massive, tauFs) switch
        {
            (null, null) => $"the default for {forces}",
            (null, _) => $"{(chosenMassive ? "massive" : "global")} by default for {forces}",
            (_, null) => $"τ by default for a {(chosenMassive ? "massive" : "global")} chain",
            _ => "as given",
        };
        return (settings, $"{what}: {why}");
    }
}
