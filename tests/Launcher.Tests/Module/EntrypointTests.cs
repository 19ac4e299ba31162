using System.Diagnostics;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// "Using it in a container" (README.md): confine-exec as the first process of a new pid
/// namespace, the way a container runtime starts an entrypoint — `unshare --pid --fork --mount-proc confine-exec
/// -- PROGRAM` as root. Exit status and signals must flow through pid 1.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class EntrypointTests(ConfineExecFixture fixture) : IDisposable
{
    private readonly HostSnapshot _before = HostSnapshot.Take();

    public void Dispose() => _before.AssertUnchanged();

    private string[] Entrypoint(params string[] args) => ["unshare", "--pid", "--fork", "--mount-proc", fixture.Binary, .. args];

    public static TheoryData<string[]> Modes => new([], ["--mode", "chroot-only"], ["-p", "User=daemon", "-p", "Group=daemon"]);

    [Theory]
    [MemberData(nameof(Modes))]
    public void Entrypoint_Pid1_ExitStatusFlowsThrough(string[] options)
    {
        RunResult r = ProcessRunner.Run(Entrypoint([.. options, "--", "/bin/sh", "-c", "echo $$; exit 42"]));
        Assert.True(r.ExitCode == 42, r.ToString());
        int pid = int.Parse(r.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        // In-process (chroot-only as root) PROGRAM replaces confine-exec and is pid 1 itself; otherwise it is
        // confine-exec's child in the same pid namespace.
        if (options.Contains("chroot-only")) Assert.Equal(1, pid);
        else Assert.InRange(pid, 2, 20);
    }

    [Fact]
    public void Entrypoint_ProgramKilledBySignal_StatusIs128PlusN()
    {
        RunResult r = ProcessRunner.Run(Entrypoint("--", "/bin/sh", "-c", "kill -KILL $$"));
        Assert.True(r.ExitCode == 137, r.ToString());
    }

    [Fact]
    public void Entrypoint_OrphanOfProgram_ReapedByPid1()
    {
        // The orphan is reparented to pid 1 (confine-exec); it must not stay a zombie. Bounded wait, no timing.
        string script = string.Join("\n",
            "sh -c 'sleep 0.05 & echo $! > /tmp/orphan'",
            "read o < /tmp/orphan",
            "n=0",
            "while [ -e /proc/$o ] && [ $n -lt 500 ]; do n=$((n+1)); sleep 0.02; done",
            "if [ -e /proc/$o ]; then read l < /proc/$o/stat; echo \"left: $l\"; else echo reaped; fi");
        RunResult r = ProcessRunner.Run(Entrypoint("--package", "/usr/bin/sleep", "--", "/bin/sh", "-c", script));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("reaped\n", r.Stdout);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Entrypoint_SigtermToPid1_ReachesProgram(string[] options)
    {
        bool inProcess = options.Contains("chroot-only");
        // As pid 1 PROGRAM only gets signals it handles (the kernel drops the rest): trap TERM, as an init must.
        var start = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in Entrypoint([.. options, "--package", "/usr/bin/sleep", "--", "/bin/sh", "-c",
                     "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done"]).Skip(1))
            start.ArgumentList.Add(a);
        TestClosureCaches.Apply(start.Environment);
        using Process unshare = Process.Start(start)!;
        try
        {
            Assert.Equal("ready", unshare.StandardOutput.ReadLine());
            int pid1 = Children(unshare.Id).Single(); // the namespace's pid 1: confine-exec (or PROGRAM, in-process)
            Assert.Contains("NSpid:\t" + pid1 + "\t1", File.ReadAllText($"/proc/{pid1}/status"), StringComparison.Ordinal);
            Assert.Equal(inProcess ? "sh" : "confine-exec", File.ReadAllText($"/proc/{pid1}/comm").Trim());
            ConfineExec.Launcher.Interop.Libc.Kill(pid1, 15);
            string rest = unshare.StandardOutput.ReadToEnd();
            unshare.WaitForExit();
            Assert.Equal("got-term\n", rest);
            Assert.Equal(3, unshare.ExitCode);
        }
        finally
        {
            if (!unshare.HasExited) unshare.Kill(entireProcessTree: true);
        }
    }

    private static int[] Children(int pid) =>
        [.. Directory.GetDirectories($"/proc/{pid}/task")
            .SelectMany(t => File.ReadAllText(Path.Combine(t, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture))];
}
