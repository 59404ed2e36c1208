using System.Diagnostics;
using MolecularLearning.Core;

namespace MolecularLearning.Protocols.Ipi;

/// <summary>
/// Cost of the i-PI protocol itself: one full step (STATUS, POSDATA, STATUS, GETFORCE, FORCEREADY)
/// between our <see cref="IpiServerForceField"/> and our <see cref="IpiClient"/> over a UNIX socket,
/// with a force field that costs nothing, so what is measured is transport and conversion only.
/// </summary>
public static class IpiBenchmark
{
    /// <summary>Mean microseconds per step for <paramref name="atoms"/> atoms over <paramref name="steps"/> timed steps.</summary>
    public static double RoundTripMicroseconds(int atoms = 96, int steps = 20_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(atoms, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var species = new Species[atoms];
        var positions = new double[3 * atoms];
        for (int i = 0; i < atoms; i++)
        {
            species[i] = i % 3 == 0 ? Elements.O : Elements.H;
            positions[3 * i] = 0.9 * (i % 11);
            positions[3 * i + 1] = 0.9 * (i / 11 % 11);
            positions[3 * i + 2] = 0.9 * (i / 121);
        }
        var cell = Cell.Orthorhombic(9.8528, 9.8528, 9.8528);
        var address = IpiAddress.Parse("unix:mlbench" + Guid.NewGuid().ToString("N")[..10]);
        var quiet = new IpiServerOptions { Log = _ => { }, ConnectTimeout = TimeSpan.FromSeconds(30), RequestTimeout = TimeSpan.FromSeconds(30) };
        using var server = IpiServerForceField.Listen(address, quiet);
        var client = new IpiClient().RunAsync(new ZeroCostForceField(), species, address,
            new IpiClientOptions { Log = _ => { }, ConnectTimeout = TimeSpan.FromSeconds(30) }, CancellationToken.None);
        var result = new ForceResult(atoms);
        for (int i = 0; i < Math.Min(steps, 2000); i++) server.Compute(species, positions, cell, result); // warm-up
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) server.Compute(species, positions, cell, result);
        double microseconds = clock.Elapsed.TotalMicroseconds / steps;
        server.Dispose();
        client.Wait(TimeSpan.FromSeconds(10));
        return microseconds;
    }
}
