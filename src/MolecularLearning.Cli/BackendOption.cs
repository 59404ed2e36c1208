using System.CommandLine;
using MolecularLearning.Learning;

namespace MolecularLearning.Cli;

/// <summary>`--backend auto|reference|simd`, shared by the verbs that evaluate a learned model.</summary>
public static class BackendOption
{
    public static Option<string> Create(string what = "evaluates the model") => new("--backend")
    {
        Description = $"what {what}: simd (the fused SIMD kernel), reference (the scalar oracle) or auto (simd when the model and CPU allow, said otherwise)",
        DefaultValueFactory = _ => "auto",
    };

    public static BackendChoice Parse(string text) => BackendChoices.Parse(text, "--backend");

    /// <summary>`--precision double|mixed` (<see cref="Precision"/>): mixed runs the SIMD kernel's exponentials in single precision.</summary>
    public static Option<string> CreatePrecision() => new("--precision")
    {
        Description = "double (default: the results of every release) or mixed (the simd backend's per-pair Gaussians in single precision, sums, forces and energy in double; faster, forces ~1e-7 of the rms force from double)",
        DefaultValueFactory = _ => "double",
    };

    public static Precision ParsePrecision(string text) => Precisions.Parse(text, "--precision");

    /// <summary>Says once, on standard error, why auto took the slow path.</summary>
    public static void Tell(LearnedForceField forceField)
    {
        if (forceField.BackendNote is { } note) Console.Error.WriteLine("note: " + note);
    }
}
