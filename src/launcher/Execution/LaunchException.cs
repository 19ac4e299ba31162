namespace ConfineExec.Launcher.Execution;

/// <summary>A failure before PROGRAM was exec'd. <see cref="Exception.Message"/> is the one stderr line after
/// <c>confine-exec: </c> — <c>&lt;step&gt;: &lt;path&gt;: &lt;errno name&gt; (&lt;text&gt;)</c>.</summary>
public sealed class LaunchException(string message, int exitCode = ExitCodes.LauncherFailure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
