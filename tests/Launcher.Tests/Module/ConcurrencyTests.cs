using System.Diagnostics;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// The module's concurrency property (§2.5, nixpkgs #464323/#464709): overlapping runs of one command never
/// break each other. 20 runs start, each fills its own /tmp, reports ready and waits at a barrier (a host
/// directory bound read-only) until all 20 are inside their roots at the same time; then each checks its /tmp
/// holds only its own file and records itself in a shared StateDirectory.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class ConcurrencyTests(ConfineExecFixture fixture) : IDisposable
{
    private const int Runs = 20;
    private readonly HostSnapshot _before = HostSnapshot.Take();
    private readonly SharedDirectory _dir = new();
    private readonly string _state = "confine-exec-concurrent-" + Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal);

    public void Dispose()
    {
        if (Directory.Exists("/var/lib/" + _state)) Directory.Delete("/var/lib/" + _state, recursive: true);
        _dir.Dispose();
        _before.AssertUnchanged();
    }

    public static TheoryData<Identity> RootCaller => new(Identity.Root, Identity.StaticUser);

    [Theory]
    [MemberData(nameof(RootCaller))]
    public void Concurrent_TwentyOverlappingRuns_AllSucceedNoneSeesAnothersTmp(Identity who)
    {
        string barrier = _dir.Subdirectory("barrier");
        string script = string.Join("\n",
            "i=$1",
            "echo \"$i\" > /tmp/mine-$i",
            "echo ready",
            "while [ ! -e /barrier/go ]; do sleep 0.01; done",
            "ls -A /tmp",
            "read x < /tmp/mine-$i && [ \"$x\" = \"$i\" ] || exit 3",
            $": > /var/lib/{_state}/run-$i || exit 4",
            "echo done");
        var runs = new List<Process>();
        try
        {
            for (int i = 0; i < Runs; i++)
                runs.Add(fixture.Start([.. Identities.Options(who), "-p", "StateDirectory=" + _state, "-p", $"BindReadOnlyPaths={barrier}:/barrier",
                    "--package", "/usr/bin/ls", "--package", "/usr/bin/sleep", "--", "/bin/sh", "-c", script, "sh", i.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
            foreach (Process p in runs)
            {
                string? ready = p.StandardOutput.ReadLine();
                if (ready != "ready")
                    Assert.Fail($"run {runs.IndexOf(p)}: {ready}\n{p.StandardError.ReadToEnd()}");
            }
            // All 20 are now inside their own roots at once.
            File.WriteAllText(Path.Combine(barrier, "go"), "");
            for (int i = 0; i < Runs; i++)
            {
                string rest = runs[i].StandardOutput.ReadToEnd();
                string err = runs[i].StandardError.ReadToEnd();
                runs[i].WaitForExit();
                Assert.True(runs[i].ExitCode == 0, $"run {i}: exit {runs[i].ExitCode}\n{rest}\n{err}");
                Assert.Equal($"mine-{i}\ndone\n", rest);
            }
        }
        finally
        {
            foreach (Process p in runs)
            {
                if (!p.HasExited) p.Kill();
                p.Dispose();
            }
        }
        Assert.Equal(Enumerable.Range(0, Runs).Select(i => $"run-{i}").Order(StringComparer.Ordinal),
            Directory.GetFiles("/var/lib/" + _state).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
