using MolecularLearning.Core;

namespace MolecularLearning.Dynamics;

/// <summary>Kinetic energy, temperature, centre-of-mass motion and Maxwell–Boltzmann velocities.</summary>
public static class Momentum
{
    /// <summary>Kinetic energy (eV) of velocities (Å/fs) with masses (amu), one per atom.</summary>
    public static double KineticEnergy(ReadOnlySpan<double> masses, ReadOnlySpan<double> velocities)
    {
        double twiceKe = 0;
        for (int i = 0; i < masses.Length; i++)
        {
            double vx = velocities[3 * i], vy = velocities[3 * i + 1], vz = velocities[3 * i + 2];
            twiceKe += masses[i] * (vx * vx + vy * vy + vz * vz);
        }
        return 0.5 * twiceKe * Units.AmuAngstrom2PerFs2InEv;
    }

    /// <summary>Temperature (K) of a kinetic energy (eV) spread over <paramref name="degreesOfFreedom"/>.</summary>
    public static double Temperature(double kineticEnergy, int degreesOfFreedom)
        => 2 * kineticEnergy / (degreesOfFreedom * Units.BoltzmannEvPerK);

    /// <summary>Total momentum (amu·Å/fs).</summary>
    public static Vec3 Total(ReadOnlySpan<double> masses, ReadOnlySpan<double> velocities)
    {
        double px = 0, py = 0, pz = 0;
        for (int i = 0; i < masses.Length; i++)
        {
            px += masses[i] * velocities[3 * i];
            py += masses[i] * velocities[3 * i + 1];
            pz += masses[i] * velocities[3 * i + 2];
        }
        return new(px, py, pz);
    }

    /// <summary>Total mass (amu).</summary>
    public static double TotalMass(ReadOnlySpan<double> masses)
    {
        double m = 0;
        foreach (var mi in masses) m += mi;
        return m;
    }

    /// <summary>
    /// Subtracts the centre-of-mass velocity, so the total momentum is zero, and returns the kinetic energy (eV) that
    /// took out, P²/2M. A caller that does this every step passes <paramref name="totalMass"/> (<see cref="TotalMass"/>
    /// of the same masses) once summed.
    /// </summary>
    public static double RemoveCenterOfMassMotion(ReadOnlySpan<double> masses, Span<double> velocities, double? totalMass = null)
    {
        var p = Total(masses, velocities);
        double m = totalMass ?? TotalMass(masses);
        double vx = p.X / m, vy = p.Y / m, vz = p.Z / m;
        for (int i = 0; i < masses.Length; i++)
        {
            velocities[3 * i] -= vx;
            velocities[3 * i + 1] -= vy;
            velocities[3 * i + 2] -= vz;
        }
        return 0.5 * p.Norm2() / m * Units.AmuAngstrom2PerFs2InEv;
    }

    /// <summary>
    /// Draws velocities from the Maxwell–Boltzmann distribution at <paramref name="temperatureK"/>,
    /// removes the centre-of-mass motion (if asked) and rescales so the instantaneous temperature over
    /// <paramref name="degreesOfFreedom"/> is exactly the target. Deterministic for a given generator state.
    /// </summary>
    public static void MaxwellBoltzmann(ReadOnlySpan<double> masses, Span<double> velocities, double temperatureK,
        int degreesOfFreedom, bool removeCenterOfMassMotion, Xoshiro256 random)
    {
        if (!(temperatureK >= 0) || !double.IsFinite(temperatureK)) throw new DataException($"temperature must be ≥ 0 K, got {temperatureK}");
        double kT = Units.BoltzmannEvPerK * temperatureK;
        for (int i = 0; i < masses.Length; i++)
        {
            double sigma = Math.Sqrt(kT / (masses[i] * Units.AmuAngstrom2PerFs2InEv));
            for (int k = 0; k < 3; k++) velocities[3 * i + k] = sigma * random.NextGaussian();
        }
        if (removeCenterOfMassMotion) RemoveCenterOfMassMotion(masses, velocities);
        double ke = KineticEnergy(masses, velocities);
        if (ke <= 0 || temperatureK == 0) { velocities.Clear(); return; }
        double scale = Math.Sqrt(0.5 * degreesOfFreedom * kT / ke);
        foreach (ref var v in velocities) v *= scale;
    }
}
