using System.Diagnostics;

namespace ConfineExec.Elf.Tests.Closure;

/// <summary>Program location, shebangs (checked against the kernel where it decides), symlink chains,
/// /bin/sh, packages, and the interpreter profile against <c>ld.so --list-diagnostics</c>.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ProgramAndPackageTests : IDisposable
{
    private readonly FixtureDirectory _fx = new();

    public void Dispose() => _fx.Dispose();

    private static Elf.Closure Build(string program, string? binSh = null, IReadOnlyList<string>? packages = null, Dictionary<string, string>? env = null) =>
        ClosureBuilder.Build(new ClosureRequest { Program = program, BinSh = binSh, Packages = packages ?? [], Environment = env ?? new() { ["PATH"] = "/usr/bin:/bin" } });

    private static int KernelExec(string path)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            p.WaitForExit();
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception) { return -1; } // execve refused (ELOOP)
    }

    [Fact]
    public void Interpreter_OnMergedUsr_IsThreeSymlinkHops()
    {
        var c = Build("/usr/bin/true");
        Assert.Contains(c.Entries, e => e.Path == "/lib64" && e.Kind == ClosureEntryKind.Symlink && e.Target == "usr/lib64");
        Assert.Contains(c.Entries, e => e.Path == "/usr/lib64/ld-linux-x86-64.so.2" && e.Kind == ClosureEntryKind.Symlink);
        Assert.Contains(c.Entries, e => e.Path == "/lib" && e.Kind == ClosureEntryKind.Symlink && e.Target == "usr/lib");
        Assert.Contains(c.Entries, e => e.Path == "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" && e.Kind == ClosureEntryKind.File);
        var paths = c.Entries.Select(e => e.Path).ToList();
        Assert.Equal(paths.OrderBy(p => p, StringComparer.Ordinal).Distinct(), paths);
        Assert.DoesNotContain(c.Entries, e => e.Path.StartsWith("/etc/", StringComparison.Ordinal));
    }

    [Fact]
    public void BareName_IsFoundInTargetPath_AndMissingIs127Kind()
    {
        Assert.Equal("/usr/bin/git", Build("git").ProgramPath);
        var e = Assert.Throws<ClosureException>(() => Build("no-such-program-here"));
        Assert.Equal(ClosureError.ProgramNotFound, e.Error);
        var d = Assert.Throws<ClosureException>(() => Build("/usr"));
        Assert.Equal(ClosureError.ProgramNotExecutable, d.Error);
        string text = _fx.P("plain.txt");
        File.WriteAllText(text, "hello\n");
        File.SetUnixFileMode(text, (UnixFileMode)0b111_101_101);
        Assert.Equal(ClosureError.ProgramNotExecutable, Assert.Throws<ClosureException>(() => Build(text)).Error);
    }

    [Fact]
    public void BinSh_IsBoundAtBinSh_FromItsResolvedProgram()
    {
        var c = Build("/usr/bin/true", binSh: "/bin/sh");
        string real = LdSoOracle.RealPath("/bin/sh");
        var sh = Assert.Single(c.Entries, e => e.Path == "/bin/sh");
        Assert.Equal(ClosureEntryKind.File, sh.Kind);
        Assert.Equal(real, sh.Target);
        Assert.Contains(c.Entries, e => e.Path == real && e.Kind == ClosureEntryKind.File);
        Assert.DoesNotContain(Build("/usr/bin/true").Entries, e => e.Path == "/bin/sh");
    }

    [Fact]
    public void Shebang_Forms_BringTheirInterpreters()
    {
        var plain = Build(_fx.Script("s/plain", "#!/bin/sh -e\necho hi\n"));
        Assert.Contains(plain.Entries, e => e.Path == "/bin" && e.Kind == ClosureEntryKind.Symlink);
        Assert.Contains(plain.Entries, e => e.Path == LdSoOracle.RealPath("/bin/sh") && e.Kind == ClosureEntryKind.File);

        var env = Build(_fx.Script("s/env", "#! /usr/bin/env dash\n"));
        Assert.Contains(env.Entries, e => e.Path == "/usr/bin/env" && e.Reason == "shebang");
        Assert.Contains(env.Entries, e => e.Path == "/usr/bin/dash" && e.Reason == "env command");

        var split = Build(_fx.Script("s/split", "#!/usr/bin/env -S git --version\n"));
        Assert.Contains(split.Entries, e => e.Path == "/usr/bin/git");
        Assert.Contains(split.Entries, e => e.Path.EndsWith("/libpcre2-8.so.0", StringComparison.Ordinal));
    }

    [Fact]
    public void NestedShebangs_FourLevelsRun_FiveFail_AsTheKernelSays()
    {
        string prev = "/bin/true";
        var scripts = new List<string>();
        for (int i = 0; i <= 5; i++)
        {
            prev = _fx.Script($"n/s{i}", $"#!{prev}\n");
            scripts.Add(prev);
        }
        // s4: the script plus 4 nested script interpreters; s5: 5 nested.
        Assert.Equal(0, KernelExec(scripts[4]));
        Build(scripts[4]);
        Assert.NotEqual(0, KernelExec(scripts[5]));
        var e = Assert.Throws<ClosureException>(() => Build(scripts[5]));
        Assert.Equal(ClosureError.ShebangTooDeep, e.Error);
    }

    [Fact]
    public void ShebangLoop_IsAnError_NotAHang()
    {
        _fx.Script("l/a", $"#!{_fx.P("l/b")}\n");
        _fx.Script("l/b", $"#!{_fx.P("l/a")}\n");
        var e = Assert.Throws<ClosureException>(() => Build(_fx.P("l/a")));
        Assert.Equal(ClosureError.ShebangTooDeep, e.Error);
        Assert.Contains("loop", e.Message);
    }

    [Fact]
    public void SymlinkLoop_IsUnresolvable()
    {
        File.CreateSymbolicLink(_fx.P("x"), "y");
        File.CreateSymbolicLink(_fx.P("y"), "x");
        var e = Assert.Throws<ClosureException>(() => Build(_fx.P("x")));
        Assert.Equal(ClosureError.UnresolvablePath, e.Error);
    }

    [Fact]
    public void SymlinkedExecutableChain_RecordsEveryHop()
    {
        Directory.CreateDirectory(_fx.P("bin"));
        File.CreateSymbolicLink(_fx.P("bin/one"), "two");
        File.CreateSymbolicLink(_fx.P("bin/two"), "/usr/bin/git");
        var c = Build(_fx.P("bin/one"));
        Assert.Contains(c.Entries, e => e.Path == _fx.P("bin/one") && e.Target == "two");
        Assert.Contains(c.Entries, e => e.Path == _fx.P("bin/two") && e.Target == "/usr/bin/git");
        Assert.Contains(c.Entries, e => e.Path == "/usr/bin/git" && e.Kind == ClosureEntryKind.File);
    }

    [Fact]
    public void PackageDirectory_WithOutwardSymlink_BringsTheTargetAndItsClosure()
    {
        Directory.CreateDirectory(_fx.P("pkg/bin"));
        File.CreateSymbolicLink(_fx.P("pkg/bin/g"), "/usr/bin/git");
        File.CreateSymbolicLink(_fx.P("pkg/bin/self"), "g");
        File.WriteAllText(_fx.P("pkg/data.txt"), "x");
        var c = Build("/usr/bin/true", packages: [_fx.P("pkg")]);
        Assert.Contains(c.Entries, e => e.Path == _fx.P("pkg") && e.Kind == ClosureEntryKind.Directory);
        Assert.DoesNotContain(c.Entries, e => e.Path.StartsWith(_fx.P("pkg") + "/", StringComparison.Ordinal));
        Assert.Contains(c.Entries, e => e.Path == "/usr/bin/git" && e.Kind == ClosureEntryKind.File);
        Assert.Contains(c.Entries, e => e.Path.EndsWith("/libpcre2-8.so.0", StringComparison.Ordinal));

        File.CreateSymbolicLink(_fx.P("link-pkg"), "/usr/bin/git");
        var link = Build("/usr/bin/true", packages: [_fx.P("link-pkg")]);
        Assert.Contains(link.Entries, e => e.Path == _fx.P("link-pkg") && e.Kind == ClosureEntryKind.Symlink);
        Assert.Contains(link.Entries, e => e.Path.EndsWith("/libpcre2-8.so.0", StringComparison.Ordinal));
    }

    [Fact]
    public void InterpreterProfile_MatchesLdSoListDiagnostics()
    {
        var psi = new ProcessStartInfo(LdSoOracle.HostLoader, "--list-diagnostics") { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var lines = p.StandardOutput.ReadToEnd().Split('\n');
        p.WaitForExit();
        string Value(string key) => lines.First(l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..].Trim('"');
        var dirs = lines.Where(l => l.StartsWith("path.system_dirs[", StringComparison.Ordinal)).Select(l => l[(l.IndexOf('=') + 1)..].Trim('"')).ToArray();
        var profile = InterpreterProfile.For(LdSoOracle.RealPath(LdSoOracle.HostLoader));
        Assert.Equal(dirs, profile.SystemDirs);
        Assert.Equal(Value("dl_dst_lib"), profile.DstLib);
        Assert.Equal(Value("dl_platform"), profile.Platform);
        Assert.Equal(Value("version.version"), $"{profile.GlibcVersion.Major}.{profile.GlibcVersion.Minor}");
        Assert.Equal(Value("path.sysconfdir") + "/ld.so.cache", profile.CachePath);
        Assert.Equal(Convert.ToUInt32(Value("x86.cpu_features.isa_1"), 16), profile.HwCaps.IsaLevelMask);
        var all = Value("dl_hwcaps_subdirs").Split(':');
        uint active = Convert.ToUInt32(Value("dl_hwcaps_subdirs_active"), 16);
        var expected = all.Where((s, i) => (active & (1u << i)) != 0).ToArray();
        Assert.Equal(expected, profile.HwCaps.ActiveSubdirs);
    }

    [Fact]
    public void DynamicStringTokens_FollowIsDst()
    {
        Assert.Equal("/o/x", DynamicStringTokens.Expand("$ORIGIN/x", "/o", "L", "P"));
        Assert.Equal("/o/x", DynamicStringTokens.Expand("${ORIGIN}/x", "/o", "L", "P"));
        Assert.Equal("$ORIGINAL/x", DynamicStringTokens.Expand("$ORIGINAL/x", "/o", "L", "P"));
        Assert.Equal("L/P/$X", DynamicStringTokens.Expand("$LIB/${PLATFORM}/$X", "/o", "L", "P"));
        Assert.Equal("", DynamicStringTokens.Expand("$ORIGIN/x", null, "L", "P"));
        Assert.False(DynamicStringTokens.ContainsOrigin("${ORIGINX}"));
    }

    [Fact]
    public void Shebang_ParsesLikeBinfmtScript()
    {
        Assert.Equal(new Shebang("/bin/sh", "-e -x"), Shebang.TryParse("#! \t/bin/sh  -e -x \t\nrest"u8));
        Assert.Equal(new Shebang("/usr/bin/env", null), Shebang.TryParse("#!/usr/bin/env\n"u8));
        Assert.Null(Shebang.TryParse("#!   \n"u8));
        Assert.Null(Shebang.TryParse("\x7fELF"u8));
        Assert.Equal("python3", Shebang.EnvCommand("-S python3 -u"));
        Assert.Equal("python3 -u", Shebang.EnvCommand("python3 -u"));
    }
}
