using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// The module test's standalone cases (reference/systemd-confinement.md §2.4, §2.6) on the command line, as
/// root, as a static user (daemon) and as an unprivileged caller (65534) where the case applies. Shell scripts
/// run with the root's /bin/sh; the tools they need come in with --package.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class ModuleCasesTests(ConfineExecFixture fixture) : HostCheckedTest
{
    public static TheoryData<Identity> All => new(Enum.GetValues<Identity>());
    public static TheoryData<Identity> RootCaller => new(Identity.Root, Identity.StaticUser);

    private RunResult Run(Identity who, params string[] args) => fixture.Run([.. Identities.Options(who), .. args], Identities.AsNobody(who));

    private static string[] Packages(params string[] tools) => [.. tools.SelectMany(t => new[] { "--package", t })];

    private static void AssertOk(RunResult r, string? stdout = null)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        if (stdout is not null) Assert.Equal(stdout, r.Stdout);
    }

    private static string Uid(Identity who) => Identities.Ids(who).Uid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [MemberData(nameof(All))]
    public void ChrootOnly_ListRoot_OnlyClosureEntriesAndBin(Identity who)
    {
        string[] command = ["--mode", "chroot-only", .. Packages("/usr/bin/ls", "/usr/bin/id"), "--", "/bin/sh", "-c", "ls -1A /; id -u"];
        RunResult closure = Run(who, ["--print-closure", .. command]);
        AssertOk(closure);
        var tops = closure.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('/', StringSplitOptions.RemoveEmptyEntries)[0]).Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Contains("bin", tops);

        RunResult r = Run(who, command);
        AssertOk(r);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(tops, lines[..^1].Order(StringComparer.Ordinal));
        Assert.Equal(Uid(who), lines[^1]);
    }

    [Theory]
    [MemberData(nameof(All))]
    public void FullApivfs_Ids_InUserNamespaceEtcAbsentChownUnmappedFails(Identity who)
    {
        string script = string.Join("; ",
            "id -u", "id -g", "cat /proc/self/uid_map", "[ -e /etc ] && echo etc-present || echo etc-absent",
            "touch /tmp/f", "chown 12345 /tmp/f 2>/dev/null && echo chown-unmapped-ok || echo chown-unmapped-fails",
            "chown 0 /tmp/f 2>/dev/null && echo chown-0-ok || echo chown-0-fails");
        RunResult r = Run(who, [.. Packages("/usr/bin/id", "/usr/bin/cat", "/usr/bin/touch", "/usr/bin/chown"), "--", "/bin/sh", "-c", script]);
        AssertOk(r);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var (uid, gid) = Identities.Ids(who);
        Assert.Equal(uid.ToString(System.Globalization.CultureInfo.InvariantCulture), lines[0]);
        Assert.Equal(gid.ToString(System.Globalization.CultureInfo.InvariantCulture), lines[1]);
        string[][] map = [.. lines.Skip(2).TakeWhile(l => !l.StartsWith("etc-", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))];
        // PrivateUsers=self as root: "0 0 1" (plus "U U 1" for a static user); an unprivileged caller maps itself.
        string[][] expectedMap = who switch
        {
            Identity.Root => [["0", "0", "1"]],
            Identity.StaticUser => [["0", "0", "1"], ["1", "1", "1"]],
            _ => [["65534", "65534", "1"]],
        };
        Assert.Equal(expectedMap, map);
        Assert.Contains("etc-absent", lines);
        Assert.Contains("chown-unmapped-fails", lines);
        Assert.Contains(who == Identity.Root ? "chown-0-ok" : "chown-0-fails", lines);
    }

    public static TheoryData<Identity, string> RootCallerModes => new()
    {
        { Identity.Root, "chroot-only" }, { Identity.Root, "full-apivfs" },
        { Identity.StaticUser, "chroot-only" }, { Identity.StaticUser, "full-apivfs" },
    };

    [Theory]
    [MemberData(nameof(RootCallerModes))]
    public void UserNamespace_PerMode_OnlyFullApivfsCreatesOne(Identity who, string mode)
    {
        // C1/C4: chroot-only keeps the host's ids (no user namespace); full-apivfs runs in a new one. The legacy
        // test's "chown 65534 /bin succeeds" (chroot-only, real root, writable root) is EROFS under today's
        // read-only root, in every mode.
        using var p = fixture.Start([.. Identities.Options(who), "--mode", mode, "--package", "/usr/bin/sleep", "--package", "/usr/bin/chown", "--", "/bin/sh", "-c",
            "trap 'exit 0' TERM; chown 65534 /bin 2>&1; echo $$; while :; do sleep 0.05; done"]);
        string chown = p.StandardOutput.ReadLine()!;
        int pid = int.Parse(p.StandardOutput.ReadLine()!, System.Globalization.CultureInfo.InvariantCulture);
        string inside = new FileInfo($"/proc/{pid}/ns/user").LinkTarget!, host = new FileInfo("/proc/self/ns/user").LinkTarget!;
        ConfineExec.Launcher.Interop.Libc.Kill(p.Id, 15);
        p.WaitForExit();
        Assert.Equal(mode == "chroot-only", inside == host);
        Assert.Contains("Read-only file system", chown); // the mount is checked before the ids, for everyone
    }

    [Theory]
    [MemberData(nameof(All))]
    public void BindReadOnlyPathsEtc_Passwd_ReadableNotWritable(Identity who)
    {
        RunResult r = Run(who, "-p", "BindReadOnlyPaths=/etc", "--", "/bin/sh", "-c",
            "read first < /etc/passwd && echo \"${first%%:*}\"; ( : >> /etc/passwd ) 2>&1 || echo not-writable");
        AssertOk(r);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("root", lines[0]);
        Assert.Equal("not-writable", lines[^1]);
        // Root (uid 0, owner of the file) is stopped by the read-only bind, not by permissions.
        if (who == Identity.Root) Assert.Contains("Read-only file system", lines[1]);
    }

    [Theory]
    [MemberData(nameof(All))]
    public void PackageIsSymlink_ToFileElsewhere_ReadableThroughLink(Identity who)
    {
        string target = Path.Combine(Dir.Subdirectory("symlink-target"), "symlink-target");
        File.WriteAllText(target, "got me");
        File.SetUnixFileMode(target, (UnixFileMode)0x1a4);
        string link = Path.Combine(Dir.Subdirectory("symlink"), "symlink");
        File.CreateSymbolicLink(link, target);

        RunResult r = Run(who, "--package", link, "--", "/bin/sh", "-c", $"read x < {link}; echo \"$x\"");
        AssertOk(r, "got me\n");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void PackageDirectory_LinksPointingOutside_TargetsComeAlongTransitively(Identity who)
    {
        // As a Nix store path brings its references: pkg/bin/myid -> /usr/bin/id (an ELF: its libraries too),
        // pkg/bin/rel -> ../../other/file, pkg/otherdir -> <abs>/other (a directory outside the package).
        string pkg = Dir.Subdirectory("pkg");
        string other = Dir.Subdirectory("other");
        File.WriteAllText(Path.Combine(other, "file"), "data\n");
        File.SetUnixFileMode(Path.Combine(other, "file"), (UnixFileMode)0x1a4);
        Dir.Subdirectory("pkg/bin");
        File.CreateSymbolicLink(Path.Combine(pkg, "bin", "myid"), "/usr/bin/id");
        File.CreateSymbolicLink(Path.Combine(pkg, "bin", "rel"), "../../other/file");
        File.CreateSymbolicLink(Path.Combine(pkg, "otherdir"), other);

        RunResult r = Run(who, "--package", pkg, "--", "/bin/sh", "-c",
            $"{pkg}/bin/myid -u; read x < {pkg}/bin/rel; echo \"$x\"; read y < {pkg}/otherdir/file; echo \"$y\"");
        AssertOk(r, $"{Uid(who)}\ndata\ndata\n");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void ClosureFileEntryIsSymlink_TargetBoundAtLinkPath(Identity who)
    {
        string target = Path.Combine(Dir.Subdirectory("cf-target"), "cf-target");
        File.WriteAllText(target, "got me");
        File.SetUnixFileMode(target, (UnixFileMode)0x1a4);
        string link = Path.Combine(Dir.Subdirectory("cf-link"), "cf-link");
        File.CreateSymbolicLink(link, target);
        string list = Path.Combine(Dir.Path, "store-paths");
        File.WriteAllText(list, link + "\n");
        File.SetUnixFileMode(list, (UnixFileMode)0x1a4);

        RunResult r = Run(who, "--closure-file", list, "--", "/bin/sh", "-c", $"read x < {link}; echo \"$x\"; [ -e {target} ] && echo target-visible || echo target-hidden");
        // As the module's drop-in does (TARGET:LINK): the target's content is at the link path, the target path itself is not bound.
        AssertOk(r, "got me\ntarget-hidden\n");
    }

    [Theory]
    [InlineData("daemon", "daemon", 1u, 1u)]
    [InlineData("1", "1", 1u, 1u)]
    [InlineData("nobody", "nogroup", 65534u, 65534u)]
    public void UserGroup_Static_IdsNonZeroDevListableClosureNotWritable(string user, string group, uint uid, uint gid)
    {
        string script = string.Join("; ", "id -u", "id -g", "ls /dev > /dev/null && echo dev-listable",
            "touch /bin/test 2>/dev/null || echo bin-not-writable", "touch /usr/bin/ls 2>/dev/null || echo closure-not-writable",
            "grep NoNewPrivs /proc/self/status");
        RunResult r = fixture.Run(["-p", $"User={user}", "-p", $"Group={group}", .. Packages("/usr/bin/id", "/usr/bin/ls", "/usr/bin/touch", "/usr/bin/grep"),
            "--", "/bin/sh", "-c", script]);
        AssertOk(r, $"{uid}\n{gid}\ndev-listable\nbin-not-writable\nclosure-not-writable\nNoNewPrivs:\t1\n");
    }

    [Theory]
    [InlineData("full-apivfs")]
    [InlineData("chroot-only")]
    public void UMask0077_StaticUser_MountPointParentsStayReachable(string mode)
    {
        // nixpkgs #147599 / systemd #21548: mount-point parents made under the service's umask became root 0700
        // and the user could not reach its own program. They must be 0755 whatever UMask= says.
        RunResult r = fixture.Run(["--mode", mode, "-p", "UMask=0077", "-p", "User=daemon", "-p", "Group=daemon", "--package", "/usr/bin/stat",
            "--", "/bin/sh", "-c", "umask; stat -c '%a %n' /usr /usr/bin /usr/lib /usr/lib/x86_64-linux-gnu"]);
        AssertOk(r, "0077\n755 /usr\n755 /usr/bin\n755 /usr/lib\n755 /usr/lib/x86_64-linux-gnu\n");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void BinSh_Default_PresentAndWorks(Identity who)
    {
        RunResult r = Run(who, "--package", "/usr/bin/env", "--", "/usr/bin/env", "/bin/sh", "-c", "printf bar");
        AssertOk(r, "bar");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void BinSh_None_AbsentAndRunningItFailsWithEnoent(Identity who)
    {
        RunResult ls = Run(who, "--bin-sh", "none", "--", "/usr/bin/ls", "/bin/sh");
        Assert.Equal(2, ls.ExitCode);
        Assert.Contains("No such file or directory", ls.Stderr);

        RunResult env = Run(who, "--bin-sh", "none", "--", "/usr/bin/env", "/bin/sh", "-c", "echo foo");
        Assert.Equal(127, env.ExitCode); // env(1): the command was not found (ENOENT)
        Assert.Contains("No such file or directory", env.Stderr);
        Assert.Empty(env.Stdout);
    }

    [Theory]
    [MemberData(nameof(All))]
    public void BinSh_OtherProgram_RunsThatProgramWithItsClosure(Identity who)
    {
        // id(1) needs libselinux and libpcre2, which env(1) does not: /bin/sh only works with its own closure.
        string[] command = ["--bin-sh", "/usr/bin/id", "--", "/usr/bin/env", "/bin/sh", "-u"];
        RunResult closure = Run(who, ["--print-closure", .. command]);
        AssertOk(closure);
        Assert.Contains(closure.Stdout.Split('\n'), p => p.Contains("libselinux", StringComparison.Ordinal));
        Assert.DoesNotContain("/usr/bin/dash", closure.Stdout.Split('\n'));

        AssertOk(Run(who, command), Uid(who) + "\n");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Environment_PathOutsideClosure_PassedButAbsent_FullEnvBringsIt(Identity who)
    {
        string foobar = Path.Combine(Dir.Subdirectory("foobar"), "foobar");
        File.WriteAllText(foobar, "eek\n");
        File.SetUnixFileMode(foobar, (UnixFileMode)0x1a4);
        string script = "echo \"$FOOBAR\"; read x < \"$FOOBAR\" && echo \"$x\"";
        string[] argv = [fixture.Binary, .. Identities.Options(who), "--", "/bin/sh", "-c", script];
        // A clean environment: --full-env would otherwise bring in every directory on the caller's PATH.
        // (env -i clears the fresh closure cache each run gets, so each gets its own here.)
        string[] Clean() => ["env", "-i", "FOOBAR=" + foobar, $"{TestClosureCaches.Variable}={TestClosureCaches.NextDirectory()}"];

        string[] clean = Clean();
        RunResult plain = ProcessRunner.Run(Identities.AsNobody(who) ? ProcessRunner.AsNobody([.. clean, .. argv]) : [.. clean, .. argv]);
        Assert.Equal(2, plain.ExitCode);
        Assert.Equal(foobar + "\n", plain.Stdout);
        Assert.Contains($"cannot open {foobar}: No such file", plain.Stderr);

        string[] full = [fixture.Binary, "--full-env", .. argv[1..]];
        clean = Clean();
        RunResult withFullEnv = ProcessRunner.Run(Identities.AsNobody(who) ? ProcessRunner.AsNobody([.. clean, .. full]) : [.. clean, .. full]);
        AssertOk(withFullEnv, foobar + "\neek\n");
    }
}
