using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Text.Json.Nodes;

namespace MolecularLearning.Benchmarks;

/// <summary>
/// The fast kernel's vector operations (the members of Simd512/256/128 and Simd, the kernels' W) that the JIT declined
/// to inline while a benchmark ran, from the runtime's own MethodJitInliningFailed events. One such refusal turns every
/// operator of a loop into a call: d5d215d ran 2.2–2.9× slower at 256 bits that way, with every test passing.
/// </summary>
public sealed class JitInliningWatch : EventListener
{
    private const EventKeywords JitTracing = (EventKeywords)0x1000;
    // Initialised before the base constructor, which may already call OnEventSourceCreated.
    private readonly ConcurrentDictionary<string, int> _failures = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, JitTracing);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is null || !e.EventName.StartsWith("MethodJitInliningFailed", StringComparison.Ordinal) || e.PayloadNames is null || e.Payload is null) return;
        string Field(string name)
        {
            int k = e.PayloadNames.IndexOf(name);
            return k >= 0 ? e.Payload[k]?.ToString() ?? "" : "";
        }
        string ns = Field("InlineeNamespace"), name = Field("InlineeName");
        bool vector = ns is "MolecularLearning.Learning.Simd" or "MolecularLearning.Learning.Simd512" or "MolecularLearning.Learning.Simd256" or "MolecularLearning.Learning.Simd128"
            || (name == "get_W" && ns.StartsWith("MolecularLearning.Learning.", StringComparison.Ordinal));
        if (!vector) return;
        var key = $"{Field("MethodBeingCompiledNamespace")}.{Field("MethodBeingCompiledName")} <- {ns}.{name}: {Field("FailReason")}";
        _failures.AddOrUpdate(key.Replace("MolecularLearning.Learning.", "", StringComparison.Ordinal), 1, (_, n) => n + 1);
    }

    /// <summary>Refused inlines so far (each call site's refusal once per compilation).</summary>
    public int Count => _failures.Values.Sum();

    /// <summary>The "jit" object of the bench report: the count and the first refusals, "compiled method &lt;- inlinee: reason".</summary>
    public JsonObject Report() => new()
    {
        ["vectorOperationsNotInlined"] = Count,
        ["failures"] = new JsonArray([.. _failures.OrderByDescending(f => f.Value).Take(10).Select(f => (JsonNode)$"{f.Key} (x{f.Value})")]),
    };
}
