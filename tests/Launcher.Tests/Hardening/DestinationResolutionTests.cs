using ConfineExec.Launcher.Tests.Fixtures;
using static ConfineExec.Launcher.Tests.Hardening.HardeningTools;

namespace ConfineExec.Launcher.Tests.Hardening;

/// <summary>DESIGN §6.3: bind destinations resolve inside the new root. A symlink met on the way is followed
/// with the root as "/" (openat2 RESOLVE_IN_ROOT: absolute targets and '..' clamp at the root, as bubblewrap
/// 0.12 does), a symlink as the destination itself and '..' in the destination are refused; never is anything
/// created or mounted on the host.</summary>
[Collection(nameof(BinaryCollection))]
public sealed class DestinationResolutionTests(ConfineExecFixture fixture) : IDisposable
{
    private readonly HostSnapshot _before = HostSnapshot.Take();
    private readonly SharedDirectory _dir = new();
    private readonly string _marker = "confine-exec-escape-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose()
    {
        _dir.Dispose();
        Assert.False(Path.Exists("/etc/" + _marker), "created on the host: /etc/" + _marker);
        _before.AssertUnchanged();
    }

    public static TheoryData<bool> Callers => Users;

    /// <summary>A bound directory holding hostile links: evil -> /, up -> ../../../../../.., leaf -> /etc/passwd.</summary>
    private (string Tree, string Source) Hostile()
    {
        string tree = _dir.Subdirectory("tree");
        File.CreateSymbolicLink(Path.Combine(tree, "evil"), "/");
        File.CreateSymbolicLink(Path.Combine(tree, "up"), "../../../../../../..");
        File.CreateSymbolicLink(Path.Combine(tree, "leaf"), "/etc/passwd");
        string source = _dir.Subdirectory("src");
        File.WriteAllText(Path.Combine(source, "f"), "from-src\n");
        return (tree, source);
    }

    [Theory]
    [InlineData(false, "evil")]
    [InlineData(true, "evil")]
    [InlineData(false, "up")]
    [InlineData(true, "up")]
    public void Destination_ThroughSymlinkOutOfRoot_LandsInsideTheRoot(bool asNobody, string link)
    {
        var (tree, source) = Hostile();
        string dest = $"{tree}/{link}/etc/{_marker}";
        RunResult r = fixture.Run(["--bin-sh", "none", "-p", $"BindReadOnlyPaths={tree}", "-p", $"BindPaths={source}:{dest}", "--",
            "/bin/sh", "-c", $"read l < /etc/{_marker}/f; echo $l"], asNobody);
        AssertOk(r, "from-src\n");
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public void Destination_IsASymlink_RefusedOneLine(bool asNobody)
    {
        var (tree, source) = Hostile();
        RunResult r = fixture.Run(["--bin-sh", "none", "-p", $"BindReadOnlyPaths={tree}", "-p", $"BindPaths={source}/f:{tree}/leaf", "--", "/bin/true"], asNobody);
        string line = AssertOneLineError(r, 125);
        Assert.Contains("symlink", line);
        Assert.Contains($"{tree}/leaf", line);
    }

    [Theory]
    [InlineData(false, "/var/../../etc/X")]
    [InlineData(true, "/var/../../etc/X")]
    [InlineData(false, "/a/b/../../../etc/X")]
    [InlineData(false, "relative/X")]
    public void Destination_DotDotOrRelative_RefusedOneLine(bool asNobody, string dest)
    {
        var (_, source) = Hostile();
        RunResult r = fixture.Run(["--bin-sh", "none", "-p", $"BindPaths={source}:{dest.Replace("X", _marker, StringComparison.Ordinal)}", "--", "/bin/true"], asNobody);
        AssertOneLineError(r, 125);
    }

    /// <summary>The fallback used when openat2 is missing (ENOSYS), forced by the executor's test switch: the same
    /// runs must still work (merged-/usr links like /lib -> usr/lib are inside the root) and still never escape.</summary>
    [Theory]
    [MemberData(nameof(Callers))]
    public void NoOpenat2Fallback_DefaultRunAndHostileDestination_WorkInsideTheRoot(bool asNobody)
    {
        var (tree, source) = Hostile();
        string[] launcher = asNobody ? ProcessRunner.AsNobody([fixture.Binary]) : [fixture.Binary];
        var env = new Dictionary<string, string> { ["CONFINE_EXEC_TEST_NO_OPENAT2"] = "1" };
        AssertOk(ProcessRunner.Run([.. launcher, "--bin-sh", "none", "--", "/bin/sh", "-c", "echo ok"], env), "ok\n");
        RunResult r = ProcessRunner.Run([.. launcher, "--bin-sh", "none", "-p", $"BindReadOnlyPaths={tree}", "-p", $"BindPaths={source}:{tree}/evil/etc/{_marker}",
            "--", "/bin/sh", "-c", $"read l < /etc/{_marker}/f; echo $l"], env);
        AssertOk(r, "from-src\n");
    }

    /// <summary>DESIGN §4 "Sources resolve on the host" (systemd chases them, bubblewrap too): a source that is a
    /// symlink, or passes through one, is bound as its target; a '-' source behind a link that does not resolve is skipped.</summary>
    [Theory]
    [MemberData(nameof(Callers))]
    public void BindSource_SymlinkOrThroughSymlink_ResolvedOnTheHost(bool asNobody)
    {
        var (tree, source) = Hostile();
        string link = Path.Combine(tree, "to-src");
        File.CreateSymbolicLink(link, source);
        File.CreateSymbolicLink(Path.Combine(tree, "dangling"), Path.Combine(tree, "nothing-here"));
        RunResult r = fixture.Run(["--bin-sh", "none", "-p", $"BindReadOnlyPaths={link}:/a {link}/f:/b -{tree}/dangling:/c -{link}/missing:/d",
            "--", "/bin/sh", "-c", "read a < /a/f; read b < /b; [ ! -e /c ] && [ ! -e /d ] && echo $a $b"], asNobody);
        AssertOk(r, "from-src from-src\n");
    }
}
