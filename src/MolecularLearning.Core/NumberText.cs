using System.Globalization;

namespace MolecularLearning.Core;

/// <summary>Numbers in messages.</summary>
public static class NumberText
{
    /// <summary>
    /// Up to <paramref name="decimals"/> decimals ("1.234"), or two significant figures below the last of them ("4.3E-4"):
    /// a small non-zero value, such as an extrapolation of a fraction of a training spread, must not read as "0".
    /// </summary>
    public static string Short(double x, int decimals = 3) =>
        x != 0 && double.IsFinite(x) && Math.Abs(x) < Math.Pow(10, -decimals)
            ? x.ToString("0.#E+0", CultureInfo.InvariantCulture)
            : x.ToString("0." + new string('#', decimals), CultureInfo.InvariantCulture);
}
