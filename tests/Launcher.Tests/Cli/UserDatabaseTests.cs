using ConfineExec.Launcher.CommandLine;
using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.Tests.CliTests;

public sealed class UserDatabaseTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("confine-exec-userdb-").FullName;
    readonly UserDatabase _db;

    public UserDatabaseTests()
    {
        File.WriteAllText(Path.Combine(_dir, "passwd"), """
            root:x:0:0:root:/root:/bin/bash
            # a comment

            svc:x:1001:1002:Service:/var/lib/svc:/usr/sbin/nologin
            +nisuser::::::
            short:x:5
            svc:x:2000:2000:duplicate, ignored:/:/bin/sh
            """);
        File.WriteAllText(Path.Combine(_dir, "group"), """
            root:x:0:
            svcgrp:x:1002:
            audio:x:29:svc,other
            video:x:44:other
            wheel:x:10: svc
            """);
        _db = new UserDatabase(Path.Combine(_dir, "passwd"), Path.Combine(_dir, "group"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("svc")]
    [InlineData("1001")]
    public void Resolve_UserByNameOrNumber_GivesPasswdIdsAndMemberships(string user)
    {
        TargetCredentials c = _db.Resolve(user, null, [], 0, 0);
        Assert.Equal((1001u, 1002u, "svc", "/var/lib/svc"), (c.Uid, c.Gid, c.UserName, c.Home));
        Assert.Equal([1002u, 29u, 10u], c.SupplementaryGroups);
    }

    [Fact]
    public void Resolve_GroupAndSupplementaryGroups_ByNameOrNumber()
    {
        TargetCredentials c = _db.Resolve("svc", "audio", ["video", "4000"], 0, 0);
        Assert.Equal(29u, c.Gid);
        Assert.Equal([29u, 10u, 44u, 4000u], c.SupplementaryGroups);
    }

    [Fact]
    public void Resolve_OnlyGroup_KeepsCallerUid()
    {
        TargetCredentials c = _db.Resolve(null, "44", [], 7, 8);
        Assert.Equal((7u, 44u), (c.Uid, c.Gid));
        Assert.Empty(c.SupplementaryGroups);
    }

    [Fact]
    public void Resolve_NumericUidWithoutEntryButWithGroup_IsAccepted()
    {
        TargetCredentials c = _db.Resolve("4321", "4321", [], 0, 0);
        Assert.Equal((4321u, 4321u), (c.Uid, c.Gid));
        Assert.Null(c.UserName);
    }

    [Theory]
    [InlineData("nosuchuser", null, "User", "no such user in")]
    [InlineData("4321", null, "User", "a numeric uid without an entry needs Group=")]
    [InlineData("nisuser", null, "User", "no such user in")]
    [InlineData("svc", "nosuchgroup", "Group", "no such group in")]
    [InlineData("4294967295", "1", "User", "no such user in")]
    public void Resolve_Missing_ThrowsNamingIt(string user, string? group, string what, string reason)
    {
        var e = Assert.Throws<UsageException>(() => _db.Resolve(user, group, [], 0, 0));
        Assert.Equal(what, e.What);
        Assert.Contains(reason, e.Reason);
    }

    [Fact]
    public void Resolve_MissingSupplementaryGroup_ThrowsNamingIt()
    {
        var e = Assert.Throws<UsageException>(() => _db.Resolve(null, null, ["nope"], 0, 0));
        Assert.Equal("confine-exec: SupplementaryGroups: nope: no such group in " + Path.Combine(_dir, "group"), "confine-exec: " + e.Message);
    }

    [Fact]
    public void Resolve_HostPasswd_FindsRoot()
    {
        Assert.SkipUnless(File.Exists("/etc/passwd"), "no /etc/passwd on this machine");
        Assert.Equal(0u, new UserDatabase().Resolve("root", null, [], 1, 1).Uid);
    }
}
