using System.Security.Cryptography;
using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Dynamics;

/// <summary>
/// Everything a run needs to continue bit for bit: species, cell, positions, velocities, the forces and
/// potential at those positions, the thermostat chains, step, time and the integration settings.
/// Binary (IEEE doubles as written), so nothing is lost to decimal round trips. Version 2 ends with the
/// identity of the force provider (the model file's SHA-256) and a SHA-256 of everything before it, so a
/// damaged file or a restart with another model is refused instead of continuing from the wrong state.
/// Version 3 adds each atom's mass: a species carries it (a &amp;KIND MASS, e.g. D in heavy water), and a
/// symbol alone gives the table's, so a D₂O run restarted from version 2 went on with H masses; and the kinetic
/// energy the centre-of-mass projection has removed, a term of the conserved quantity.
/// </summary>
public static class Checkpoint
{
    private static readonly byte[] Magic = "MLDCHK03"u8.ToArray();
    private static readonly byte[] MagicV2 = "MLDCHK02"u8.ToArray(); // no masses: read with the table's
    private static readonly byte[] OldMagic = "MLDCHK01"u8.ToArray();
    private const int HashBytes = 32;

    /// <summary>SHA-256 of a file, lower-case hex: the identity a checkpoint keeps of its model.</summary>
    public static string FileHash(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>Writes the integrator's state. The file-level atomicity (temp + rename) is the caller's.</summary>
    public static void Write(Stream stream, VerletIntegrator integrator, string modelHash = "")
    {
        var body = new MemoryStream();
        WriteBody(body, integrator, modelHash);
        var bytes = body.GetBuffer().AsSpan(0, (int)body.Length);
        stream.Write(bytes);
        stream.Write(SHA256.HashData(bytes));
    }

    private static void WriteBody(Stream stream, VerletIntegrator integrator, string modelHash)
    {
        var s = integrator.State;
        if (!s.ForcesValid) throw new InvalidOperationException("initialise the integrator before writing a checkpoint");
        var settings = integrator.Settings;
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(modelHash);
        w.Write(s.AtomCount);
        foreach (var sp in s.Species) { w.Write(sp.Symbol); w.Write(sp.Mass); }
        w.Write(s.Cell is not null);
        if (s.Cell is not null) foreach (var c in s.Cell.Matrix) w.Write(c);
        w.Write(s.Step);
        w.Write(s.TimeFs);
        w.Write(s.TimeOriginFs);
        w.Write(s.PotentialEnergy);
        w.Write(integrator.RemovedCenterOfMassEnergy);
        WriteArray(w, s.Positions);
        WriteArray(w, s.Velocities);
        WriteArray(w, s.Forces);
        w.Write(settings.TimestepFs);
        w.Write((int)settings.Thermostat);
        w.Write(settings.TemperatureK);
        w.Write(settings.ChainLength);
        w.Write(settings.TauFs);
        w.Write(settings.Massive);
        w.Write(settings.MultipleTimeSteps);
        w.Write(settings.YoshidaOrder);
        w.Write(settings.RemoveCenterOfMassMotion);
        var nhc = integrator.Thermostat;
        w.Write(nhc is null ? 0 : nhc.Positions.Length);
        if (nhc is not null)
        {
            WriteArray(w, nhc.Positions);
            WriteArray(w, nhc.Velocities);
        }
    }

    /// <summary>
    /// Reads a checkpoint into a new integrator driven by <paramref name="forceField"/>. With
    /// <paramref name="modelHash"/>, a checkpoint written with another model is refused.
    /// </summary>
    public static VerletIntegrator Read(Stream stream, IForceField forceField, string name = "checkpoint", string? modelHash = null)
    {
        var all = new MemoryStream();
        stream.CopyTo(all);
        var bytes = all.GetBuffer().AsSpan(0, (int)all.Length);
        if (bytes.Length >= OldMagic.Length && bytes[..OldMagic.Length].SequenceEqual(OldMagic))
            throw new DataException($"{name}: a checkpoint of an older mld (no checksum, no model identity); start again with --from");
        bool version3 = bytes.Length >= Magic.Length && bytes[..Magic.Length].SequenceEqual(Magic); // masses, centre-of-mass energy
        if (!version3 && (bytes.Length < MagicV2.Length || !bytes[..MagicV2.Length].SequenceEqual(MagicV2)))
            throw new DataException($"{name}: not an mld checkpoint (bad magic)");
        if (bytes.Length < Magic.Length + HashBytes) throw new DataException($"{name}: checkpoint is truncated");
        var body = bytes[..^HashBytes];
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes[^HashBytes..]))
            throw new DataException($"{name}: checkpoint is damaged (its SHA-256 checksum does not match its contents; truncated or altered)");
        try
        {
            using var r = new BinaryReader(new MemoryStream(body.ToArray()), Encoding.UTF8, leaveOpen: false);
            r.ReadBytes(Magic.Length);
            string written = r.ReadString();
            if (modelHash is not null && written != modelHash)
                throw new DataException($"{name}: written with another model (SHA-256 {Short(written)}, this model's is {Short(modelHash)}); restart with the model the run began with");
            int n = r.ReadInt32();
            if (n <= 0 || n > 10_000_000) throw new DataException($"{name}: implausible atom count {n}");
            var species = new Species[n];
            for (int i = 0; i < n; i++)
            {
                var symbol = r.ReadString();
                if (!Elements.TryGet(symbol, out species[i])) throw new DataException($"{name}: unknown element '{symbol}' for atom {i}");
                if (version3)
                {
                    double mass = r.ReadDouble();
                    if (!(mass > 0) || !double.IsFinite(mass)) throw new DataException($"{name}: atom {i} has mass {mass}");
                    species[i] = species[i].WithMass(mass);
                }
            }
            Cell? cell = null;
            if (r.ReadBoolean())
            {
                var m = new double[9];
                for (int k = 0; k < 9; k++) m[k] = r.ReadDouble();
                cell = new Cell(m);
            }
            long step = r.ReadInt64();
            double time = r.ReadDouble(), origin = r.ReadDouble(), potential = r.ReadDouble();
            double removedCom = version3 ? r.ReadDouble() : 0;
            var positions = ReadArray(r, 3 * n, name, "positions");
            var velocities = ReadArray(r, 3 * n, name, "velocities");
            var forces = ReadArray(r, 3 * n, name, "forces");
            var settings = new MdSettings
            {
                TimestepFs = r.ReadDouble(),
                Thermostat = (ThermostatKind)r.ReadInt32(),
                TemperatureK = r.ReadDouble(),
                ChainLength = r.ReadInt32(),
                TauFs = r.ReadDouble(),
                Massive = r.ReadBoolean(),
                MultipleTimeSteps = r.ReadInt32(),
                YoshidaOrder = r.ReadInt32(),
                RemoveCenterOfMassMotion = r.ReadBoolean(),
            };
            if (!Enum.IsDefined(settings.Thermostat)) throw new DataException($"{name}: unknown thermostat kind {(int)settings.Thermostat}");
            var state = new MdState(species, positions, velocities, cell)
            {
                Step = step, TimeFs = time, TimeOriginFs = origin, PotentialEnergy = potential, ForcesValid = true,
            };
            forces.CopyTo(state.Forces, 0);
            var integrator = new VerletIntegrator(forceField, state, settings) { RemovedCenterOfMassEnergy = removedCom };
            int chainValues = r.ReadInt32();
            var nhc = integrator.Thermostat;
            if (chainValues != (nhc?.Positions.Length ?? 0)) throw new DataException($"{name}: thermostat state has {chainValues} values, the settings need {nhc?.Positions.Length ?? 0}");
            if (nhc is not null)
            {
                ReadArray(r, chainValues, name, "thermostat positions").CopyTo(nhc.Positions);
                ReadArray(r, chainValues, name, "thermostat velocities").CopyTo(nhc.Velocities);
            }
            if (r.BaseStream.Position != r.BaseStream.Length) throw new DataException($"{name}: {r.BaseStream.Length - r.BaseStream.Position} unexpected bytes after the state");
            integrator.Initialise();
            return integrator;
        }
        catch (EndOfStreamException e) { throw new DataException($"{name}: checkpoint is truncated", e); }
    }

    private static string Short(string hash) => hash.Length == 0 ? "none" : hash[..Math.Min(12, hash.Length)] + "…";

    private static void WriteArray(BinaryWriter w, ReadOnlySpan<double> values)
    {
        foreach (var v in values) w.Write(v);
    }

    private static double[] ReadArray(BinaryReader r, int count, string name, string what)
    {
        var a = new double[count];
        for (int i = 0; i < count; i++) a[i] = r.ReadDouble();
        foreach (var v in a) if (!double.IsFinite(v)) throw new DataException($"{name}: {what} contain a non-finite value");
        return a;
    }
}
