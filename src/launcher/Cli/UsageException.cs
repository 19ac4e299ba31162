namespace ConfineExec.Launcher.CommandLine;

/// <summary>Bad command-line input (exit 125). Printed as <c>confine-exec: &lt;what&gt;: &lt;value&gt;: &lt;reason&gt;</c>.</summary>
public sealed class UsageException(string what, string value, string reason)
    : Exception($"{what}: {value}: {reason}")
{
    public string What { get; } = what;
    public string Value { get; } = value;
    public string Reason { get; } = reason;
}
