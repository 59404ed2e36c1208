namespace MolecularLearning.Learning;

/// <summary>Working storage of <see cref="KernelAngular{V}"/>, in <see cref="KernelScratch"/> (one per worker thread); grows, never shrinks.</summary>
internal sealed class AngularScratch
{
    /// <summary>Slots of the packed arrays (the stride of <see cref="H"/> and <see cref="Dh"/>).</summary>
    public int Capacity;
    /// <summary>Per packed entry: r, the row entry (padding: the species' first), unit vector; h_n and h_n' at [n · Capacity + q] (padding: 0).</summary>
    public double[] R = [], Ux = [], Uy = [], Uz = [], H = [], Dh = [];
    /// <summary>Per packed entry: ∂L/∂d of the angular sums.</summary>
    public double[] Gx = [], Gy = [], Gz = [];
    public long[] Entry = [];
    /// <summary>Per species: first packed slot (and the total at [T]), real entries.</summary>
    public int[] Start = [], Count = [];
    /// <summary>Per angular invariant: its sum lane by lane (invariant · 8 + lane, as many lanes as the kernel's vectors).</summary>
    public double[] Sums = [];
    /// <summary>The gradient's matrices M_l per ordered species pair, and z_(t,l,n) of every packed entry at [((t · L + l) · N + n) · Capacity + k].</summary>
    public double[] M = [], Z = [];
    /// <summary>w_(n,l)(k) = Σ_j h_n(r_j) P_l(cos θ_jk) of one block of eight k, at [n · L + l − 1] (the values pass).</summary>
    public double[] WeightedLegendre = []; // as Sums, lane by lane

    public void Ensure(int capacity, int na, int degree, int invariants, int species)
    {
        if (Capacity < capacity || H.Length < na * Capacity)
        {
            if (Capacity < capacity) Capacity = Math.Max((capacity + capacity / 4 + 7) / 8 * 8, 2 * Capacity); // headroom, as KernelScratch
            R = new double[Capacity]; Ux = new double[Capacity]; Uy = new double[Capacity]; Uz = new double[Capacity];
            Gx = new double[Capacity]; Gy = new double[Capacity]; Gz = new double[Capacity];
            Entry = new long[Capacity];
            H = new double[na * Capacity]; Dh = new double[na * Capacity];
        }
        if (Sums.Length < 8 * invariants) Sums = new double[8 * invariants];
        if (Start.Length < species + 1) { Start = new int[species + 1]; Count = new int[species]; }
        if (M.Length < species * species * degree * na * na) M = new double[species * species * degree * na * na];
        if (Z.Length < species * degree * na * Capacity) Z = new double[species * degree * na * Capacity];
        if (WeightedLegendre.Length < 8 * na * degree) WeightedLegendre = new double[8 * na * degree];
    }
}
