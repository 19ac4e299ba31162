namespace ConfineExec.Launcher.Execution;

/// <summary>How PROGRAM ended: an exit code, or the signal that killed it.</summary>
internal readonly record struct ChildExit(int ExitCode, int Signal)
{
    public bool Signaled => Signal != 0;

    /// <summary>The status a shell would report: the exit code, or 128+N.</summary>
    public int ShellStatus => Signaled ? 128 + Signal : ExitCode;
}
