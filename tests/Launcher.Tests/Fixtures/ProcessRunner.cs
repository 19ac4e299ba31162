using System.Diagnostics;

namespace ConfineExec.Launcher.Tests.Fixtures;

/// <summary>The outcome of a process: exit code (or 128+signal as reported by a shell), stdout, stderr.</summary>
public sealed record RunResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>Runs a real process and captures its output. <see cref="AsNobody"/> wraps a command in setpriv so
/// it runs as uid/gid 65534 with no supplementary groups.</summary>
public static class ProcessRunner
{
    public const int Nobody = 65534;

    public static string[] AsNobody(IEnumerable<string> argv) =>
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", .. argv];

    /// <summary>Runs <paramref name="argv"/> from /, with <paramref name="environment"/> added to ours and the
    /// variables in <paramref name="unset"/> removed. Every run gets a fresh closure cache
    /// (<see cref="TestClosureCaches"/>) unless CONFINE_EXEC_CACHE_DIR is given or unset here.</summary>
    public static RunResult Run(IReadOnlyList<string> argv, IDictionary<string, string>? environment = null, IReadOnlyCollection<string>? unset = null)
    {
        var start = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (string a in argv.Skip(1))
            start.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment)
                start.Environment[k] = v;
        if (unset is null || !unset.Contains(TestClosureCaches.Variable)) TestClosureCaches.Apply(start.Environment);
        foreach (string k in unset ?? []) start.Environment.Remove(k);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
