using System.Globalization;
using System.Text.RegularExpressions;

namespace MolecularLearning.Cli.Tests;

/// <summary>`mld run`'s end-of-run report as a user meets it: the built mld.dll run as a process.</summary>
public sealed class RunVerbTests
{
    private static MldProcess.Result Mld(params string[] args) => MldProcess.Run(TimeSpan.FromSeconds(120), args);

    /// <summary>
    /// An agent model's run says how much heat its thermostat took out and, for a global chain of more than one link, the
    /// warm offset that heat can cause, τP/(N_f k_B) (docs/thermostats.md); a chain of one link and the massive chains
    /// get no such line. The model pumps about 10 eV/ps (integration/agent/chain-offset-*), so 1 ps shows it.
    /// </summary>
    [Fact]
    public void AnAgentRunUnderAGlobalChainReportsItsHeatAndTheChainsOffsetBound()
    {
        string agent = MldProcess.RepositoryPath("integration/agent/models/agent-gradientwalls.json");
        string Run(params string[] options)
        {
            var (c, stdout, e) = Mld(["run", agent, "--from", MldProcess.RepositoryPath("samples/water32-xtb"), "--steps", "2000", "--every", "2000", .. options]);
            Assert.True(c == 0, e);
            return stdout;
        }
        string global = Run("--massive", "false", "--tau", "100");
        var heat = Regex.Match(global, @"heat: the thermostat took out (\d+\.\d+) eV/ps, the agent forces' net work once the run is steady; a global chain of 3 links taking it out settles warm by up to τP/\(N_f k_B\) = (\d+\.\d) K");
        Assert.True(heat.Success, global);
        double p = double.Parse(heat.Groups[1].Value, CultureInfo.InvariantCulture);
        double bound = double.Parse(heat.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.InRange(p, 2, 50);
        // 96 atoms without the centre-of-mass motion: N_f = 285; τ = 100 fs.
        Assert.Equal(100 * p / 1000 / (285 * 8.617333262e-5), bound, 0.051 + 0.001 * bound);
        Assert.DoesNotContain("heat:", Run("--massive", "false", "--tau", "100", "--chain", "1"));
        Assert.DoesNotContain("heat:", Run());
    }
}
