namespace ConfineExec.Launcher.Planning;

/// <summary>A plan that breaks a rule (exit 125). Message: <c>plan: &lt;path or field&gt;: &lt;rule&gt;</c>.</summary>
public sealed class PlanValidationException(string subject, string rule) : Exception($"plan: {subject}: {rule}")
{
    public string Subject { get; } = subject;
    public string Rule { get; } = rule;
}
