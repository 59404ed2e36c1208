using System.Runtime.InteropServices;
using MolecularLearning.Core;

namespace MolecularLearning.Lammps;

/// <summary>
/// The functions of LAMMPS's C library interface (src/library.h) this project calls, bound at run time with
/// <see cref="NativeLibrary"/> so that `mld` runs without LAMMPS until `mld lammps` is used.
/// </summary>
public sealed unsafe class LammpsLibrary
{
    /// <summary>Environment variable naming another LAMMPS shared library (a cluster's own build).</summary>
    public const string PathVariable = "MLD_LIBLAMMPS";
    public const string DefaultName = "liblammps.so.0";

    public readonly delegate* unmanaged[Cdecl]<int, byte**, nint*, nint> OpenNoMpi;
    public readonly delegate* unmanaged[Cdecl]<nint, void> Close;
    public readonly delegate* unmanaged[Cdecl]<void> MpiFinalize;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, byte*> Command;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, void*> ExtractGlobal;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, int> ExtractSetting;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, void*> ExtractAtom;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, byte*, int> HasId;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, nint, nint, void> SetFixExternalCallback;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, double, void> FixExternalSetEnergyGlobal;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, double*, void> FixExternalSetVirialGlobal;
    public readonly delegate* unmanaged[Cdecl]<int> ConfigHasExceptions;
    public readonly delegate* unmanaged[Cdecl]<int> ConfigHasMpiSupport;
    public readonly delegate* unmanaged[Cdecl]<nint, int> HasError;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, int, int> GetLastErrorMessage;
    public readonly delegate* unmanaged[Cdecl]<nint, int> GetMpiComm;
    public readonly delegate* unmanaged[Cdecl]<nint, int> Version;
    public readonly delegate* unmanaged[Cdecl]<nint, byte*, byte*, void*> ExtractVariable;
    public readonly delegate* unmanaged[Cdecl]<void*, void> Free;

    public string Path { get; }
    public nint Handle { get; }

    private LammpsLibrary(string path, nint handle)
    {
        Path = path;
        Handle = handle;
        OpenNoMpi = (delegate* unmanaged[Cdecl]<int, byte**, nint*, nint>)Export("lammps_open_no_mpi");
        Close = (delegate* unmanaged[Cdecl]<nint, void>)Export("lammps_close");
        MpiFinalize = (delegate* unmanaged[Cdecl]<void>)Export("lammps_mpi_finalize");
        Command = (delegate* unmanaged[Cdecl]<nint, byte*, byte*>)Export("lammps_command");
        ExtractGlobal = (delegate* unmanaged[Cdecl]<nint, byte*, void*>)Export("lammps_extract_global");
        ExtractSetting = (delegate* unmanaged[Cdecl]<nint, byte*, int>)Export("lammps_extract_setting");
        ExtractAtom = (delegate* unmanaged[Cdecl]<nint, byte*, void*>)Export("lammps_extract_atom");
        HasId = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, int>)Export("lammps_has_id");
        SetFixExternalCallback = (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint, void>)Export("lammps_set_fix_external_callback");
        FixExternalSetEnergyGlobal = (delegate* unmanaged[Cdecl]<nint, byte*, double, void>)Export("lammps_fix_external_set_energy_global");
        FixExternalSetVirialGlobal = (delegate* unmanaged[Cdecl]<nint, byte*, double*, void>)Export("lammps_fix_external_set_virial_global");
        ConfigHasExceptions = (delegate* unmanaged[Cdecl]<int>)Export("lammps_config_has_exceptions");
        ConfigHasMpiSupport = (delegate* unmanaged[Cdecl]<int>)Export("lammps_config_has_mpi_support");
        HasError = (delegate* unmanaged[Cdecl]<nint, int>)Export("lammps_has_error");
        GetLastErrorMessage = (delegate* unmanaged[Cdecl]<nint, byte*, int, int>)Export("lammps_get_last_error_message");
        GetMpiComm = (delegate* unmanaged[Cdecl]<nint, int>)Export("lammps_get_mpi_comm");
        Version = (delegate* unmanaged[Cdecl]<nint, int>)Export("lammps_version");
        ExtractVariable = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, void*>)Export("lammps_extract_variable");
        Free = (delegate* unmanaged[Cdecl]<void*, void>)Export("lammps_free");
    }

    private nint Export(string name) => NativeLibrary.TryGetExport(Handle, name, out var f)
        ? f
        : throw new DataException($"{Path}: has no function {name}: mld lammps needs the LAMMPS library interface of 2021 or later (Debian package liblammps0)");

    /// <summary>Loads liblammps (or the library <see cref="PathVariable"/> names); a clear error naming the package when it is missing.</summary>
    public static LammpsLibrary Load()
    {
        var path = Environment.GetEnvironmentVariable(PathVariable);
        if (string.IsNullOrEmpty(path)) path = DefaultName;
        if (!NativeLibrary.TryLoad(path, out var handle))
            throw new DataException($"cannot load the LAMMPS library {path}: install the Debian package liblammps0 (apt-get install liblammps0), " +
                $"or set {PathVariable} to a LAMMPS shared library built with -DBUILD_SHARED_LIBS=on");
        return new LammpsLibrary(path, handle);
    }

    /// <summary>A null-terminated UTF-8 copy of <paramref name="s"/>.</summary>
    public static byte[] Utf8(string s)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
        System.Text.Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
