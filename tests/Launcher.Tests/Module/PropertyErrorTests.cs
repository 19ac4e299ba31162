using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>Malformed or unknown properties and unknown users against the published binary, as root and as
/// uid 65534: exit 125 and one stderr line naming the property (or the user/group) and the bad value; PROGRAM
/// never runs.</summary>
[Collection(nameof(BinaryCollection))]
public sealed class PropertyErrorTests(ConfineExecFixture fixture)
{
    public static TheoryData<string, string, bool> Cases()
    {
        var data = new TheoryData<string, string, bool>();
        (string Property, string Named)[] cases =
        [
            ("Foo=bar", "Foo=bar"),
            ("user=root", "user=root"), // directive names are case-sensitive, as in systemd
            ("NoEquals", "NoEquals"),
            ("PrivateTmp=maybe", "PrivateTmp: maybe"),
            ("NoNewPrivileges=perhaps", "NoNewPrivileges: perhaps"),
            ("UMask=999", "UMask: 999"),
            ("BindReadOnlyPaths=relative", "BindReadOnlyPaths: relative"),
            ("BindPaths=/etc:/x:bogus", "BindPaths: bogus"),
            ("StateDirectory=../escape", "StateDirectory: ../escape"),
            ("WorkingDirectory=rel", "WorkingDirectory: rel"),
            ("Environment=novalue", "Environment: novalue"),
            ("User=confine-exec-no-such-user", "User: confine-exec-no-such-user"),
            ("Group=confine-exec-no-such-group", "Group: confine-exec-no-such-group"),
            ("SupplementaryGroups=confine-exec-no-such-group", "SupplementaryGroups: confine-exec-no-such-group"),
            ("User=99999", "User: 99999"),
        ];
        foreach (var (property, named) in cases)
            foreach (bool asNobody in new[] { false, true })
                data.Add(property, named, asNobody);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Property_UnknownOrMalformed_Exit125NamingIt(string property, string named, bool asNobody)
    {
        RunResult r = fixture.Run(["-p", property, "--", "/bin/sh", "-c", "echo ran"], asNobody);
        Assert.True(r.ExitCode == 125, r.ToString());
        Assert.Empty(r.Stdout);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("confine-exec: ", line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
    }
}
