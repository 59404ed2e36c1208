using Grpc.Core;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Grpc;

/// <summary>
/// Turns an EvaluateRequest into a force-field call and the result into an EvaluateResponse, checking the
/// request on the way (INVALID_ARGUMENT with the field and index at fault). Owns one IForceField and the
/// buffers it is fed from, so it serves one call at a time; in a stream, the buffers, species and cell are
/// reused from step to step and nothing is allocated for the physics. A configuration the model cannot
/// answer finitely (two atoms at one place, coordinates beyond ±1e6 Å) is refused, never answered with NaN.
/// </summary>
internal sealed class ConfigurationEvaluator(IForceField forceField, ServedModel model, IReadOnlyDictionary<string, Species> speciesBySymbol, int maxAtoms)
{
    private readonly ForceResult _result = new();
    private Species[] _species = [];
    private double[] _positions = [];
    private Cell? _cell;
    private double[] _keys = [];
    private int[] _order = [];

    /// <summary>Largest |coordinate| accepted (Å): far beyond any cell, small enough that wrapping keeps precision.</summary>
    public const double MaxCoordinate = 1e6;

    /// <summary>Atoms closer than this (Å, through periodic images too) are "at the same position".</summary>
    public const double CoincidenceTolerance = 1e-6;

    /// <summary>The served model's committee, if the server reports its deviation.</summary>
    public ICommitteeDeviation? Committee { get; init; }

    /// <summary>
    /// Evaluates <paramref name="request"/> into <paramref name="response"/>. With <paramref name="keepSpecies"/>
    /// (streams), a request without species reuses the previous request's.
    /// </summary>
    public void Evaluate(EvaluateRequest request, EvaluateResponse response, bool keepSpecies, CancellationToken cancellation = default)
    {
        int atoms = CheckPositions(request);
        ReadSpecies(request, atoms, keepSpecies);
        ReadCell(request);
        CheckCoincidentAtoms(atoms);
        try
        {
            forceField.Compute(_species, _positions, _cell, _result, cancellation);
        }
        catch (DataException e)
        {
            throw Invalid(e.Message);
        }
        CheckFinite();
        response.Id = request.Id;
        response.Step = request.Step;
        response.EnergyEv = _result.Energy;
        response.ForcesEvPerAngstrom.Clear();
        response.ForcesEvPerAngstrom.AddRange(_result.Forces);
        response.VirialEv.Clear();
        response.VirialEv.AddRange(_result.Virial);
        // Optional fields: a reused response must not keep the previous configuration's.
        response.ClearExtrapolation(); response.ClearExtrapolationAtom(); response.ClearExtrapolationInvariant();
        if (!double.IsNaN(_result.Extrapolation))
        {
            response.Extrapolation = _result.Extrapolation;
            if (_result.ExtrapolationAtom >= 0) response.ExtrapolationAtom = _result.ExtrapolationAtom;
            if (_result.ExtrapolationInvariant is { } name) response.ExtrapolationInvariant = name;
        }
        response.ClearCommitteeMean(); response.ClearCommitteeMax(); response.ClearCommitteeAtom();
        if (Committee is not null)
        {
            var (mean, max, atom) = Committee.Deviation(_species, _positions, _cell);
            if (double.IsFinite(mean) && double.IsFinite(max))
            {
                response.CommitteeMean = mean;
                response.CommitteeMax = max;
                if (atom >= 0) response.CommitteeAtom = atom;
            }
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private int CheckPositions(EvaluateRequest request)
    {
        var positions = request.PositionsAngstrom;
        int count = positions.Count;
        if (count == 0) throw Invalid("positions_angstrom is empty: give 3 numbers (x y z, Å) per atom");
        if (count % 3 != 0) throw Invalid($"positions_angstrom has {count} numbers, not a multiple of 3 (x y z per atom)");
        int atoms = count / 3;
        if (atoms > maxAtoms) throw Invalid($"{atoms} atoms exceed this server's limit of {maxAtoms} atoms per request");
        if (_positions.Length != count) _positions = new double[count];
        positions.CopyTo(_positions, 0);
        for (int i = 0; i < count; i++)
        {
            double x = _positions[i];
            if (!double.IsFinite(x))
                throw Invalid($"positions_angstrom[{i}] (atom {i / 3}, {"xyz"[i % 3]}) is {(double.IsNaN(x) ? "NaN" : "infinite")}");
            if (Math.Abs(x) > MaxCoordinate)
                throw Invalid($"positions_angstrom[{i}] (atom {i / 3}, {"xyz"[i % 3]}) = {x:G6} Å is beyond ±{MaxCoordinate:G0} Å");
        }
        return atoms;
    }

    private void ReadSpecies(EvaluateRequest request, int atoms, bool keepSpecies)
    {
        int symbols = request.Symbols.Count, indices = request.SpeciesIndex.Count;
        if (symbols > 0 && indices > 0) throw Invalid("give either symbols or species_index, not both");
        if (symbols == 0 && indices == 0)
        {
            if (keepSpecies && _species.Length == atoms) return;
            if (keepSpecies && _species.Length > 0)
                throw Invalid($"no species given and the atom count changed from {_species.Length} to {atoms}: send symbols or species_index again");
            throw Invalid($"no species: give symbols or species_index ({atoms} entries, one per atom)");
        }
        int given = symbols + indices;
        string field = symbols > 0 ? "symbols" : "species_index";
        if (given != atoms)
            throw Invalid($"{field} has {given} entries for {atoms} atoms (positions_angstrom has {3 * atoms} numbers)");
        if (_species.Length != atoms) _species = new Species[atoms];
        for (int i = 0; i < atoms; i++)
        {
            if (symbols > 0)
            {
                var symbol = request.Symbols[i];
                if (!speciesBySymbol.TryGetValue(symbol, out var s))
                    throw Invalid($"symbols[{i}] = '{symbol}' is not a species of the model ({SpeciesList()})");
                _species[i] = s;
            }
            else
            {
                uint index = request.SpeciesIndex[i];
                if (index >= (uint)model.Species.Count)
                    throw Invalid($"species_index[{i}] = {index} is out of range: the model has {model.Species.Count} species ({SpeciesList()})");
                _species[i] = model.Species[(int)index];
            }
        }
    }

    private string SpeciesList() => string.Join(", ", model.Species.Select((s, i) => $"{i} = {s.Symbol}"));

    private void ReadCell(EvaluateRequest request)
    {
        var cell = request.CellAngstrom;
        if (cell.Count == 0) { _cell = null; return; }
        if (cell.Count != 9)
            throw Invalid($"cell_angstrom has {cell.Count} numbers: give 9 (lattice vectors a, b, c as rows, Å), or none (or 9 zeros) for an isolated system");
        Span<double> h = stackalloc double[9];
        for (int i = 0; i < 9; i++)
        {
            h[i] = cell[i];
            if (!double.IsFinite(h[i])) throw Invalid($"cell_angstrom[{i}] is {(double.IsNaN(h[i]) ? "NaN" : "infinite")}");
            if (Math.Abs(h[i]) > MaxCoordinate) throw Invalid($"cell_angstrom[{i}] = {h[i]:G6} Å is beyond ±{MaxCoordinate:G0} Å");
        }
        // Nine zeros is how ASE (atoms.cell for a molecule) and i-PI write "no cell": isolated, like an empty field.
        if (!h.ContainsAnyExcept(0.0)) { _cell = null; return; }
        // MD in a fixed cell sends the same cell every step: keep the Cell (and what the force field caches for it).
        if (_cell is not null && _cell.Matrix.SequenceEqual(h)) return;
        try
        {
            _cell = new Cell(h);
        }
        catch (DataException e)
        {
            throw Invalid($"cell_angstrom: {e.Message}");
        }
    }

    /// <summary>
    /// Refuses two atoms at one position, directly or through a periodic image (the model's answer would be NaN).
    /// Atoms are sorted by their projection on an irrational direction (so lattice planes do not tie) and only
    /// neighbours within the tolerance along it are compared: O(N log N). Periodic: projection of the wrapped
    /// fractional position, with coordinates just below 1 moved to just below 0 so images across a face meet.
    /// </summary>
    private void CheckCoincidentAtoms(int atoms)
    {
        const double u1 = 0.6180339887498949, u2 = 0.3819660112501051; // 1/φ, 1/φ²
        if (_keys.Length != atoms) { _keys = new double[atoms]; _order = new int[atoms]; }
        double window;
        if (_cell is { } cell)
        {
            double invNorm = 0;
            foreach (var x in cell.Inverse) invNorm += x * x;
            double tolerance = CoincidenceTolerance * Math.Sqrt(invNorm); // |Δf| ≤ ‖H⁻¹‖ · d
            window = tolerance * (1 + u1 + u2);
            for (int i = 0; i < atoms; i++)
            {
                var f = cell.ToFractional(new Vec3(_positions[3 * i], _positions[3 * i + 1], _positions[3 * i + 2]));
                _keys[i] = Canonical(f.X, tolerance) + u1 * Canonical(f.Y, tolerance) + u2 * Canonical(f.Z, tolerance);
            }
        }
        else
        {
            window = CoincidenceTolerance * (1 + u1 + u2);
            for (int i = 0; i < atoms; i++) _keys[i] = _positions[3 * i] + u1 * _positions[3 * i + 1] + u2 * _positions[3 * i + 2];
        }
        for (int i = 0; i < atoms; i++) _order[i] = i;
        Array.Sort(_keys, _order, 0, atoms);
        for (int a = 0; a < atoms; a++)
            for (int b = a + 1; b < atoms && _keys[b] - _keys[a] <= window; b++) CheckPair(_order[a], _order[b]);
    }

    private static double Canonical(double f, double tolerance)
    {
        f -= Math.Floor(f);
        return f > 1 - 2 * tolerance ? f - 1 : f;
    }

    private void CheckPair(int i, int j)
    {
        var d = new Vec3(_positions[3 * j] - _positions[3 * i], _positions[3 * j + 1] - _positions[3 * i + 1], _positions[3 * j + 2] - _positions[3 * i + 2]);
        bool direct = d.Norm() <= CoincidenceTolerance;
        if (!direct && (_cell is null || _cell.MinimumImage(d).Norm() > CoincidenceTolerance)) return;
        (i, j) = (Math.Min(i, j), Math.Max(i, j));
        throw Invalid(direct
            ? $"atoms {i} and {j} are at the same position (positions_angstrom[{3 * i}..{3 * i + 2}] and [{3 * j}..{3 * j + 2}])"
            : $"atoms {i} and {j} are at the same position through a periodic image of cell_angstrom");
    }

    /// <summary>Never answers OK with a non-finite number, whatever the model does.</summary>
    private void CheckFinite()
    {
        if (!double.IsFinite(_result.Energy))
            throw Invalid($"the model's energy for this configuration is {_result.Energy} (outside what it can evaluate)");
        var f = _result.Forces;
        for (int i = 0; i < f.Length; i++)
            if (!double.IsFinite(f[i]))
                throw Invalid($"the model's force on atom {i / 3} is {f[i]} for this configuration (outside what it can evaluate)");
        for (int i = 0; i < 9; i++)
            if (!double.IsFinite(_result.Virial[i]))
                throw Invalid($"the model's virial is {_result.Virial[i]} for this configuration (outside what it can evaluate)");
    }
}
