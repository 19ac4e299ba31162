using System.Text.Json.Serialization;

namespace ConfineExec.Launcher.Output;

/// <summary>One <c>--print-closure --json</c> object.</summary>
public sealed record ClosureJsonEntry(string Path, string Kind, string? Target, string Reason, string? NeededBy);

/// <summary>Source-generated serializer (no reflection, AOT-safe).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(List<ClosureJsonEntry>))]
public sealed partial class ClosureJsonContext : JsonSerializerContext;
