using System.Globalization;

namespace MolecularLearning.Core;

/// <summary>Numbers in messages.</summary>
public static class NumberText
{
    /// <summary>
    /// Three decimals ("1.234"), or two significant figures below 0.001 ("4.3E-4"): a small non-zero value, such as an
    /// extrapolation of a fraction of a training spread, must not read as "0".
    /// </summary>
    public static string Short(double x) =>
        x != 0 && double.IsFinite(x) && Math.Abs(x) < 0.001
            ? x.ToString("0.#E+0", CultureInfo.InvariantCulture)
            : x.ToString("0.###", CultureInfo.InvariantCulture);
}
