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

    /// <summary>Says once, on standard error, why auto took the slow path.</summary>
    public static void Tell(LearnedForceField forceField)
    {
        if (forceField.BackendNote is { } note) Console.Error.WriteLine("note: " + note);
    }
}
