using ConfineExec.Launcher.Tests.Fixtures;
using static ConfineExec.Launcher.Tests.Hardening.HardeningTools;

namespace ConfineExec.Launcher.Tests.Hardening;

/// <summary>DESIGN §6.7 (inherited descriptors) and the TIOCSTI choice (docs/cli-decisions.md: --new-session).</summary>
[Collection(nameof(BinaryCollection))]
public sealed class DescriptorAndSessionTests(ConfineExecFixture fixture) : HostCheckedTest
{
    public static TheoryData<bool> Callers => Users;

    // dash's [ -e ] is a builtin: the probe itself opens no descriptor.
    private const string OpenFds = "for fd in 3 4 5 6 7 8 9; do [ -e /proc/self/fd/$fd ] && echo open $fd; done; true";

    private RunResult Wrapped(bool asNobody, string setup, string program)
    {
        string[] launcher = asNobody ? ProcessRunner.AsNobody([fixture.Binary]) : [fixture.Binary];
        string script = setup + "; exec \"$@\" --bin-sh none -- /bin/sh -c '" + program + "'";
        return ProcessRunner.Run(["/bin/sh", "-c", script, "sh", .. launcher]);
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public void InheritedDescriptors_NotCloseOnExec_DoNotReachProgram(bool asNobody)
    {
        RunResult r = Wrapped(asNobody, "exec 3</etc/hostname 7</etc/hostname 9</etc/passwd", OpenFds);
        AssertOk(r, "");
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public void ListenFds_MatchingPid_ExactlyThosePassedFromThree(bool asNobody)
    {
        // setpriv execs, so the launcher keeps the shell's pid: LISTEN_PID=$$ names it, as systemd would.
        RunResult r = Wrapped(asNobody, "exec 3</etc/hostname 4</etc/passwd 5</etc/group 7</etc/hostname; export LISTEN_PID=$$ LISTEN_FDS=2",
            "echo $LISTEN_FDS $LISTEN_PID $$; " + OpenFds);
        AssertOk(r);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] first = lines[0].Split(' ');
        Assert.Equal("2", first[0]);
        Assert.Equal(first[2], first[1]); // LISTEN_PID rewritten to PROGRAM's pid
        Assert.Equal(["open 3", "open 4"], lines[1..]);
    }

    [Fact]
    public void ListenFds_OtherPid_NothingPassed()
    {
        RunResult r = Wrapped(false, "exec 3</etc/hostname 4</etc/passwd; export LISTEN_PID=1 LISTEN_FDS=2", OpenFds);
        AssertOk(r, "");
    }

    /// <summary>Without --new-session PROGRAM shares the caller's session and terminal (bubblewrap's default);
    /// with it, setsid() leaves the controlling terminal and TIOCSTI on the inherited tty fails.</summary>
    [Theory]
    [MemberData(nameof(Callers))]
    public void NewSession_OnAPty_NewSidAndTiocstiFails(bool asNobody)
    {
        string probe = CompileStatic(Dir.Path, "session-probe", EscapeProbe);
        string launcher = asNobody ? "setpriv --reuid=65534 --regid=65534 --clear-groups " + fixture.Binary : fixture.Binary;
        // script(1) gives the whole command a pty as its controlling terminal and stdin.
        string inner = $"read a b c d e sid rest < /proc/$$/stat; echo callersid $sid; {launcher} --bin-sh none -- {probe} | grep -E '^(tiocsti|sid) '; " +
                       $"{launcher} --new-session --bin-sh none -- {probe} | grep -E '^(tiocsti|sid|pid) '";
        RunResult r;
        try { r = ProcessRunner.Run(["script", "-qec", inner, "/dev/null"]); }
        catch (System.ComponentModel.Win32Exception) { Assert.Skip("script(1) is not installed: no pty to test TIOCSTI on"); throw; }
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Replace("\r", "", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.TrimStart(' ')).ToList();
        string callerSid = lines.Single(l => l.StartsWith("callersid ", StringComparison.Ordinal)).Split(' ')[1];
        var sids = lines.Where(l => l.StartsWith("sid ", StringComparison.Ordinal)).Select(l => l[4..]).ToList();
        var tiocsti = lines.Where(l => l.Contains("tiocsti ", StringComparison.Ordinal)).Select(l => l[(l.IndexOf("tiocsti ", StringComparison.Ordinal) + 8)..]).ToList();
        string pid = lines.Single(l => l.StartsWith("pid ", StringComparison.Ordinal))[4..];
        Assert.True(sids.Count == 2 && tiocsti.Count == 2, r.ToString());
        Assert.Equal(callerSid, sids[0]);         // default: same session
        Assert.NotEqual(callerSid, sids[1]);      // --new-session: a session of its own...
        Assert.Equal(pid, sids[1]);               // ...led by PROGRAM
        Assert.True(tiocsti[1] is "EPERM" or "EIO", r.ToString()); // not its controlling terminal any more
        if (File.Exists("/proc/sys/dev/tty/legacy_tiocsti") && File.ReadAllText("/proc/sys/dev/tty/legacy_tiocsti").Trim() == "1")
            Assert.Equal("OK", tiocsti[0]); // the documented risk of the default, shown on this host
    }
}
