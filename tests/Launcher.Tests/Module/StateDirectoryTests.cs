using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// The module test's "check if StateDirectory works" (§2.4 case 15, legacy §2.6) with a unique directory name
/// per run, removed afterwards: the first run finds no state, writes it and fails (as the unit's first start
/// does, to be restarted); the second finds it. /tmp is fresh in each run and never reaches the host.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class StateDirectoryTests(ConfineExecFixture fixture) : IDisposable
{
    private readonly HostSnapshot _before = HostSnapshot.Take();
    private readonly string _name = "confine-exec-testme-" + Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal);

    private string HostPath => "/var/lib/" + _name;

    public void Dispose()
    {
        if (Directory.Exists(HostPath)) Directory.Delete(HostPath, recursive: true);
        _before.AssertUnchanged();
    }

    public static TheoryData<Identity> RootCaller => new(Identity.Root, Identity.StaticUser);

    [Theory]
    [MemberData(nameof(RootCaller))]
    public void StateDirectory_TwoRuns_StatePersistsOnHostTmpFreshEachTime(Identity who)
    {
        string dir = "/var/lib/" + _name;
        string script = string.Join("\n",
            "[ ! -e /tmp/canary ] || { echo canary-survived; exit 3; }",
            ": > /tmp/canary",
            $"[ \"$STATE_DIRECTORY\" = {dir} ] || {{ echo \"STATE_DIRECTORY=$STATE_DIRECTORY\"; exit 4; }}",
            $"if [ -e {dir}/foo ]; then read x < {dir}/foo; [ \"$x\" = works ] && echo found && exit 0; echo \"bad: $x\"; exit 5; fi",
            $"echo works > {dir}/foo || exit 6",
            "echo exiting-with-failure; exit 1");
        string[] args = [.. Identities.Options(who), "-p", "StateDirectory=" + _name, "--", "/bin/sh", "-c", script];

        RunResult first = fixture.Run(args);
        Assert.True(first.ExitCode == 1, first.ToString());
        Assert.Equal("exiting-with-failure\n", first.Stdout);

        var (uid, gid) = Identities.Ids(who);
        Assert.Equal("works\n", File.ReadAllText(HostPath + "/foo"));
        Assert.Equal(uid, Owner(HostPath).Uid);
        Assert.Equal(gid, Owner(HostPath).Gid);
        Assert.Equal(uid, Owner(HostPath + "/foo").Uid);
        Assert.Equal((UnixFileMode)0x1ed, File.GetUnixFileMode(HostPath));
        Assert.False(File.Exists("/tmp/canary"));

        RunResult second = fixture.Run(args);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal("found\n", second.Stdout);
        Assert.False(File.Exists("/tmp/canary"));
    }

    [Fact]
    public void StateDirectory_UnprivilegedCaller_CannotCreateHostDirectoryIsOneLineError()
    {
        RunResult r = fixture.Run(["-p", "StateDirectory=" + _name, "--", "/bin/sh", "-c", "true"], asNobody: true);
        Assert.Equal(125, r.ExitCode);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(HostPath, line);
        Assert.False(Directory.Exists(HostPath));
    }

    private static (uint Uid, uint Gid) Owner(string path)
    {
        var info = new Mono.Unix.UnixFileInfo(path);
        return ((uint)info.OwnerUserId, (uint)info.OwnerGroupId);
    }
}
