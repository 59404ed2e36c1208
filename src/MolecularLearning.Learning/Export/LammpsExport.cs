using System.Globalization;
using System.Text;
using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>
/// Writes a tabulated radial loss as LAMMPS input (units metal: Å, eV, ps, g/mol):
/// PREFIX.table (pair_style table, the order-1 part), PREFIX.N.eam.fs (one eam/fs layer per embedding term of the
/// order-2 part), PREFIX.lammps (pair_style / pair_coeff / mass lines to include), in.PREFIX (an example NVE run reading PREFIX.data),
/// and export.json (the tables chosen and their measured error budget).
/// </summary>
public static class LammpsExport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Files written by <see cref="Write"/>, relative to the output directory.</summary>
    public sealed record Written(string Snippet, string Example, string Summary, IReadOnlyList<string> Potentials);

    /// <param name="types">the species of LAMMPS atom types 1, 2, ... (default: the model's species in its order)</param>
    public static Written Write(LammpsTabulation tab, string directory, string prefix = "model", string? dataFile = null, string? source = null,
        OmittedRangeWalls? omitted = null, IReadOnlyList<Species>? types = null)
    {
        types = CheckTypes(tab.Description, types);
        Directory.CreateDirectory(directory);
        var potentials = new List<string>();
        string tableFile = prefix + ".table";
        WriteText(Path.Combine(directory, tableFile), TableText(tab, source));
        potentials.Add(tableFile);
        var eamFiles = new List<string>();
        for (int l = 0; l < tab.EamTables.Count; l++)
        {
            string name = $"{prefix}.{l + 1}.eam.fs";
            WriteText(Path.Combine(directory, name), EamText(tab, l, source));
            eamFiles.Add(name);
        }
        potentials.AddRange(eamFiles);
        WriteText(Path.Combine(directory, prefix + ".lammps"), Snippet(tab, tableFile, eamFiles, source, omitted, types));
        WriteText(Path.Combine(directory, ExampleName(prefix)), Example(prefix + ".lammps", dataFile ?? DataName(prefix), ExampleName(prefix)));
        WriteText(Path.Combine(directory, "export.json"), Summary(tab, tableFile, eamFiles, source, omitted, types));
        return new Written(prefix + ".lammps", ExampleName(prefix), "export.json", potentials);
    }

    /// <summary>The example input and the data file it reads, named after the potential files (not after any one system).</summary>
    public static string ExampleName(string prefix) => "in." + prefix;
    public static string DataName(string prefix) => prefix + ".data";

    /// <summary>The species of atom types 1, 2, ...: <paramref name="types"/> (each a species of the model) or the model's order.</summary>
    public static IReadOnlyList<Species> CheckTypes(RadialLossDescription d, IReadOnlyList<Species>? types)
    {
        if (types is null) return d.Species;
        if (types.Count == 0) throw new DataException("--types: no atom types given");
        foreach (var t in types)
            if (!d.Species.Contains(t))
                throw new DataException($"--types: {t.Symbol} is not a species of the model ({string.Join(", ", d.Species.Select(x => x.Symbol))})");
        return types;
    }

    /// <summary>
    /// The pair_style, pair_coeff and mass commands for atom types of <paramref name="types"/> (default: numbered in the
    /// model's species order). A type of another species gets that species' pair potentials and density functions.
    /// </summary>
    public static string Snippet(LammpsTabulation tab, string tableFile, IReadOnlyList<string> eamFiles, string? source, OmittedRangeWalls? omitted = null,
        IReadOnlyList<Species>? types = null)
    {
        var d = tab.Description;
        types = CheckTypes(d, types);
        int nt = types.Count;
        var index = types.Select(t => IndexOf(d, t)).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine($"# {d.Name}: conservative radial loss (order {d.Order}) exported by mld export-lammps{(source is null ? "" : " from " + source)}");
        sb.AppendLine("# units metal (Å, eV, ps, g/mol); atom types: " + string.Join(", ", types.Select((s, i) => $"{i + 1} = {s.Symbol}")) +
            " (the mass lines below set them: a data file in another type order needs mld export-lammps --types)");
        sb.AppendLine($"# measured on {tab.Budget.Frames} reference frames: max |ΔF| / rms F = {tab.Budget.TotalForceError:E2}, energy error {tab.Budget.TotalEnergyErrorPerAtom:E2} eV/atom");
        sb.AppendLine("# pairs closer than a table's inner bound stop LAMMPS (\"Pair distance < table inner cutoff\"): the model is undefined there");
        if (omitted is not null) sb.AppendLine("# left out: " + omitted.Describe());
        // The loss counts every pair, bonded or not: LAMMPS's default special_bonds (0 0 0) would drop the 1-2 and 1-3
        // pairs of a data file with bonds and angles (atom_style full) from the pair lists.
        sb.AppendLine("special_bonds lj/coul 1.0 1.0 1.0");
        string table = $"table linear {tab.TablePoints}";
        if (eamFiles.Count == 0) sb.AppendLine($"pair_style {table}");
        else sb.AppendLine($"pair_style hybrid/overlay {table} {string.Join(' ', eamFiles.Select(_ => "eam/fs"))}");
        string tableStyle = eamFiles.Count == 0 ? "" : "table ";
        for (int i = 0; i < nt; i++)
            for (int j = i; j < nt; j++)
                sb.AppendLine($"pair_coeff {i + 1} {j + 1} {tableStyle}{tableFile} {Keyword(d, Math.Min(index[i], index[j]), Math.Max(index[i], index[j]))} {F(d.Cutoff)}");
        // eam/fs maps atom types to the setfl file's elements by name, in type order.
        string elements = string.Join(' ', types.Select(x => x.Symbol));
        for (int l = 0; l < eamFiles.Count; l++)
            sb.AppendLine(eamFiles.Count == 1
                ? $"pair_coeff * * eam/fs {eamFiles[l]} {elements}"
                : $"pair_coeff * * eam/fs {l + 1} {eamFiles[l]} {elements}");
        for (int i = 0; i < nt; i++) sb.AppendLine($"mass {i + 1} {F(types[i].Mass)}");
        return sb.ToString();
    }

    private static int IndexOf(RadialLossDescription d, Species s)
    {
        for (int k = 0; k < d.Species.Count; k++) if (d.Species[k] == s) return k;
        throw new DataException($"{s.Symbol} is not a species of the model");
    }

    /// <summary>
    /// The opening of any input that uses the export (no trailing newline): units metal, atomic style, a periodic box
    /// read from <paramref name="dataFile"/>, the <paramref name="snippet"/> included, a 1 Å neighbour skin.
    /// </summary>
    public static string Setup(string snippet, string dataFile) => $"""
        units           metal
        atom_style      atomic
        boundary        p p p
        read_data       {dataFile}
        include         {snippet}
        neighbor        1.0 bin
        """;

    /// <summary>A ready-to-run NVE example: 0.5 fs steps (LAMMPS metal time is ps), energy printed every 20 steps.</summary>
    public static string Example(string snippet, string dataFile, string name = "in.model") => $"""
        # NVE with the exported learned model (units metal: Å, eV, ps; masses g/mol = amu)
        #   lmp -in {name}                       (one core)
        #   mpirun -np 4 lmp -in {name}          (MPI domain decomposition)
        {Setup(snippet, dataFile)}
        neigh_modify    every 1 delay 0 check yes
        # the data file carries the source frame's velocities when it had them; otherwise:
        # velocity      all create 300.0 4928459 mom yes rot yes dist gaussian
        timestep        0.0005
        thermo_style    custom step time temp pe ke etotal press
        thermo          20
        fix             integrate all nve
        run             200

        """;

    private static string TableText(LammpsTabulation tab, string? source)
    {
        var d = tab.Description;
        int ns = d.Species.Count;
        var sb = new StringBuilder();
        sb.AppendLine($"# {d.Name}: pair potentials V_st(r) (eV) of the linear part of the learned loss{(source is null ? "" : ", from " + source)}");
        sb.AppendLine("# V_st = sum_k b^(s)_k phi_k + sum_k b^(t)_k phi_k over both agents' invariants; F = -dV/dr analytic; points uniform in r^2");
        for (int s = 0; s < ns; s++)
            for (int t = s; t < ns; t++)
            {
                var table = tab.PairTables[s, t]!;
                sb.AppendLine();
                sb.AppendLine(Keyword(d, s, t));
                sb.AppendLine($"N {table.Points} RSQ {F(table.RInner)} {F(table.ROuter)}");
                sb.AppendLine();
                for (int i = 0; i < table.Points; i++)
                    sb.Append(i + 1).Append(' ').Append(F(table.R[i])).Append(' ').Append(F(table.Energy[i])).Append(' ').Append(F(table.Force[i])).Append('\n');
            }
        return sb.ToString();
    }

    /// <summary>
    /// setfl (Finnis–Sinclair) text: per element t its F_t(ρ), then the densities it contributes at each element s
    /// (LAMMPS reads element t's s-th array as the density at an atom of type s due to a neighbour of type t),
    /// then the r·φ pair arrays, all zero (pairs live in the table).
    /// </summary>
    private static string EamText(LammpsTabulation tab, int layer, string? source)
    {
        var d = tab.Description;
        int ns = d.Species.Count;
        var (emb, dens) = tab.EamTables[layer];
        var notes = tab.Analytic.Layers[layer].Notes;
        int nrho = tab.DensityPoints, nr = tab.RadialPoints;
        double drho = tab.DensityTop[layer] / (nrho - 1);
        var sb = new StringBuilder();
        sb.AppendLine($"{d.Name}: eam/fs layer {layer + 1} of the quadratic part of the learned loss{(source is null ? "" : ", from " + source)}");
        sb.AppendLine("F_s(rho) = c_s rho^2: " + string.Join("; ", d.Species.Select((s, i) => $"{s.Symbol}: {notes[i]}")));
        sb.AppendLine($"reference densities in [{F(tab.DensityLowest[layer])}, {F(tab.DensitySeen[layer])}]; exact on [drho, {F(tab.DensityTop[layer] * (nrho - 3) / (nrho - 1))}], beyond LAMMPS continues F linearly, below 0 by the first interval's cubic");
        sb.AppendLine($"{ns} {string.Join(' ', d.Species.Select(s => s.Symbol))}");
        sb.AppendLine($"{nrho} {F(drho)} {nr} {F(tab.RadialSpacing)} {F(d.Cutoff)}");
        for (int t = 0; t < ns; t++)
        {
            var sp = d.Species[t];
            sb.AppendLine($"{sp.AtomicNumber} {F(sp.Mass)} 0 none");
            AppendValues(sb, emb[t]?.Values, nrho);
            for (int s = 0; s < ns; s++) AppendValues(sb, dens[s, t]?.Values, nr);
        }
        for (int i = 0; i < ns; i++)
            for (int j = 0; j <= i; j++) AppendValues(sb, null, nr);
        return sb.ToString();
    }

    private static void AppendValues(StringBuilder sb, double[]? values, int n)
    {
        for (int i = 0; i < n; i++)
        {
            sb.Append(values is null ? "0" : F(values[i]));
            sb.Append(i % 5 == 4 || i == n - 1 ? '\n' : ' ');
        }
    }

    private static string Summary(LammpsTabulation tab, string tableFile, IReadOnlyList<string> eamFiles, string? source, OmittedRangeWalls? omitted,
        IReadOnlyList<Species> types)
    {
        var d = tab.Description;
        var b = tab.Budget;
        var obj = new Dictionary<string, object?>
        {
            ["model"] = d.Name,
            ["source"] = source,
            ["order"] = d.Order,
            ["units"] = "metal (Å, eV, ps, g/mol)",
            ["species"] = d.Species.Select(s => s.Symbol).ToArray(),
            ["atomTypes"] = types.Select(s => s.Symbol).ToArray(),
            ["cutoff"] = d.Cutoff,
            ["pairTable"] = new Dictionary<string, object?>
            {
                ["file"] = tableFile, ["style"] = "linear", ["points"] = tab.TablePoints,
                ["innerBounds"] = PairDict(d, tab.InnerBounds),
            },
            ["eam"] = new Dictionary<string, object?>
            {
                ["files"] = eamFiles, ["radialPoints"] = tab.RadialPoints, ["radialSpacing"] = tab.RadialSpacing,
                ["densityPoints"] = tab.DensityPoints, ["densityLowest"] = tab.DensityLowest, ["densitySeen"] = tab.DensitySeen, ["densityTop"] = tab.DensityTop,
                ["densityNote"] = "F(rho) is exact on [drho, (Nrho-2) drho]; above the grid LAMMPS continues F linearly, below 0 it extrapolates the first interval's cubic: layers kept whole rely on densities staying in range",
                ["layers"] = tab.Analytic.Layers.Select(l => l.Notes).ToArray(),
            },
            ["budget"] = new Dictionary<string, object?>
            {
                ["metric"] = "max over reference atoms of |F_table - F_analytic| / rms |F_analytic|",
                ["tolerance"] = b.Tolerance, ["frames"] = b.Frames, ["atoms"] = b.Atoms, ["forceScale"] = b.ForceScale,
                ["decomposition"] = b.DecompositionForceError, ["pair"] = b.PairForceError, ["embedding"] = b.EmbeddingForceError,
                ["total"] = b.TotalForceError, ["energyPerAtom"] = b.TotalEnergyErrorPerAtom,
                // Measured against the model without its range walls: what the tables cannot show is listed under "omitted".
                ["omittedRangeWallsForce"] = omitted?.RelativeForce, ["omittedRangeWallsEnergyPerAtom"] = omitted?.EnergyPerAtom,
                ["steps"] = b.Steps.Select(s => new Dictionary<string, object> { ["table"] = s.Table, ["points"] = s.Points, ["force"] = s.RelativeForceError, ["energyPerAtom"] = s.EnergyErrorPerAtom }).ToArray(),
            },
            ["omitted"] = omitted is null ? new Dictionary<string, object?>() : new Dictionary<string, object?>
            {
                ["rangeWalls"] = new Dictionary<string, object?>
                {
                    ["note"] = omitted.Describe(),
                    ["invariants"] = omitted.Invariants, ["strength"] = omitted.Strength,
                    ["cap"] = double.IsFinite(omitted.Cap) ? omitted.Cap : null,
                    ["frames"] = omitted.Frames, ["atoms"] = omitted.Atoms, ["atomsAffected"] = omitted.AtomsAffected,
                    ["maxForce"] = omitted.MaxForce, ["relativeForce"] = omitted.RelativeForce, ["energyPerAtom"] = omitted.EnergyPerAtom,
                },
            },
        };
        return JsonSerializer.Serialize(obj, new JsonSerializerOptions { WriteIndented = true });
    }

    private static Dictionary<string, double> PairDict(RadialLossDescription d, double[,] v)
    {
        var r = new Dictionary<string, double>();
        for (int s = 0; s < d.Species.Count; s++) for (int t = s; t < d.Species.Count; t++) r[Keyword(d, s, t)] = v[s, t];
        return r;
    }

    public static string Keyword(RadialLossDescription d, int s, int t) => $"{d.Species[s].Symbol}_{d.Species[t].Symbol}";

    private static string F(double x) => x.ToString("R", Inv);

    /// <summary>Through <see cref="AtomicFile"/>: a failed export leaves no half-written file, and no device or symlink is replaced.</summary>
    internal static void WriteText(string path, string text) => AtomicFile.WriteText(path, text);
}
