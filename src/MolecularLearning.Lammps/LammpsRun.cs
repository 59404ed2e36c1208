using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MolecularLearning.Core;

namespace MolecularLearning.Lammps;

/// <summary>What `mld lammps` runs: the input, its -var definitions, the fix external ID and an optional type → species map.</summary>
/// <param name="GhostLosses">conservative models: evaluate the ghosts' losses (ghosts to twice the cutoff) instead of
/// sending the ghosts' reactions to the ranks that own them (ghosts to the cutoff; an exchange of 24 bytes per atom of
/// the whole system per step, which on very many ranks can cost more than the ghost losses)</param>
public sealed record LammpsRunOptions(string Input, IReadOnlyList<(string Name, string Value)> Variables, string FixId = "mld",
    IReadOnlyList<string>? Types = null, bool GhostLosses = false);

/// <summary>
/// Runs a LAMMPS input with a <see cref="IDomainForceField"/> as the forces of `fix ID all external pf/callback 1 1`.
/// Every MPI rank runs one of these: LAMMPS decomposes the box and keeps the ghost atoms current; the callback hands
/// the rank's local + ghost atoms to the force field and returns the local atoms' forces, the rank's share of the
/// virial and (summed over ranks) the energy.
/// </summary>
/// <remarks>
/// The input is executed command by command (continuation lines and `include` handled here), because the fix's
/// callback can only be attached after the input defines the fix and before it runs: before every run/minimize the
/// fix, the units, the species of the atom types and the communication cutoff are checked. Any failure ends every
/// rank (MPI_Abort), so no rank waits forever for one that stopped.
/// </remarks>
public sealed unsafe partial class LammpsRun
{
    /// <summary>LAMMPS's default neighbour skin in metal units (Å), until the input sets another with `neighbor`.</summary>
    public const double DefaultSkin = 2.0;
    /// <summary>Largest difference (amu) between a type's mass and the species it is taken for.</summary>
    public const double MassTolerance = 0.5;

    private readonly LammpsLibrary _lib;
    private readonly IDomainForceField _forceField;
    private readonly IReadOnlyList<Species> _modelSpecies;
    private readonly LammpsRunOptions _options;
    private readonly byte[] _fixId, _nghost = LammpsLibrary.Utf8("nghost"), _type = LammpsLibrary.Utf8("type"), _id = LammpsLibrary.Utf8("id"),
        _boxlo = LammpsLibrary.Utf8("boxlo"), _boxhi = LammpsLibrary.Utf8("boxhi"), _periodicity = LammpsLibrary.Utf8("periodicity"),
        _triclinic = LammpsLibrary.Utf8("triclinic"), _xy = LammpsLibrary.Utf8("xy"), _xz = LammpsLibrary.Utf8("xz"), _yz = LammpsLibrary.Utf8("yz");
    private readonly ForceResult _result = new();
    // Six virial components, the energy, whether some atom is outside the training range and whether the signal is
    // computed, summed over ranks in one call (so every rank agrees on both flags).
    private readonly double[] _stepSums = new double[9];
    private TextWriter _output = TextWriter.Null;
    private long _evaluations, _outside;     // force evaluations of the current run command, and those with an atom outside
    private bool _signal;                    // the model reports the extrapolation signal
    private (double Value, long Step, long Tag, string? Invariant) _largest; // this rank's, over the current run command
    private nint _handle;
    private OpenMpi? _mpi;
    private int _rank, _size = 1;
    private double _skin = DefaultSkin;
    private Species[] _typeSpecies = [];     // index: LAMMPS atom type (1-based)
    private Species[] _species = [];
    private int[] _owners = [];              // per local+ghost atom: the local atom with its tag, or −1
    private int[] _localOfTag = [];          // index: tag; local index + 1 (0: not local)
    private bool _bigTags;                   // tagint is int64 (LAMMPS_BIGBIG)
    private byte[] _lastTypes = [], _lastIds = []; // the arrays behind _species and _owners: both change only when LAMMPS reneighbours
    private bool _lastTagged;
    private readonly double[] _box = new double[9];  // LAMMPS's box (lengths and tilts) behind _cell
    private Cell? _cell;
    private bool _boxVaries;                  // the box changed after the first evaluation: one rank uses the domain path too
    private GCHandle _self;
    private double[] _send = [], _receive = []; // ghost reactions: by atom ID (dense) or as (ID, fx, fy, fz) lists (sparse)
    private double[] _headers = [];           // per rank: its sparse list's length and its largest atom ID
    private int[] _counts = [], _offsets = []; // per rank: doubles in its sparse list and where they land
    // MLD_LAMMPS_EXCHANGE=sparse|dense forces one form of the ghost-reaction exchange (tests, measurements); else the shorter.
    private readonly string? _exchange = Environment.GetEnvironmentVariable("MLD_LAMMPS_EXCHANGE");
    private long _sparseSteps, _denseSteps;   // steps of the current run command that took each form
    private readonly string? _rebuild = Environment.GetEnvironmentVariable("MLD_LAMMPS_REBUILD");
    private bool _rebuildsTogether, _agreed;  // the ranks agree on list rebuilds; this step's agreement has been made
    private readonly StepTimer? _timer = StepTimer.FromEnvironment(); // MLD_LAMMPS_TIMING=1: where a rank's time goes
    private (int Owned, int Ghosts) _timedAtoms;

    public LammpsRun(LammpsLibrary library, IDomainForceField forceField, IReadOnlyList<Species> modelSpecies, LammpsRunOptions options)
    {
        _lib = library;
        _forceField = forceField;
        _modelSpecies = modelSpecies;
        _options = options;
        _fixId = LammpsLibrary.Utf8(options.FixId);
        if (_exchange is not (null or "" or "auto" or "sparse" or "dense"))
            throw new DataException($"MLD_LAMMPS_EXCHANGE={_exchange}: expected sparse, dense or auto");
        if (_rebuild is not (null or "" or "together" or "alone"))
            throw new DataException($"MLD_LAMMPS_REBUILD={_rebuild}: expected together or alone");
    }

    /// <summary>
    /// Whether the ghosts' reactions go back to their owners (a conservative model, unless <see cref="LammpsRunOptions.GhostLosses"/>):
    /// each agent is then evaluated once, on the rank that owns it, and ghosts are needed to the cutoff only.
    /// </summary>
    public bool SendsGhostReactions => _forceField.HasGhostReactions && !_options.GhostLosses;

    /// <summary>How far (Å) the ghosts must reach.</summary>
    public double GhostReach => SendsGhostReactions ? _forceField.ReactionGhostCutoff : _forceField.GhostCutoff;

    /// <summary>The communication cutoff (Å) the model needs: its ghost reach plus the neighbour skin atoms move within between rebuilds.</summary>
    public double RequiredCommCutoff => GhostReach + _skin;

    /// <summary>Opens LAMMPS (MPI_COMM_WORLD under mpirun), runs the input and closes it. Returns the exit code.</summary>
    public int Run(TextWriter output)
    {
        if (!File.Exists(_options.Input)) throw new DataException($"{_options.Input}: not found");
        var args = new List<string> { "mld" };
        foreach (var (name, value) in _options.Variables) args.AddRange(["-var", name, value]);
        var utf8 = args.Select(LammpsLibrary.Utf8).ToArray();
        var handles = utf8.Select(b => GCHandle.Alloc(b, GCHandleType.Pinned)).ToArray();
        try
        {
            var argv = stackalloc byte*[utf8.Length];
            for (int k = 0; k < utf8.Length; k++) argv[k] = (byte*)handles[k].AddrOfPinnedObject();
            _handle = _lib.OpenNoMpi(utf8.Length, argv, null);
        }
        finally { foreach (var h in handles) h.Free(); }
        if (_handle == 0) throw new DataException($"{_lib.Path}: lammps_open_no_mpi failed");
        _output = output;
        _rank = Setting("world_rank");
        _size = Setting("world_size");
        _bigTags = Setting("tagint") == 8;
        if (_lib.ConfigHasMpiSupport() != 0) _mpi = OpenMpi.Bind(_lib.GetMpiComm(_handle));
        // Every rank rebuilds its lists when any needs to (one "or" a step): a build on one rank alone would hold the
        // others at the step's next collective. MLD_LAMMPS_REBUILD=alone lets each rank decide alone (measurements).
        if (_mpi is { } mpi && _size > 1 && _rebuild != "alone")
            _rebuildsTogether = _forceField.RebuildTogether(stale =>
            {
                _agreed = true;
                _timer?.Mark(StepTimer.Part.Evaluate);
                bool any = mpi.Max(stale ? 1 : 0) > 0;
                _timer?.Mark(StepTimer.Part.Wait);
                return any;
            });
        _self = GCHandle.Alloc(this);
        try
        {
            if (_rank == 0)
                output.WriteLine($"mld lammps: {_options.Input} on {_size} rank(s); fix {_options.FixId}; ghosts needed to {GhostReach:0.###} Å" +
                    (SendsGhostReactions ? " (ghost reactions sent to their owners)" : "") +
                    (_size == 1 ? "; one rank: a box periodic in x, y and z is evaluated whole, as in-process, without its ghosts" : ""));
            output.Flush();
            int code = Execute(_options.Input);
            if (code != 0) return code;
            _lib.Close(_handle);
            _handle = 0;
            _lib.MpiFinalize();
            return 0;
        }
        finally { _self.Free(); }
    }

    private int Setting(string name)
    {
        fixed (byte* p = LammpsLibrary.Utf8(name)) return _lib.ExtractSetting(_handle, p);
    }

    /// <summary>Runs the commands of one file (continuation lines joined, `include` followed).</summary>
    private int Execute(string path)
    {
        var lines = File.ReadAllLines(path);
        for (int l = 0; l < lines.Length; l++)
        {
            int first = l + 1;
            string text = lines[l];
            while (text.TrimEnd().EndsWith('&') && l + 1 < lines.Length)
            {
                var t = text.TrimEnd();
                text = t[..^1] + " " + lines[++l];
            }
            var words = text.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
            string verb = words.Length == 0 || words[0].StartsWith('#') ? "" : words[0];
            string where = $"{path}:{first}";
            switch (verb)
            {
                case "jump":
                    return Fail($"{where}: `jump` is not supported by mld lammps (it runs the input command by command to attach the fix before each run): unroll the loop", collective: true);
                case "include" when words.Length > 1:
                {
                    // Followed here, so its runs get the checks and the callback: a path from a variable is substituted by LAMMPS.
                    string? file = words[1].Contains('$') ? StringVariable(words[1]) : words[1];
                    if (file is null) return LastError(where) ?? Fail($"{where}: cannot substitute the variables of {words[1]}", collective: true);
                    if (!File.Exists(file)) return Fail($"{where}: include {file}: not found", collective: true);
                    int code = Execute(file);
                    if (code != 0) return code;
                    continue;
                }
                case "neighbor" when words.Length > 1 && double.TryParse(words[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var skin):
                    _skin = skin;
                    break;
                case "neighbor" when words.Length > 1 && words[1].Contains('$'):
                {
                    // A skin from a variable (neighbor ${skin} bin): LAMMPS substitutes it, the ghost check needs its value.
                    if (EqualVariable(words[1]) is not { } value)
                        return LastError(where) ?? Fail($"{where}: cannot evaluate the neighbour skin {words[1]}", collective: true);
                    _skin = value;
                    break;
                }
                case "clear":
                    _skin = DefaultSkin;
                    break;
                case "run" or "minimize" or "rerun":
                {
                    int code = Attach(where);
                    if (code != 0) return code;
                    _evaluations = _outside = 0;
                    _largest = default;
                    _timer?.BeginRun();
                    fixed (byte* p = LammpsLibrary.Utf8(text)) _lib.Command(_handle, p);
                    if (LastError(where) is { } failed) return failed;
                    if (_timer is not null)
                        Console.Error.WriteLine(_timer.Summary(where, _rank, _timedAtoms.Owned, _timedAtoms.Ghosts,
                            $"ghost reactions: {_sparseSteps} sparse, {_denseSteps} dense; " + _forceField.TakeDomainStatistics()));
                    _sparseSteps = _denseSteps = 0;
                    ReportExtrapolation(where);
                    continue;
                }
            }
            fixed (byte* p = LammpsLibrary.Utf8(text)) _lib.Command(_handle, p);
            if (LastError(where) is { } code2) return code2;
        }
        return 0;
    }

    /// <summary>The value of <paramref name="expression"/> (with $ substitutions) as LAMMPS evaluates it, through an equal-style variable.</summary>
    private double? EqualVariable(string expression)
    {
        const string name = "mld_expression";
        fixed (byte* p = LammpsLibrary.Utf8($"variable {name} equal {expression}")) _lib.Command(_handle, p);
        double* value;
        fixed (byte* n = LammpsLibrary.Utf8(name)) value = (double*)_lib.ExtractVariable(_handle, n, null);
        if (value == null) return null;
        double result = *value;
        _lib.Free(value);
        fixed (byte* p = LammpsLibrary.Utf8($"variable {name} delete")) _lib.Command(_handle, p);
        return result;
    }

    /// <summary><paramref name="text"/> with its $ substitutions made by LAMMPS, through a string-style variable.</summary>
    private string? StringVariable(string text)
    {
        const string name = "mld_text";
        fixed (byte* p = LammpsLibrary.Utf8($"variable {name} string {text}")) _lib.Command(_handle, p);
        byte* value;
        fixed (byte* n = LammpsLibrary.Utf8(name)) value = (byte*)_lib.ExtractVariable(_handle, n, null);
        string? result = value == null ? null : Marshal.PtrToStringUTF8((nint)value); // owned by LAMMPS: not freed
        fixed (byte* p = LammpsLibrary.Utf8($"variable {name} delete")) _lib.Command(_handle, p);
        return result;
    }

    /// <summary>The failure exit code when the last command raised a LAMMPS error, else null.</summary>
    private int? LastError(string where)
    {
        if (_lib.ConfigHasExceptions() == 0 || _lib.HasError(_handle) == 0) return null;
        var buffer = new byte[2048];
        fixed (byte* b = buffer) _lib.GetLastErrorMessage(_handle, b, buffer.Length);
        var message = System.Text.Encoding.UTF8.GetString(buffer).TrimEnd('\0').Trim();
        return Fail($"{where}: LAMMPS: {message}", collective: false);
    }

    /// <summary>Before a run: the fix exists, units are metal, every atom type is a model species, ghosts reach far enough; then the callback.</summary>
    private int Attach(string where)
    {
        fixed (byte* fix = LammpsLibrary.Utf8("fix")) fixed (byte* id = _fixId)
            if (_lib.HasId(_handle, fix, id) == 0)
                return Fail($"{where}: the input defines no fix '{_options.FixId}' before this run: add `fix {_options.FixId} all external pf/callback 1 1`", collective: true);
        string units;
        fixed (byte* u = LammpsLibrary.Utf8("units")) units = Marshal.PtrToStringUTF8((nint)_lib.ExtractGlobal(_handle, u)) ?? "";
        if (units != "metal")
            return Fail($"{where}: units {units}: mld lammps needs `units metal` (Å, eV, ps: the model's units)", collective: true);
        var problem = MapTypes(where);
        if (problem is not null) return Fail($"{where}: {problem}", collective: true);
        // The map can change between runs while the type array stays (a `mass` command, `clear` and another data file):
        // the atoms' species are taken afresh at the run's first evaluation.
        _lastTypes = [];
        double comm = CommCutoff();
        if (comm < RequiredCommCutoff - 1e-9)
            return Fail($"{where}: the communication cutoff is {comm:0.###} Å, but the model needs ghost atoms to {GhostReach:0.###} Å " +
                $"plus the {_skin:0.###} Å neighbour skin: add `comm_modify cutoff {Math.Ceiling(RequiredCommCutoff * 100) / 100:0.##}` before the run", collective: true);
        delegate* unmanaged[Cdecl]<nint, long, int, nint, nint, nint, void> callback = &Callback;
        fixed (byte* id = _fixId) _lib.SetFixExternalCallback(_handle, id, (nint)callback, GCHandle.ToIntPtr(_self));
        return 0;
    }

    /// <summary>LAMMPS's communication cutoff as `info communication` reports it (written by rank 0, shared with the others).</summary>
    private double CommCutoff()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mld-lammps-info-{Environment.ProcessId}.txt");
        fixed (byte* p = LammpsLibrary.Utf8($"info communication out overwrite {file}")) _lib.Command(_handle, p);
        double value = 0;
        if (_rank == 0)
        {
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith("Communication cutoff", StringComparison.Ordinal))
                    value = double.Parse(line[(line.IndexOf('=') + 1)..].Trim(), CultureInfo.InvariantCulture);
            File.Delete(file);
        }
        return _mpi is null ? value : _mpi.Sum(value);
    }

    /// <summary>The species of each atom type: from --types, or the model species nearest each type's mass. Null when it fits.</summary>
    private string? MapTypes(string where)
    {
        int types;
        double* mass;
        fixed (byte* n = LammpsLibrary.Utf8("ntypes")) types = *(int*)_lib.ExtractGlobal(_handle, n);
        fixed (byte* m = LammpsLibrary.Utf8("mass")) mass = (double*)_lib.ExtractAtom(_handle, m);
        var known = string.Join(", ", _modelSpecies.Select(s => $"{s.Symbol} {s.Mass:0.###}"));
        _typeSpecies = new Species[types + 1];
        if (_options.Types is { } names && names.Count != types)
            return $"--types names {names.Count} type(s) ({string.Join(",", names)}) but the LAMMPS box has {types} atom type(s)";
        for (int t = 1; t <= types; t++)
        {
            double m = mass is null ? 0 : mass[t];
            Species? species;
            if (_options.Types is { } map)
            {
                species = _modelSpecies.FirstOrDefault(s => string.Equals(s.Symbol, map[t - 1], StringComparison.OrdinalIgnoreCase));
                if (species is null) return $"--types maps atom type {t} to {map[t - 1]}, which is not a species of the model ({known})";
                // An isotope (D for H) is what --types is for; a mass that is another species' is a list in the wrong order.
                var nearest = _modelSpecies.MinBy(s => Math.Abs(s.Mass - m))!;
                if (m > 0 && Math.Abs(m - species.Mass) > MassTolerance && nearest != species)
                    return $"--types maps atom type {t} (mass {m:0.###}) to {species.Symbol} (mass {species.Mass:0.###}), but its mass is {nearest.Symbol}'s: " +
                        "check the order of --types (atom types 1, 2, ...)";
                if (m > 0 && Math.Abs(m - species.Mass) > MassTolerance && _rank == 0)
                    _output.WriteLine($"mld lammps: {where}: atom type {t} (mass {m:0.###}) is {species.Symbol} (model mass {species.Mass:0.###}), as --types says");
            }
            else if (mass is null)
                return $"the atom style has per-atom masses, none per type: give --types (the species of atom types 1, 2, ..., e.g. --types {string.Join(",", _modelSpecies.Select(s => s.Symbol))})";
            else
            {
                species = _modelSpecies.MinBy(s => Math.Abs(s.Mass - m));
                if (species is null || Math.Abs(species.Mass - m) > MassTolerance)
                    return $"atom type {t} has mass {m:0.###}, which matches no species of the model ({known}): set its mass or give --types";
            }
            _typeSpecies[t] = species;
        }
        return null;
    }

    /// <summary>Prints the error and ends: every rank with MPI_Abort when others may be waiting, else the exit code.</summary>
    private int Fail(string message, bool collective)
    {
        // A failure every rank meets at once is reported by rank 0 only; a rank's own failure by that rank.
        if (!collective || _rank == 0) Console.Error.WriteLine("error: " + message);
        Console.Error.Flush();
        Console.Out.Flush();
        // Every rank meets a collective failure, so a sum over ranks is a safe barrier: no rank aborts (and has
        // mpirun kill the others) before rank 0 has written the message.
        if (collective && _size > 1) _mpi?.Sum(0);
        if (_size > 1) _mpi?.Abort(CliExit);
        return CliExit;
    }

    /// <summary>The exit code of a refused input (the CLI's bad-input code).</summary>
    public const int CliExit = 2;
}
