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

    public static RunResult Run(IReadOnlyList<string> argv, IDictionary<string, string>? environment = null)
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
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
