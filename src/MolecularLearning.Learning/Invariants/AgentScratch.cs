namespace MolecularLearning.Learning;

/// <summary>Per-thread working storage for one agent's neighbourhood; grows, never shrinks, so steady state allocates nothing.</summary>
internal sealed class AgentScratch
{
    public AgentScratch(int invariants)
    {
        Values = new double[invariants];
        Lambda = new double[invariants];
        SortedEntry = new int[invariants];
    }

    public int Entries;
    /// <summary>Species index of the agent being evaluated.</summary>
    public int AgentType;
    public int[] Atom = [], Type = [];
    public double[] Dx = [], Dy = [], Dz = [], R = [], Ux = [], Uy = [], Uz = [];
    /// <summary>Per entry: accumulated scalar along u_e, and the gradient ∂L/∂d_e.</summary>
    public double[] S = [], Gx = [], Gy = [], Gz = [];
    /// <summary>Radial sums: φ_n(r_e) = g_n f_c and φ_n'(r_e) at [e · N + n].</summary>
    public double[] Phi = [], DPhi = [];
    /// <summary>Angular sums: the entries inside the angular cutoff, their count, and h_n = g_n f_c, h_n' at [m · N_a + n].</summary>
    public int AngCount;
    public int[] AngEntry = [];
    public double[] H = [], DH = [];
    public readonly double[] Values, Lambda;
    public readonly int[] SortedEntry;
    /// <summary>Take all-Gaussian radial functions from the set's cubic Hermite table instead of exp (the generic evaluator's default; <see cref="SortedGaussianKernel"/> always uses exact Gaussians).</summary>
    public bool TabulatedRadial;

    public void EnsureEntries(int n)
    {
        if (Atom.Length >= n) return;
        n = Math.Max(n + n / 4, 2 * Atom.Length); // headroom: rows grow by a few entries between rebuilds
        Atom = new int[n]; Type = new int[n]; AngEntry = new int[n];
        Dx = new double[n]; Dy = new double[n]; Dz = new double[n]; R = new double[n];
        Ux = new double[n]; Uy = new double[n]; Uz = new double[n];
        S = new double[n]; Gx = new double[n]; Gy = new double[n]; Gz = new double[n];
    }

    public void EnsureRadial(int n)
    {
        if (Phi.Length < n) { Phi = new double[Math.Max(n, 2 * Phi.Length)]; DPhi = new double[Phi.Length]; }
    }

    public void EnsureAngular(int n)
    {
        if (H.Length < n) { H = new double[Math.Max(n, 2 * H.Length)]; DH = new double[H.Length]; }
    }
}

/// <summary>Receives ∂I_k/∂d_e as the invariant code streams it (generic struct: no virtual calls in the hot loop).</summary>
internal interface IGradientSink
{
    /// <summary>∂I_k/∂d_e += s · u_e (a function of r_e only).</summary>
    void Radial(int k, int e, double s);
    /// <summary>Starts a neighbour pair (j, k) whose angle cosine is c.</summary>
    void BeginPair(AgentScratch a, int ej, int ek, double c);
    /// <summary>∂I_k/∂d_j += sj u_j + sc ∂c/∂d_j and ∂I_k/∂d_k += sk u_k + sc ∂c/∂d_k.</summary>
    void Pair(int k, double sj, double sk, double sc);
    void EndPair(AgentScratch a);
    void EndAgent(AgentScratch a);
}

internal struct NullGradientSink : IGradientSink
{
    public void Radial(int k, int e, double s) { }
    public void BeginPair(AgentScratch a, int ej, int ek, double c) { }
    public void Pair(int k, double sj, double sk, double sc) { }
    public void EndPair(AgentScratch a) { }
    public void EndAgent(AgentScratch a) { }
}

/// <summary>Geometry of the current pair: unit vectors and ∂cos θ/∂d for both legs.</summary>
internal struct PairGeometry
{
    public int Ej, Ek;
    public double Ujx, Ujy, Ujz, Ukx, Uky, Ukz, Cjx, Cjy, Cjz, Ckx, Cky, Ckz;

    public void Set(AgentScratch a, int ej, int ek, double c)
    {
        Ej = ej; Ek = ek;
        Ujx = a.Ux[ej]; Ujy = a.Uy[ej]; Ujz = a.Uz[ej];
        Ukx = a.Ux[ek]; Uky = a.Uy[ek]; Ukz = a.Uz[ek];
        double ij = 1 / a.R[ej], ik = 1 / a.R[ek];
        Cjx = (Ukx - c * Ujx) * ij; Cjy = (Uky - c * Ujy) * ij; Cjz = (Ukz - c * Ujz) * ij;
        Ckx = (Ujx - c * Ukx) * ik; Cky = (Ujy - c * Uky) * ik; Ckz = (Ujz - c * Ukz) * ik;
    }
}

/// <summary>
/// Contracts the gradient with λ_k = ∂L/∂I_k on the fly: leaves G_e = ∂L_i/∂d_e in the scratch.
/// The evaluator's sink; clears its per-entry buffers itself.
/// </summary>
internal struct LossGradientSink : IGradientSink
{
    private readonly double[] _lambda, _s;
    private PairGeometry _g;
    private double _aj, _ak, _ac;

    public LossGradientSink(AgentScratch a)
    {
        _lambda = a.Lambda;
        _s = a.S;
        int n = a.Entries;
        Array.Clear(a.S, 0, n); Array.Clear(a.Gx, 0, n); Array.Clear(a.Gy, 0, n); Array.Clear(a.Gz, 0, n);
    }

    public void Radial(int k, int e, double s) => _s[e] += _lambda[k] * s;
    /// <summary>Radial for invariants k0.. with slopes <paramref name="s"/>: one SIMD dot product.</summary>
    public void RadialRow(int k0, int e, ReadOnlySpan<double> s) => _s[e] += Dense.Dot(_lambda.AsSpan(k0, s.Length), s);

    public void BeginPair(AgentScratch a, int ej, int ek, double c) { _g.Set(a, ej, ek, c); _aj = _ak = _ac = 0; }
    public void Pair(int k, double sj, double sk, double sc)
    {
        double l = _lambda[k];
        _aj += l * sj; _ak += l * sk; _ac += l * sc;
    }
    public void EndPair(AgentScratch a)
    {
        int j = _g.Ej, k = _g.Ek;
        a.S[j] += _aj; a.S[k] += _ak;
        a.Gx[j] += _ac * _g.Cjx; a.Gy[j] += _ac * _g.Cjy; a.Gz[j] += _ac * _g.Cjz;
        a.Gx[k] += _ac * _g.Ckx; a.Gy[k] += _ac * _g.Cky; a.Gz[k] += _ac * _g.Ckz;
    }
    public void EndAgent(AgentScratch a)
    {
        for (int e = 0; e < a.Entries; e++)
        {
            double s = a.S[e];
            a.Gx[e] += s * a.Ux[e]; a.Gy[e] += s * a.Uy[e]; a.Gz[e] += s * a.Uz[e];
        }
    }
}

/// <summary>∂I_k/∂x_i (the agent's own position) for every k: the agent-mode design rows. D is K×3.</summary>
internal struct AgentJacobianSink : IGradientSink
{
    private readonly double[] _d;
    private readonly AgentScratch _a;
    private PairGeometry _g;

    public AgentJacobianSink(AgentScratch a, double[] d, int invariants)
    {
        _a = a; _d = d;
        Array.Clear(d, 0, 3 * invariants);
    }

    public void Radial(int k, int e, double s)
    {
        _d[3 * k] -= s * _a.Ux[e]; _d[3 * k + 1] -= s * _a.Uy[e]; _d[3 * k + 2] -= s * _a.Uz[e];
    }
    public void BeginPair(AgentScratch a, int ej, int ek, double c) => _g.Set(a, ej, ek, c);
    public void Pair(int k, double sj, double sk, double sc)
    {
        _d[3 * k] -= sj * _g.Ujx + sk * _g.Ukx + sc * (_g.Cjx + _g.Ckx);
        _d[3 * k + 1] -= sj * _g.Ujy + sk * _g.Uky + sc * (_g.Cjy + _g.Cky);
        _d[3 * k + 2] -= sj * _g.Ujz + sk * _g.Ukz + sc * (_g.Cjz + _g.Ckz);
    }
    public void EndPair(AgentScratch a) { }
    public void EndAgent(AgentScratch a) { }
}

/// <summary>The full Jacobian J[(k·E + e)·3 + c] = ∂I_k/∂d_e,c (conservative design rows and tests).</summary>
internal struct EntryJacobianSink : IGradientSink
{
    private readonly double[] _j;
    private readonly AgentScratch _a;
    private readonly int _entries;
    private PairGeometry _g;

    public EntryJacobianSink(AgentScratch a, double[] j, int invariants)
    {
        _a = a; _j = j; _entries = a.Entries;
        Array.Clear(j, 0, 3 * invariants * _entries);
    }

    public void Radial(int k, int e, double s)
    {
        int o = 3 * (k * _entries + e);
        _j[o] += s * _a.Ux[e]; _j[o + 1] += s * _a.Uy[e]; _j[o + 2] += s * _a.Uz[e];
    }
    public void BeginPair(AgentScratch a, int ej, int ek, double c) => _g.Set(a, ej, ek, c);
    public void Pair(int k, double sj, double sk, double sc)
    {
        int o = 3 * (k * _entries + _g.Ej);
        _j[o] += sj * _g.Ujx + sc * _g.Cjx; _j[o + 1] += sj * _g.Ujy + sc * _g.Cjy; _j[o + 2] += sj * _g.Ujz + sc * _g.Cjz;
        o = 3 * (k * _entries + _g.Ek);
        _j[o] += sk * _g.Ukx + sc * _g.Ckx; _j[o + 1] += sk * _g.Uky + sc * _g.Cky; _j[o + 2] += sk * _g.Ukz + sc * _g.Ckz;
    }
    public void EndPair(AgentScratch a) { }
    public void EndAgent(AgentScratch a) { }
}
