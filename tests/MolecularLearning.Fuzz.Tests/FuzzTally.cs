using System.Text;
using MolecularLearning.Core;
using Xunit.Abstractions;

namespace MolecularLearning.Fuzz.Tests;

/// <summary>What one fuzz case showed.</summary>
public enum Outcome
{
    /// <summary>Accepted, and the answer checked sane.</summary>
    Accepted,
    /// <summary>Refused with a documented error (a <see cref="DataException"/>: one line for the user).</summary>
    Refused,
    /// <summary>Any other exception: what a user would see as a stack trace or INTERNAL.</summary>
    Crash,
    /// <summary>No answer within the case's time limit.</summary>
    Hang,
    /// <summary>Accepted, but the answer is NaN/absurd, or a fault that must be refused was not.</summary>
    SilentWrong,
    /// <summary>A previous output was damaged or a temporary file was left behind.</summary>
    DataLost,
}

/// <summary>Counts per interface, printed as a table and asserted: crash, hang, silent-wrong and data-lost must stay 0.</summary>
public sealed class FuzzTally(string interfaceName)
{
    private readonly Dictionary<Outcome, int> _counts = Enum.GetValues<Outcome>().ToDictionary(o => o, _ => 0);
    private readonly List<string> _failures = [];

    public string Interface { get; } = interfaceName;
    public int Cases => _counts.Values.Sum();
    public int this[Outcome o] => _counts[o];

    /// <summary>Runs one case on a worker thread: an exception is classified, a body that outlives <paramref name="limit"/> is a hang.</summary>
    public async Task Run(string label, TimeSpan limit, Func<CancellationToken, Outcome> body)
    {
        using var cts = new CancellationTokenSource();
        var task = Task.Run(() => body(cts.Token));
        Outcome outcome;
        string? detail = null;
        try { outcome = await task.WaitAsync(limit); }
        catch (TimeoutException) { outcome = Outcome.Hang; cts.Cancel(); }
        catch (DataException) { outcome = Outcome.Refused; }
        catch (Exception e) { outcome = Outcome.Crash; detail = $"{e.GetType().Name}: {e.Message}"; }
        Add(label, outcome, detail);
    }

    public void Add(string label, Outcome outcome, string? detail = null)
    {
        _counts[outcome]++;
        if (outcome is not (Outcome.Accepted or Outcome.Refused))
            _failures.Add($"{Interface} {label}: {outcome}{(detail is null ? "" : " — " + detail)}");
    }

    public static string Table(IEnumerable<FuzzTally> tallies)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{"interface",-22} {"cases",6} {"accepted",8} {"refused",8} {"crash",6} {"hang",5} {"silent-wrong",12} {"data-lost",9}");
        foreach (var t in tallies)
            sb.AppendLine($"{t.Interface,-22} {t.Cases,6} {t[Outcome.Accepted],8} {t[Outcome.Refused],8} {t[Outcome.Crash],6} {t[Outcome.Hang],5} {t[Outcome.SilentWrong],12} {t[Outcome.DataLost],9}");
        return sb.ToString();
    }

    /// <summary>Prints the table (and every failing case), then fails the test if any bad column is non-zero.</summary>
    public static void Report(ITestOutputHelper output, params FuzzTally[] tallies)
    {
        var table = Table(tallies);
        output.WriteLine(table);
        Console.WriteLine(table);
        var failures = tallies.SelectMany(t => t._failures).ToList();
        foreach (var f in failures) output.WriteLine(f);
        Assert.True(failures.Count == 0, $"{failures.Count} fuzz cases failed:\n" + string.Join("\n", failures.Take(20)));
        foreach (var t in tallies) Assert.True(t.Cases > 0, $"{t.Interface}: no case ran");
    }
}

/// <summary>Seeded damage to text files: numbers swapped for absurd ones, lines lost or repeated, bytes flipped, files cut.</summary>
public static class Mutator
{
    public static readonly string[] BadNumbers =
    [
        "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e400", "1e20", "-1e20", "999999999", "2147483647",
        "-2147483648", "9999999999999", "-1", "0", "", "x", "1e-320", "+", "--5", "0x10", "1,5", "1.2.3", "٣", "1e", ".",
    ];

    public static string Mutate(string text, Random rng, int edits)
    {
        for (int e = 0; e < edits; e++) text = Once(text, rng);
        return text;
    }

    private static string Once(string text, Random rng)
    {
        var lines = text.Split('\n').ToList();
        int pick = rng.Next(10);
        int li = rng.Next(lines.Count);
        switch (pick)
        {
            case 0: case 1: case 2: // a number becomes a bad one
            {
                var tokens = lines[li].Split(' ');
                var numeric = Enumerable.Range(0, tokens.Length).Where(i => double.TryParse(tokens[i], System.Globalization.CultureInfo.InvariantCulture, out _)).ToList();
                if (numeric.Count == 0) goto case 3;
                tokens[numeric[rng.Next(numeric.Count)]] = BadNumbers[rng.Next(BadNumbers.Length)];
                lines[li] = string.Join(' ', tokens);
                break;
            }
            case 3: lines.RemoveAt(li); break;
            case 4: lines.Insert(li, lines[li]); break;
            case 5:
            {
                int lj = rng.Next(lines.Count);
                (lines[li], lines[lj]) = (lines[lj], lines[li]);
                break;
            }
            case 6: return text[..rng.Next(text.Length + 1)]; // cut anywhere
            case 7:
            {
                var chars = text.ToCharArray();
                if (chars.Length > 0) chars[rng.Next(chars.Length)] = (char)rng.Next(1, 256);
                return new string(chars);
            }
            case 8: lines[li] = BadNumbers[rng.Next(BadNumbers.Length)]; break; // e.g. an atom count line of 999999999
            default: lines[li] = lines[li].Replace(' ', '\t'); break;
        }
        return string.Join('\n', lines);
    }
}

public static class Paths
{
    public static string PbeSample
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "tests", "data", "water32-pbe-sample");
                if (Directory.Exists(path)) return path;
            }
            throw new DirectoryNotFoundException("tests/data/water32-pbe-sample");
        }
    }
}
