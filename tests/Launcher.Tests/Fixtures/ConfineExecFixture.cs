using System.Diagnostics;

namespace ConfineExec.Launcher.Tests.Fixtures;

/// <summary>
/// The published native-AOT confine-exec (env CONFINE_EXEC_BIN if set, else `dotnet publish` once), copied
/// into a <see cref="SharedDirectory"/> so uid 65534 can run it too; smoke-tested with --version before any
/// test runs. Shared by every integration test through <see cref="BinaryCollection"/>. Every run gets its own
/// fresh closure cache (<see cref="TestClosureCaches"/>).
/// </summary>
public sealed class ConfineExecFixture : IDisposable
{
    private readonly SharedDirectory _dir = new();

    public string Binary { get; }
    public string Directory => _dir.Path;

    public ConfineExecFixture()
    {
        string? published = Environment.GetEnvironmentVariable("CONFINE_EXEC_BIN");
        if (string.IsNullOrEmpty(published))
        {
            string repo = FindRepository();
            string outDir = _dir.Subdirectory("publish");
            RunResult publish = ProcessRunner.Run(["dotnet", "publish", Path.Combine(repo, "src", "launcher"), "-c", "Release", "-o", outDir, "--nologo", "-v", "quiet"]);
            if (publish.ExitCode != 0)
                throw new InvalidOperationException("dotnet publish failed:\n" + publish);
            published = Path.Combine(outDir, "confine-exec");
        }
        Binary = Path.Combine(_dir.Path, "confine-exec");
        File.Copy(published, Binary);
        File.SetUnixFileMode(Binary, (UnixFileMode)0x1ed);
        RunResult version = Run(["--version"]);
        if (version.ExitCode != 0)
            throw new InvalidOperationException("confine-exec --version failed:\n" + version);
    }

    public static string FindRepository()
    {
        for (string? d = AppContext.BaseDirectory; d is not null; d = Path.GetDirectoryName(d))
            if (File.Exists(Path.Combine(d, "Launcher.sln")))
                return d;
        throw new InvalidOperationException("cannot find Launcher.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs confine-exec with <paramref name="args"/>, as root or as uid/gid 65534.</summary>
    public RunResult Run(IReadOnlyList<string> args, bool asNobody = false)
    {
        string[] argv = [Binary, .. args];
        return ProcessRunner.Run(asNobody ? ProcessRunner.AsNobody(argv) : argv);
    }

    /// <summary>Runs confine-exec under perl's system() and reports how it ended: "exit N" or "signal N"
    /// (a shell would show both as 128+N).</summary>
    public (string How, RunResult Result) RunReportingDeath(IReadOnlyList<string> args, bool asNobody = false)
    {
        string[] argv = [Binary, .. args];
        string[] wrapped = ["perl", "-e", "system { $ARGV[0] } @ARGV; print STDERR \"\\n\", ($? & 127) ? 'signal ' . ($? & 127) : 'exit ' . ($? >> 8)",
            .. (asNobody ? ProcessRunner.AsNobody(argv) : argv)];
        RunResult r = ProcessRunner.Run(wrapped);
        string how = r.Stderr.TrimEnd('\n').Split('\n')[^1];
        return (how, r);
    }

    /// <summary>Starts confine-exec without waiting (for signal tests).</summary>
    public Process Start(IReadOnlyList<string> args, bool asNobody = false)
    {
        string[] argv = asNobody ? ProcessRunner.AsNobody([Binary, .. args]) : [Binary, .. args];
        var start = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (string a in argv.Skip(1))
            start.ArgumentList.Add(a);
        TestClosureCaches.Apply(start.Environment);
        return Process.Start(start)!;
    }

    public void Dispose() => _dir.Dispose();
}

[CollectionDefinition(nameof(BinaryCollection), DisableParallelization = true)]
public sealed class BinaryCollection : ICollectionFixture<ConfineExecFixture>;
