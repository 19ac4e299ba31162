using System.Diagnostics;
using ConfineExec.Launcher.Tests.Fixtures;
using static ConfineExec.Launcher.Tests.Hardening.HardeningTools;

namespace ConfineExec.Launcher.Tests.Hardening;

/// <summary>DESIGN §6.1/§6.6 under load and faults: the host mount table and /tmp, /run stay as they were after
/// successes, failures at each kind of step, killed PROGRAMs and killed launchers.</summary>
[Collection(nameof(BinaryCollection))]
public sealed class LoadAndFaultTests(ConfineExecFixture fixture) : HostCheckedTest
{
    public static TheoryData<bool> Callers => Users;

    /// <summary>Failures at different steps; after each the host is unchanged (checked per run, not only at the end).</summary>
    [Theory]
    [MemberData(nameof(Callers))]
    public void Failure_AtEachStep_HostMountTableUnchanged(bool asNobody)
    {
        string[][] failing =
        [
            ["-p", "BindPaths=/var/lib/confine-exec-no-such-source:/x", "--", "/bin/true"],       // plan: missing bind source
            ["-p", "BindPaths=/usr/bin:/proc/confine-exec-x", "--", "/bin/true"],                  // mount: dest inside /proc
            ["-p", "BindPaths=/usr/bin:/var/../../x", "--", "/bin/true"],                          // escaping destination
            ["-p", $"User={(asNobody ? "root" : "4000000")}", "--", "/bin/true"],                   // unmapped / unknown User=
            ["--", "/usr/bin/confine-exec-no-such-program"],                                       // exec: 127
            ["--", "/bin/sh", "-c", "kill -KILL $$"],                                             // PROGRAM killed
        ];
        foreach (string[] args in failing)
        {
            HostSnapshot before = HostSnapshot.Take();
            RunResult r = fixture.Run(["--bin-sh", "none", .. args], asNobody);
            Assert.True(r.ExitCode != 0, string.Join(' ', args) + "\n" + r);
            before.AssertUnchanged();
        }
    }

    [Fact]
    public void Load_200Launches8AtATime_AllSucceedNoZombieNoLeakBoundedRss()
    {
        int failures = 0;
        var hwm = new System.Collections.Concurrent.ConcurrentBag<long>();
        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            // Every 25th run reports the launcher's peak RSS: PROGRAM reads its parent's (the supervisor's) status.
            string script = i % 25 == 0 ? "while read k v u; do [ $k = VmHWM: ] && echo $v; done < /proc/$PPID/status; true" : "echo ok";
            RunResult r = fixture.Run(["--bin-sh", "none", "--", "/bin/sh", "-c", script], asNobody: i % 2 == 1);
            if (r.ExitCode != 0) Interlocked.Increment(ref failures);
            else if (i % 25 == 0 && long.TryParse(r.Stdout.Trim(), out long kb)) hwm.Add(kb);
        });
        Assert.Equal(0, failures);
        Assert.NotEmpty(hwm);
        // A leak would grow with the run count; an unrelated-process bound would not. 64 MiB is far above the
        // launcher's measured peak and far below what a per-run leak over 200 runs reaches in a long-lived process.
        Assert.True(hwm.Max() < 64 * 1024, "VmHWM kB: " + string.Join(' ', hwm));
        Assert.True(hwm.Max() - hwm.Min() < 16 * 1024, "VmHWM kB spread: " + string.Join(' ', hwm));
        string self = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var zombies = Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit))
            .Select(n => { try { return File.ReadAllText($"/proc/{n}/stat"); } catch (IOException) { return ""; } })
            .Where(s => s.Contains(") Z ", StringComparison.Ordinal) && s[(s.LastIndexOf(')') + 4)..].StartsWith(self + " ", StringComparison.Ordinal))
            .ToList();
        Assert.Empty(zombies);
    }

    /// <summary>Without a pid namespace (the default, as bubblewrap without --unshare-pid) children PROGRAM
    /// leaves behind are reparented and keep running: confine-exec exits with PROGRAM's status at once. They
    /// still carry no parent-death signal from the launcher (only PROGRAM does), so they survive it (docs/hardening.md).</summary>
    [Theory]
    [MemberData(nameof(Callers))]
    public void ForkingProgram_ExitsLeavingChild_LauncherReturnsChildReparentedAndAlive(bool asNobody)
    {
        string sleep = "/usr/bin/sleep";
        // The child must not hold our stdout pipe, or reading PROGRAM's output would wait for the child to end.
        RunResult r = fixture.Run(["--bin-sh", "none", "--package", sleep, "--", "/bin/sh", "-c", $"{sleep} 30 </dev/null >/dev/null 2>&1 & echo $!; exit 7"], asNobody);
        Assert.True(r.ExitCode == 7, r.ToString());
        int child = int.Parse(r.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            string stat = File.ReadAllText($"/proc/{child}/stat");
            Assert.Contains("(sleep)", stat);
        }
        finally
        {
            ConfineExec.Launcher.Interop.Libc.Kill(child, 9);
        }
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public void LauncherSigkilled_ProgramDiesAndHostUnchanged(bool asNobody)
    {
        using Process p = fixture.Start(["--bin-sh", "none", "--", "/bin/sh", "-c", "echo $$; while :; do :; done"], asNobody);
        int program = int.Parse(p.StandardOutput.ReadLine()!, System.Globalization.CultureInfo.InvariantCulture);
        ConfineExec.Launcher.Interop.Libc.Kill(p.Id, 9);
        p.WaitForExit();
        while (File.Exists($"/proc/{program}/stat") && !File.ReadAllText($"/proc/{program}/stat").Contains(") Z ", StringComparison.Ordinal))
            Thread.Sleep(10);
    }

    /// <summary>StateDirectory= under a read-only /var/lib and on a file system out of inodes (each in a private
    /// mount namespace), and a User= with no passwd entry: clear one-line errors, exit 125.</summary>
    [Theory]
    [InlineData("ro")]
    [InlineData("full")]
    public void StateDirectory_ReadOnlyOrFullVarLib_OneLineError(string fault)
    {
        string name = "confine-exec-state-" + Guid.NewGuid().ToString("N")[..8];
        string setup = "mount --bind /var/lib /var/lib && mount -o remount,bind,ro /var/lib";
        if (fault == "full")
        {
            // A tmpfs with a single inode (its root): any mkdir in it is ENOSPC.
            string full = Dir.Subdirectory("full");
            name = full["/var/lib/".Length..] + "/state";
            setup = $"mount -t tmpfs -o nr_inodes=1,size=64k confine-exec-full {full}";
        }
        RunResult r = ProcessRunner.Run(["unshare", "-m", "--propagation", "private", "sh", "-c", setup + " && exec \"$@\"", "sh",
            fixture.Binary, "--bin-sh", "none", "-p", $"StateDirectory={name}", "--", "/bin/true"]);
        string line = AssertOneLineError(r, 125);
        Assert.Contains($"/var/lib/{name}", line);
        Assert.Contains(fault == "ro" ? "EROFS" : "ENOSPC", line);
        Assert.False(Directory.Exists("/var/lib/" + name));
    }

    [Fact]
    public void User_NoPasswdEntry_OneLineError()
    {
        string line = AssertOneLineError(fixture.Run(["--bin-sh", "none", "-p", "User=confine-exec-nobody-here", "--", "/bin/true"]), 125);
        Assert.Contains("/etc/passwd", line);
    }
}
