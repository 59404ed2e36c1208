namespace MolecularLearning.Core;

/// <summary>
/// The one home of units and constants. Inside the program: Å, fs, amu, eV (the ASE convention);
/// conversions to CP2K / i-PI atomic units happen only at the edges, through these constants.
/// </summary>
public static class Units
{
    /// <summary>Bohr radius in Å (CODATA 2018).</summary>
    public const double BohrInAngstrom = 0.529177210903;
    /// <summary>Hartree in eV (CODATA 2018).</summary>
    public const double HartreeInEv = 27.211386245988;
    /// <summary>Atomic unit of time in fs (CODATA 2018).</summary>
    public const double AtomicTimeInFs = 0.02418884326585747;
    /// <summary>Hartree/Bohr in eV/Å.</summary>
    public const double HartreePerBohrInEvPerAngstrom = HartreeInEv / BohrInAngstrom;
    /// <summary>fs per ps: LAMMPS metal units measure time in ps (velocities Å/ps).</summary>
    public const double FemtosecondsPerPicosecond = 1000;
    /// <summary>Bohr per atomic time unit in Å/fs.</summary>
    public const double AtomicVelocityInAngstromPerFs = BohrInAngstrom / AtomicTimeInFs;

    /// <summary>Unified atomic mass unit in kg (CODATA 2018).</summary>
    public const double AmuInKg = 1.66053906660e-27;
    /// <summary>Electron volt in J (exact).</summary>
    public const double EvInJoule = 1.602176634e-19;
    /// <summary>Electron mass in amu (CODATA 2018).</summary>
    public const double ElectronMassInAmu = 5.48579909065e-4;
    /// <summary>Boltzmann constant in eV/K (exact).</summary>
    public const double BoltzmannEvPerK = 8.617333262e-5;

    /// <summary>1 amu·Å²/fs² expressed in eV (≈ 103.6427): kinetic energy = ½ m v² · this.</summary>
    public const double AmuAngstrom2PerFs2InEv = AmuInKg * 1e-20 / 1e-30 / EvInJoule;

    /// <summary>Avogadro constant in 1/mol (exact).</summary>
    public const double Avogadro = 6.02214076e23;
    /// <summary>kcal/mol in eV (≈ 0.0433641; LAMMPS "real" units, classical water models).</summary>
    public const double KcalPerMolInEv = 4184.0 / Avogadro / EvInJoule;
    /// <summary>Coulomb's constant e²/(4πε₀) in eV·Å (CODATA 2018): E = this · q_i q_j / r.</summary>
    public const double CoulombEvAngstrom = HartreeInEv * BohrInAngstrom;

    /// <summary>Acceleration in Å/fs² from a force in eV/Å and a mass in amu.</summary>
    public static double Acceleration(double forceEvPerAngstrom, double massAmu)
        => forceEvPerAngstrom / (massAmu * AmuAngstrom2PerFs2InEv);
}
