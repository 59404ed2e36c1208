namespace MolecularLearning.Learning;

/// <summary>Working storage of <see cref="SortedGaussianKernel"/>, one per worker thread (reused by its chunks); grows, never shrinks.</summary>
internal sealed class KernelScratch
{
    public int[] Atom = [];
    /// <summary>Per entry (species by species, each padded to whole vectors): displacement, r², r; exp(−x_0²/2), exp(δ x_0), h_0, Δh.</summary>
    public double[] Dx = [], Dy = [], Dz = [], R2 = [], R = [], Gauss0 = [], GaussStep = [], H = [], Dh = [];
    /// <summary>Per entry: the radial ladder's first term f_c exp(−x_0²/2) (<see cref="SortedGaussianKernel{V}"/>.RadialValues).</summary>
    public double[] Ladder0 = [];
    /// <summary>Per entry: ∂L/∂r from the sorted slots and the shells (zero elsewhere); the conservative scatter's s_e / r_e.</summary>
    public double[] SortedSlope = [], SlopeOverR = [];
    /// <summary>The gradient's polynomial coefficients of one species: λ_n c_n, n λ_n c_n interleaved (N rounded up to even, zeros past N).</summary>
    public double[] SlopeCoefficients = [];
    /// <summary>The radial sums of one species per n, lane by lane (n · 8 + lane, as many lanes as the kernel's vectors).</summary>
    public double[] LadderSums = [];
    public double[] Values = [], Lambda = [];
    /// <summary>The last agent's extrapolation signal and the invariant giving it (−1: inside its training range).</summary>
    public double Extrapolation;
    public int ExtrapolationInvariant = -1;
    public bool Walled;           // the last agent's range walls act (Loss)
    /// <summary>The invariants with non-zero rows of C, gathered, and their C I (when the loss is compacted).</summary>
    public double[] QuadraticValues = [], QuadraticProduct = [];
    public int[] SortedEntry = [];
    /// <summary>Per species: first entry and real (unpadded) count of its entries in the arrays above.</summary>
    public int[] GroupBase = [], GroupCount = [];
    /// <summary>Per (agent species, neighbour species): the sorted-distance candidate threshold (Å).</summary>
    public double[] Threshold = [];
    /// <summary>The virial of the chunk being run: the radial part (symmetric) per lane, the rest (sorted angles, shell angles, angular sums) in full.</summary>
    public readonly double[] RadialVirial = new double[6 * 8]; // xx yy zz xy xz yz, lane by lane
    public readonly double[] AngleVirial = new double[9];
    /// <summary>Per sorted angle: cos θ (NaN when the angle is absent) and dP_l/dcos θ, kept from the values for the gradient.</summary>
    public double[] AngleCos = [], AngleSlopes = [];
    /// <summary>Sorted-distance candidates of one species: distance and entry.</summary>
    public double[] CandR = [];
    public long[] CandE = [];
    /// <summary>The k nearest by rank, plus one trash slot for the ranks past k.</summary>
    public double[] RankR = [];
    public int[] RankE = [];
    /// <summary>The entries inside the agent's shell reach (<see cref="KernelShells"/>): r and entry, species t from ShellStart[t].</summary>
    public double[] ShellR = [];
    public long[] ShellEntry = [];
    public int[] ShellStart = [];
    /// <summary>P_l and dP_l/dx of one shell angle (degree ≤ 8): [0, 9) and [9, 18).</summary>
    public readonly double[] ShellLegendre = new double[18];
    /// <summary>The angular sums' packed entries and accumulators (<see cref="KernelAngular{V}"/>).</summary>
    public readonly AngularScratch Angular = new();

    public void Ensure(int maxRow, int nr, int species, int invariants, int angleSlopes)
    {
        if (AngleSlopes.Length < angleSlopes) { AngleSlopes = new double[angleSlopes]; AngleCos = new double[angleSlopes]; }
        int size = (maxRow + 8 * species + 7) / 8 * 8;
        if (Atom.Length < size)
        {
            // A quarter of headroom: rows grow by a few entries between rebuilds, and every growth allocates.
            size = Math.Max((size + size / 4 + 7) / 8 * 8, 2 * Atom.Length);
            Atom = new int[size];
            Dx = new double[size]; Dy = new double[size]; Dz = new double[size]; R2 = new double[size]; R = new double[size];
            Gauss0 = new double[size]; GaussStep = new double[size]; H = new double[size]; Dh = new double[size]; Ladder0 = new double[size];
            SortedSlope = new double[size]; SlopeOverR = new double[size];
            CandR = new double[size + 8]; CandE = new long[size + 8];
            ShellR = new double[size + 8]; ShellEntry = new long[size + 8];
        }
        if (SlopeCoefficients.Length < 2 * nr + 2) SlopeCoefficients = new double[2 * nr + 2];
        if (LadderSums.Length < 8 * nr) LadderSums = new double[8 * nr];
        if (Values.Length < invariants)
        {
            int padded = (invariants + 7) / 8 * 8; // the loss reads whole vectors: the padding stays zero
            Values = new double[padded]; Lambda = new double[padded]; SortedEntry = new int[invariants];
            QuadraticValues = new double[padded]; QuadraticProduct = new double[padded];
        }
        if (GroupBase.Length < species)
        {
            GroupBase = new int[species]; GroupCount = new int[species]; ShellStart = new int[species + 1];
            Threshold = new double[species * species];
            Threshold.AsSpan().Fill(double.PositiveInfinity);
        }
    }
}
