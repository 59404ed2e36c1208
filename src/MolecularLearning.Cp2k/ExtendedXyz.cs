using System.IO.Compression;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>
/// Extended XYZ, the dataset format of ASE and the ML-potential tools. One frame:
/// <code>
/// N
/// Lattice="ax ay az bx by bz cx cy cz" Properties=species:S:1:pos:R:3:forces:R:3:velocities:R:3 energy=E step=S time=T pbc="T T T"
/// O x y z fx fy fz vx vy vz
/// </code>
/// Units: Å, eV/Å, eV, fs; velocities in Å/fs. ASE 3.22 reads the <c>velocities</c> column as a
/// plain array, unconverted (<c>atoms.arrays["velocities"]</c>, in Å/fs); ASE's own velocity unit is
/// Å per ASE time unit, so <c>atoms.set_velocities(atoms.arrays["velocities"] / ase.units.fs)</c>
/// gives ASE the same motion. Numbers are written in round-trip precision. On reading, a
/// <c>momenta</c> column (what ASE writes for atoms whose velocities were set) is ignored: turning it
/// into velocities would need ASE's masses, which differ from CP2K's.
/// </summary>
public static partial class ExtendedXyz
{
    /// <summary>Writes all frames atomically (temp file + rename); a path ending in .gz is compressed.</summary>
    public static void Write(string path, IEnumerable<Frame> frames) => AtomicFile.Write(path, stream =>
    {
        bool compress = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        if (frames is IReadOnlyList<Frame> list && list.Count >= 2 * FramesPerChunk && Environment.ProcessorCount > 1)
        {
            using var output = compress ? new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true) : null;
            WriteInParallel(list, output ?? stream);
            return;
        }
        using var writer = new ExtendedXyzWriter(stream, leaveOpen: true, compress);
        foreach (var frame in frames) writer.Write(frame);
    });

    private const int FramesPerChunk = 64;

    /// <summary>
    /// Formatting numbers in round-trip precision is most of the cost of writing: chunks of frames are
    /// formatted on all cores, then written in order.
    /// </summary>
    private static void WriteInParallel(IReadOnlyList<Frame> frames, Stream output)
    {
        int chunks = (frames.Count + FramesPerChunk - 1) / FramesPerChunk;
        int batch = 2 * Environment.ProcessorCount;
        var buffers = new MemoryStream[batch];
        for (int first = 0; first < chunks; first += batch)
        {
            int count = Math.Min(batch, chunks - first);
            Parallel.For(0, count, b =>
            {
                var buffer = buffers[b] ??= new MemoryStream(1 << 20);
                buffer.SetLength(0);
                using var writer = new ExtendedXyzWriter(buffer, leaveOpen: true, bufferSize: 1 << 16);
                int start = (first + b) * FramesPerChunk, end = Math.Min(frames.Count, start + FramesPerChunk);
                for (int k = start; k < end; k++) writer.Write(frames[k]);
            });
            for (int b = 0; b < count; b++) output.Write(buffers[b].GetBuffer(), 0, (int)buffers[b].Length);
        }
    }
}
