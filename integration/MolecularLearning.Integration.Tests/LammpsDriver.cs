using System.Globalization;
using MolecularLearning.Benchmarks;
using MolecularLearning.Core;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Integration.Tests;

/// <summary>Runs Debian's LAMMPS on exported models: single points (energy + per-atom forces) and short NVE runs.</summary>
public static class LammpsDriver
{
    public const string Lmp = "/usr/bin/lmp";

    /// <summary>Open MPI refuses root unless told; the tests run as root in CI containers.</summary>
    private static readonly Dictionary<string, string> MpiEnvironment = new()
    {
        ["OMPI_ALLOW_RUN_AS_ROOT"] = "1", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1", ["OMPI_MCA_rmaps_base_oversubscribe"] = "1",
    };

    public sealed record SinglePoint(double Energy, double[] Forces);

    /// <summary>Runs <paramref name="input"/> (written to DIR/NAME) with lmp, or with mpirun -np ranks when ranks &gt; 1.</summary>
    public static Peers.Result Run(string directory, string name, string input, int ranks, TimeSpan timeout)
    {
        File.WriteAllText(Path.Combine(directory, name), input);
        var args = new List<string>();
        string program = Lmp;
        if (ranks > 1)
        {
            program = "mpirun";
            args.AddRange(["--allow-run-as-root", "-np", ranks.ToString(CultureInfo.InvariantCulture), Lmp]);
        }
        args.AddRange(["-in", name, "-log", name + ".log", "-screen", "none", "-nocite"]);
        var result = Peers.Run(program, args, timeout, directory, MpiEnvironment);
        if (result.ExitCode != 0)
        {
            string log = File.Exists(Path.Combine(directory, name + ".log")) ? File.ReadAllText(Path.Combine(directory, name + ".log")) : "";
            throw new InvalidOperationException($"lmp failed ({result.ExitCode}): {result.StdErr}\n{Tail(log, 3000)}");
        }
        return result;
    }

    /// <summary>Energy and forces (original frame's axes) of the structure in <paramref name="dataFile"/> with the exported snippet.</summary>
    /// <param name="atomStyle">the data file's atom style; <paramref name="afterData"/>: commands between read_data and the snippet</param>
    public static SinglePoint Evaluate(string directory, string dataFile, LammpsDataFile data, string snippet, int ranks, string tag,
        string atomStyle = "atomic", string afterData = "")
    {
        string dump = $"forces-{tag}.dump", energy = $"energy-{tag}.txt";
        string setup = LammpsExport.Setup(snippet, dataFile).Replace("atom_style      atomic", $"atom_style      {atomStyle}")
            .Replace("include", $"{afterData}\ninclude");
        string input = $"""
            {setup}
            dump f all custom 1 {dump} id fx fy fz
            dump_modify f sort id format float %.17g
            run 0
            print "$(pe:%.17g)" file {energy}
            """;
        Run(directory, $"in.single-{tag}", input, ranks, TimeSpan.FromSeconds(120));
        double e = double.Parse(File.ReadAllText(Path.Combine(directory, energy)).Trim(), CultureInfo.InvariantCulture);
        var lines = File.ReadAllLines(Path.Combine(directory, dump));
        int first = Array.IndexOf(lines, "ITEM: ATOMS id fx fy fz") + 1;
        var forces = new double[3 * (lines.Length - first)];
        for (int i = first; i < lines.Length; i++)
        {
            var f = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int id = int.Parse(f[0], CultureInfo.InvariantCulture) - 1;
            var v = data.ToOriginal(new Vec3(P(f[1]), P(f[2]), P(f[3])));
            v.To(forces, id);
        }
        return new SinglePoint(e, forces);
    }

    /// <summary>Total energy (eV) every <paramref name="every"/> steps of an NVE run of <paramref name="steps"/> × <paramref name="dtFs"/> fs from 300 K.</summary>
    public static (double[] Total, double[] Kinetic) Nve(string directory, string dataFile, string snippet, int steps, double dtFs, int every, int ranks)
    {
        string input = $"""
            {LammpsExport.Setup(snippet, dataFile)}
            neigh_modify every 1 delay 0 check yes
            velocity all create 300.0 4928459 mom yes rot yes dist gaussian
            timestep {(dtFs / Units.FemtosecondsPerPicosecond).ToString("R", CultureInfo.InvariantCulture)}
            fix integrate all nve
            variable et equal etotal
            variable ke equal ke
            fix record all print {every} "${"{"}et{"}"} ${"{"}ke{"}"}" file nve.txt screen no
            run {steps}
            """;
        Run(directory, "in.nve", input, ranks, TimeSpan.FromSeconds(120));
        var rows = File.ReadAllLines(Path.Combine(directory, "nve.txt")).Where(l => !l.StartsWith('#') && l.Trim().Length > 0)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(P).ToArray()).ToArray();
        return (rows.Select(r => r[0]).ToArray(), rows.Select(r => r[1]).ToArray());
    }

    /// <summary>max_i |F_i − F_ref,i| / rms |F_ref|.</summary>
    public static double RelativeForceError(double[] got, double[] want)
    {
        double max = 0, sum = 0;
        for (int i = 0; i < want.Length; i += 3)
        {
            double dx = got[i] - want[i], dy = got[i + 1] - want[i + 1], dz = got[i + 2] - want[i + 2];
            max = Math.Max(max, Math.Sqrt(dx * dx + dy * dy + dz * dz));
            sum += want[i] * want[i] + want[i + 1] * want[i + 1] + want[i + 2] * want[i + 2];
        }
        return max / Math.Sqrt(sum / (want.Length / 3));
    }

    /// <summary>The shipped 32-water box, samples/water32-xtb/init.xyz (9.8528 Å cubic).</summary>
    public static Frame WaterBox()
    {
        var (species, pos) = BenchHarness.ReadXyz(Path.Combine(Peers.RepoRoot, "samples", "water32-xtb", "init.xyz"));
        return new Frame(species, pos, Cell.Orthorhombic(9.8528, 9.8528, 9.8528));
    }

    private static double P(string s) => double.Parse(s, CultureInfo.InvariantCulture);
    private static string Tail(string s, int n) => s.Length <= n ? s : s[^n..];
}
