using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.Execution;

/// <summary>Runs a validated <see cref="LaunchPlan"/>. Owned by the executor (Interop/, Execution/).</summary>
public static class PlanExecutor
{
    /// <summary>Runs the plan and returns the exit status confine-exec should exit with (PROGRAM's status,
    /// or 128+N / a re-raised signal). InProcess plans do not return on success (execve).
    /// Throws <see cref="LaunchException"/> for a failure before exec (exit code inside).</summary>
    public static int Run(LaunchPlan plan) => throw new NotImplementedException();
}
