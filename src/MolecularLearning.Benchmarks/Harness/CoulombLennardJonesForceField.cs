using MolecularLearning.Core;

namespace MolecularLearning.Benchmarks;

/// <summary>
/// The pair reference: SPC/Fw's nonbonded terms (LJ between oxygens, point charges O −0.82 e, H +0.41 e)
/// with a plain cutoff over every pair, molecules included (no bonds, no exclusions). The same pair work
/// as LAMMPS's lj/cut/coul/cut, on our neighbour list and thread team; a floor for the learned loss's
/// cost, not a water model (it is not stable MD on its own).
/// </summary>
public sealed class CoulombLennardJonesForceField : IForceField, IParallelWork
{
    private const int ChunkAtoms = 512;
    private static readonly double Epsilon = 0.1554 * Units.KcalPerMolInEv, Sigma = 3.1655;

    private readonly NeighbourList _list = new(NeighbourStorage.Compact);
    private readonly double _cutoff, _skin;
    private double[] _charge = [];
    private bool[] _oxygen = [];
    private double[] _forces = [];
    private double[][] _rows = [];       // per worker: dx, dy, dz, r scratch (4 × max row)
    private int[][] _rowIndex = [];
    private double[] _energy = [], _virial = [];
    private int _atoms;

    public CoulombLennardJonesForceField(double cutoff, double skin)
    {
        _cutoff = cutoff;
        _skin = skin;
    }

    public string Name => $"SPC/Fw nonbonded pair reference (cutoff {_cutoff} Å)";
    public NeighbourList NeighbourList => _list;

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        int n = species.Length;
        if (_charge.Length != n) { _charge = new double[n]; _oxygen = new bool[n]; }
        for (int i = 0; i < n; i++)
        {
            _oxygen[i] = species[i].Symbol == "O";
            _charge[i] = _oxygen[i] ? -0.82 : species[i].Symbol == "H" ? 0.41 : throw new DataException($"pair reference: atom {i} is {species[i].Symbol}, only O and H");
        }
        _list.Update(positions, cell, _cutoff, _skin);
        result.Resize(n);
        _forces = result.Forces;
        _atoms = n;
        int workers = _list.Runner.MaxWorkers, row = _list.MaxRowLength;
        if (_rows.Length < workers || _rows[0].Length < 4 * row)
        {
            _rows = new double[workers][];
            _rowIndex = new int[workers][];
            for (int w = 0; w < workers; w++) { _rows[w] = new double[4 * row + 64]; _rowIndex[w] = new int[row + 16]; }
            _energy = new double[workers];
            _virial = new double[9 * workers];
        }
        Array.Clear(_energy);
        Array.Clear(_virial);
        _list.Runner.Run(this, (n + ChunkAtoms - 1) / ChunkAtoms);
        double energy = 0;
        Span<double> w9 = result.Virial;
        w9.Clear();
        for (int w = 0; w < _energy.Length; w++)
        {
            energy += _energy[w];
            for (int a = 0; a < 9; a++) w9[a] += _virial[9 * w + a];
        }
        result.Energy = energy;
    }

    void IParallelWork.Execute(int chunk, int worker)
    {
        int from = chunk * ChunkAtoms, to = Math.Min(_atoms, from + ChunkAtoms);
        var scratch = _rows[worker];
        int stride = scratch.Length / 4;
        var dx = scratch.AsSpan(0, stride); var dy = scratch.AsSpan(stride, stride);
        var dz = scratch.AsSpan(2 * stride, stride); var r = scratch.AsSpan(3 * stride, stride);
        var index = _rowIndex[worker].AsSpan();
        double s6 = Math.Pow(Sigma, 6), ke = Units.CoulombEvAngstrom;
        double energy = 0, wxx = 0, wxy = 0, wxz = 0, wyy = 0, wyz = 0, wzz = 0;
        for (int i = from; i < to; i++)
        {
            int m = _list.GetRow(i, index, dx, dy, dz, r);
            double qi = ke * _charge[i];
            bool oi = _oxygen[i];
            double fx = 0, fy = 0, fz = 0;
            for (int e = 0; e < m; e++)
            {
                int j = index[e];
                double inv = 1 / r[e], inv2 = inv * inv;
                double phi = qi * _charge[j] * inv, dphi = -phi * inv; // dφ/dr
                if (oi && _oxygen[j])
                {
                    double sr6 = s6 * inv2 * inv2 * inv2;
                    phi += 4 * Epsilon * (sr6 * sr6 - sr6);
                    dphi += 4 * Epsilon * (-12 * sr6 * sr6 + 6 * sr6) * inv;
                }
                // Each pair is listed from both sides: half the energy here, the whole force on i.
                energy += 0.5 * phi;
                double g = dphi * inv; // (dφ/dr)/r: force on i is +g d
                fx += g * dx[e]; fy += g * dy[e]; fz += g * dz[e];
                double h = -0.5 * g;
                wxx += h * dx[e] * dx[e]; wxy += h * dx[e] * dy[e]; wxz += h * dx[e] * dz[e];
                wyy += h * dy[e] * dy[e]; wyz += h * dy[e] * dz[e]; wzz += h * dz[e] * dz[e];
            }
            _forces[3 * i] = fx; _forces[3 * i + 1] = fy; _forces[3 * i + 2] = fz;
        }
        _energy[worker] += energy;
        var v = _virial.AsSpan(9 * worker, 9);
        v[0] += wxx; v[1] += wxy; v[2] += wxz; v[3] += wxy; v[4] += wyy; v[5] += wyz; v[6] += wxz; v[7] += wyz; v[8] += wzz;
    }
}
