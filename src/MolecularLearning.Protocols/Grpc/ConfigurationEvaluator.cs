using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Protocols.Grpc;

/// <summary>
/// Turns an EvaluateRequest into a force-field call and the result into an EvaluateResponse, checking the
/// request on the way (INVALID_ARGUMENT with the field and index at fault). Owns one IForceField and the
/// buffers it is fed from, so it serves one call at a time; in a stream, the buffers, species and cell are
/// reused from step to step and nothing is allocated for the physics.
/// </summary>
internal sealed class ConfigurationEvaluator(IForceField forceField, ServedModel model, IReadOnlyDictionary<string, Species> speciesBySymbol, int maxAtoms)
{
    private readonly ForceResult _result = new();
    private Species[] _species = [];
    private double[] _positions = [];
    private Cell? _cell;

    /// <summary>
    /// Evaluates <paramref name="request"/> into <paramref name="response"/>. With <paramref name="keepSpecies"/>
    /// (streams), a request without species reuses the previous request's.
    /// </summary>
    public void Evaluate(EvaluateRequest request, EvaluateResponse response, bool keepSpecies)
    {
        int atoms = CheckPositions(request);
        ReadSpecies(request, atoms, keepSpecies);
        ReadCell(request);
        try
        {
            forceField.Compute(_species, _positions, _cell, _result);
        }
        catch (DataException e)
        {
            throw new GrpcException(GrpcStatusCode.InvalidArgument, e.Message);
        }
        response.Id = request.Id;
        response.Step = request.Step;
        response.EnergyEv = _result.Energy;
        response.ForcesEvPerAngstrom.Clear();
        response.ForcesEvPerAngstrom.AddRange(_result.Forces);
        response.VirialEv.Clear();
        response.VirialEv.AddRange(_result.Virial);
    }

    private static GrpcException Invalid(string message) => new(GrpcStatusCode.InvalidArgument, message);

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
            throw Invalid($"cell_angstrom has {cell.Count} numbers: give 9 (lattice vectors a, b, c as rows, Å) or none for an isolated system");
        Span<double> h = stackalloc double[9];
        for (int i = 0; i < 9; i++)
        {
            h[i] = cell[i];
            if (!double.IsFinite(h[i])) throw Invalid($"cell_angstrom[{i}] is {(double.IsNaN(h[i]) ? "NaN" : "infinite")}");
        }
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
}
