using System.Globalization;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// Ranks that own no atoms: every rank takes part in each step's collectives (the ranks agree on when to rebuild their
/// lists), so a rank with ghosts only, or with no atom at all, must neither hang the others nor change the run.
/// </summary>
public sealed class LammpsRanksTests(CoupledModels models) : IClassFixture<CoupledModels>
{
    /// <summary>The 96-atom box in a longer box along x, split along x only: the water sits on the first rank's side.</summary>
    private const string Input = """
        units           metal
        atom_style      atomic
        boundary        p p p
        processors      ${px} 1 1
        read_data       water96.data
        change_box      all x final 0 ${lx} boundary ${bx} p p
        displace_atoms  all move ${shift} 0 0
        comm_modify     cutoff 8
        neighbor        2.0 bin
        neigh_modify    every 1 delay 0 check yes
        fix             mld all external pf/callback 1 1
        fix_modify      mld energy yes virial yes
        velocity        all create 300.0 4928459 mom yes rot yes dist gaussian
        timestep        0.0005
        fix             integrate all nve
        thermo          50
        run             50
        print           "$(pe:%.17g) $(etotal:%.17g)" file end.txt
        """;

    /// <summary>
    /// 50 NVE steps with 2 ranks (periodic in x: the second rank owns nothing, its ghosts are images of the water) and
    /// with 3 ranks (a wall in x: the second and third ranks have no atom at all) end where one rank ends.
    /// </summary>
    [Theory]
    [InlineData("agent", 2, "p", 40, 0)]
    [InlineData("agent", 3, "f", 90, 10)]
    [InlineData("accurate", 3, "f", 90, 10)]
    public void RanksWithoutAtomsTakePartAndChangeNothing(string model, int ranks, string boundary, int length, int shift)
    {
        var dir = Directory.CreateTempSubdirectory("mld-lammps-ranks-").FullName;
        try
        {
            File.Copy(Path.Combine(Peers.RepoRoot, "integration", "lammps", "water96.data"), Path.Combine(dir, "water96.data"));
            File.WriteAllText(Path.Combine(dir, "in.empty"), Input);
            double[] End(int np)
            {
                var r = LammpsCouplingTests.MldLammps(dir, np, [models.ModelPath(model), "-in", "in.empty", "-var", "px", np.ToString(CultureInfo.InvariantCulture),
                    "-var", "bx", boundary, "-var", "lx", length.ToString(CultureInfo.InvariantCulture), "-var", "shift", shift.ToString(CultureInfo.InvariantCulture)],
                    new Dictionary<string, string> { ["MLD_LAMMPS_TIMING"] = "1" });
                Assert.True(r.ExitCode == 0, $"{np} rank(s): exit {r.ExitCode}: {r.StdErr}\n{r.StdOut[^Math.Min(2000, r.StdOut.Length)..]}");
                if (np > 1) Assert.Contains($"rank {np - 1}: 51 callbacks, 0 owned + ", r.StdErr);
                var end = File.ReadAllText(Path.Combine(dir, "end.txt")).Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                File.Delete(Path.Combine(dir, "end.txt"));
                return end;
            }
            var one = End(1);
            var many = End(ranks);
            for (int k = 0; k < 2; k++) Assert.True(Math.Abs(many[k] - one[k]) <= 1e-9 * Math.Abs(one[k]), $"{(k == 0 ? "pe" : "etotal")}: {ranks} ranks {many[k]:R}, 1 rank {one[k]:R}");
        }
        finally { Directory.Delete(dir, true); }
    }
}
