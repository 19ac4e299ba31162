namespace ConfineExec.Elf.Tests.Closure;

/// <summary>glibc search rules on binaries built at test time, each checked against the real loader.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ResolutionFixtureTests : IDisposable
{
    private readonly FixtureDirectory _fx;
    private const string Main = "int main(void){return 0;}\n";

    public ResolutionFixtureTests()
    {
        FixtureDirectory.RequireTools();
        _fx = new FixtureDirectory();
    }

    public void Dispose() => _fx.Dispose();

    private static void PatchRpath(string exe, string value, bool runpath) =>
        FixtureDirectory.Run("patchelf", runpath ? ["--set-rpath", value, exe] : ["--force-rpath", "--set-rpath", value, exe]);

    private static Elf.Closure Build(string program, string? cwd = null, bool allowMissing = true) =>
        ClosureBuilder.Build(new ClosureRequest { Program = program, BinSh = null, AllowMissing = allowMissing, WorkingDirectory = cwd ?? "/" });

    /// <summary>Our files and not-found names equal ld.so --list's on the program's canonical path.</summary>
    private static Elf.Closure AssertMatchesLdSo(string program, string? cwd = null, string loader = LdSoOracle.HostLoader)
    {
        string real = LdSoOracle.RealPath(program);
        var want = LdSoOracle.List(real, loader, cwd: cwd);
        var got = Build(program, cwd);
        Assert.Equal(want.Files, LdSoOracle.ClosureFiles(got, real));
        Assert.Equal(want.NotFound, new SortedSet<string>(got.MissingLibraries, StringComparer.Ordinal));
        return got;
    }

    private string BuildChain(bool runpath)
    {
        var liby = _fx.Lib("A/liby.so.1", "y");
        var libx = _fx.Lib("A/libx.so.1", "x", null, "-Wl,--no-as-needed", liby);
        var exe = _fx.Exe("t/exe", Main, "-Wl,--no-as-needed", libx);
        PatchRpath(exe, $"{_fx.P("D")}:{_fx.P("A")}", runpath);
        return exe;
    }

    [Fact]
    public void RPath_OfExecutable_IsInheritedByLibraries()
    {
        var got = AssertMatchesLdSo(BuildChain(runpath: false));
        Assert.Contains(got.Entries, e => e.Path == _fx.P("A/liby.so.1") && e.Reason == "needed via RPATH");
    }

    [Fact]
    public void RunPath_OfExecutable_IsNotInherited()
    {
        var got = AssertMatchesLdSo(BuildChain(runpath: true));
        Assert.Equal(["liby.so.1"], got.MissingLibraries);
    }

    [Fact]
    public void MissingLibrary_WithoutAllowMissing_NamesLibraryAndNeeder()
    {
        var exe = BuildChain(runpath: true);
        var e = Assert.Throws<ClosureException>(() => Build(exe, allowMissing: false));
        Assert.Equal(ClosureError.MissingLibrary, e.Error);
        Assert.Contains("liby.so.1", e.Message);
        Assert.Contains(_fx.P("A/libx.so.1"), e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void LoaderRunPath_DisablesAllRPath()
    {
        _fx.Lib("A/liby.so.1", "y");
        var bLiby = _fx.Lib("B/liby.so.1", "y");
        var libw = _fx.Lib("A/libw.so.1", "w", null, "-Wl,--no-as-needed", bLiby);
        PatchRpath(libw, _fx.P("B"), runpath: true);
        var exe = _fx.Exe("t/exe", Main, "-Wl,--no-as-needed", libw);
        PatchRpath(exe, $"{_fx.P("A")}:{_fx.P("B")}", runpath: false);
        var got = AssertMatchesLdSo(exe);
        Assert.Contains(got.Entries, e => e.Path == _fx.P("B/liby.so.1"));
        Assert.DoesNotContain(got.Entries, e => e.Path == _fx.P("A/liby.so.1"));
    }

    [Fact]
    public void SoName_FirstResolutionWins_InBfsOrder()
    {
        var cq = _fx.Lib("C/libq.so.1", "q");
        var bq = _fx.Lib("B/libq.so.1", "q");
        var libv = _fx.Lib("B/libv.so.1", "v", null, "-Wl,--no-as-needed", bq);
        PatchRpath(libv, _fx.P("B"), runpath: true);
        var exe = _fx.Exe("t/exe", Main, "-Wl,--no-as-needed", libv, cq);
        PatchRpath(exe, $"{_fx.P("D")}:{_fx.P("C")}", runpath: false);
        var got = AssertMatchesLdSo(exe);
        Assert.Contains(got.Entries, e => e.Path == cq);
        Assert.DoesNotContain(got.Entries, e => e.Path == bq);
    }

    private string OriginApp()
    {
        var libo = _fx.Lib("app/lib/libo.so.1", "o");
        var exe = _fx.Exe("app/bin/app", Main, "-Wl,--no-as-needed", libo);
        PatchRpath(exe, "$ORIGIN/../lib", runpath: true);
        return exe;
    }

    [Fact]
    public void Origin_InRunPath_IsTheCanonicalProgramDirectory()
    {
        var exe = OriginApp();
        Directory.CreateDirectory(_fx.P("link"));
        File.CreateSymbolicLink(_fx.P("link/app"), "../app/bin/app");
        var got = AssertMatchesLdSo(_fx.P("link/app"));
        Assert.True(got.MainUsesOrigin);
        Assert.Equal(_fx.P("link/app"), got.ProgramPath);
        Assert.Contains(got.Entries, e => e.Path == _fx.P("link/app") && e.Kind == ClosureEntryKind.Symlink && e.Target == "../app/bin/app");
        Assert.Contains(got.Entries, e => e.Path == exe && e.Kind == ClosureEntryKind.File);
        Assert.Contains(got.Entries, e => e.Path == _fx.P("app/lib/libo.so.1"));
    }

    [Fact]
    public void Origin_InNeeded_IsOpenedByPath()
    {
        var exe = OriginApp();
        FixtureDirectory.Run("patchelf", ["--remove-rpath", exe]);
        FixtureDirectory.Run("patchelf", ["--replace-needed", "libo.so.1", "${ORIGIN}/../lib/libo.so.1", exe]);
        var got = AssertMatchesLdSo(exe);
        Assert.True(got.MainUsesOrigin);
        Assert.Contains(got.Entries, e => e.Path == _fx.P("app/lib/libo.so.1") && e.Reason == "needed by path");
    }

    [Fact]
    public void HwCaps_Subdirectories_PickTheBestActiveLevel()
    {
        var libh = _fx.Lib("lib/libh.so.1", "h");
        foreach (var level in new[] { "x86-64-v2", "x86-64-v3" })
        {
            Directory.CreateDirectory(_fx.P($"lib/glibc-hwcaps/{level}"));
            File.Copy(libh, _fx.P($"lib/glibc-hwcaps/{level}/libh.so.1"));
        }
        var exe = _fx.Exe("t/exe", Main, "-Wl,--no-as-needed", libh);
        PatchRpath(exe, _fx.P("lib"), runpath: true);
        var got = AssertMatchesLdSo(exe);
        string best = HwCaps.Current.ActiveSubdirs.FirstOrDefault(s => s is "x86-64-v3" or "x86-64-v2") is { } s
            ? _fx.P($"lib/glibc-hwcaps/{s}/libh.so.1") : libh;
        Assert.Contains(got.Entries, e => e.Path == best);
    }

    [Fact]
    public void EmptyRPathElement_IsTheWorkingDirectory()
    {
        var libe = _fx.Lib("cwd/libe.so.1", "e");
        var exe = _fx.Exe("t/exe", Main, "-Wl,--no-as-needed", libe);
        PatchRpath(exe, ":/nonexistent", runpath: false);
        var got = AssertMatchesLdSo(exe, cwd: _fx.P("cwd"));
        Assert.Contains(got.Entries, e => e.Path == libe);
        var elsewhere = AssertMatchesLdSo(exe, cwd: _fx.P("t"));
        Assert.Equal(["libe.so.1"], elsewhere.MissingLibraries);
    }

    [Fact]
    public void WrongClassLibrary_IsSkipped_AndTheSearchContinues()
    {
        string src = _fx.P("c32.c");
        File.WriteAllText(src, "int c(void){return 1;}\n");
        Directory.CreateDirectory(_fx.P("w32"));
        try { FixtureDirectory.Run("gcc", ["-m32", "-shared", "-fPIC", "-o", _fx.P("w32/libc2.so.1"), src, "-Wl,-soname,libc2.so.1"]); }
        catch (InvalidOperationException) { Assert.Skip("gcc -m32 cannot build 32-bit objects here"); }
        var good = _fx.Lib("w64/libc2.so.1", "c");
        var exe = _fx.Exe("t/exe", Main, "-Wl,--no-as-needed", good);
        PatchRpath(exe, $"{_fx.P("w32")}:{_fx.P("w64")}", runpath: true);
        var got = AssertMatchesLdSo(exe);
        Assert.Contains(got.Entries, e => e.Path == good);
        Assert.DoesNotContain(got.Entries, e => e.Path == _fx.P("w32/libc2.so.1"));
    }

    [Fact]
    public void StoreLayout_UsesItsOwnInterpreter_AndNoHostCache()
    {
        string store = _fx.P("nix/store/0c1i3x8p5w1mhqfdz3x4xj9mwb0vk2aa-glibc-2.36/lib");
        Directory.CreateDirectory(store);
        File.Copy(LdSoOracle.RealPath(LdSoOracle.HostLoader), Path.Combine(store, "ld-linux-x86-64.so.2"));
        File.SetUnixFileMode(Path.Combine(store, "ld-linux-x86-64.so.2"), (UnixFileMode)0b111_101_101);
        File.Copy("/lib/x86_64-linux-gnu/libc.so.6", Path.Combine(store, "libc.so.6"));
        var exe = _fx.Exe("nix/store/9q3a0b1c2d3f4g5h6i7j8k9l0m1n2p3q-hello/bin/hello", Main);
        FixtureDirectory.Run("patchelf", ["--set-interpreter", Path.Combine(store, "ld-linux-x86-64.so.2"), "--set-rpath", store, exe]);
        var got = AssertMatchesLdSo(exe, loader: Path.Combine(store, "ld-linux-x86-64.so.2"));
        Assert.Contains(got.Entries, e => e.Path == Path.Combine(store, "libc.so.6") && e.Reason == "needed via RUNPATH");
        Assert.DoesNotContain(got.Entries, e => e.Path == "/etc/ld.so.cache");
        var profile = InterpreterProfile.For(Path.Combine(store, "ld-linux-x86-64.so.2"));
        Assert.Null(profile.CachePath);
        Assert.Equal([store + "/"], profile.SystemDirs);
        Assert.Equal("lib", profile.DstLib);
    }

    [Fact]
    public void SectionlessCopy_ResolvesLikeTheOriginal()
    {
        string copy = _fx.P("git-noshdr");
        var bytes = File.ReadAllBytes("/usr/bin/git");
        BitConverter.GetBytes(0UL).CopyTo(bytes, 0x28); // e_shoff
        BitConverter.GetBytes((ushort)0).CopyTo(bytes, 0x3c); // e_shnum
        BitConverter.GetBytes((ushort)0).CopyTo(bytes, 0x3e); // e_shstrndx
        File.WriteAllBytes(copy, bytes);
        File.SetUnixFileMode(copy, (UnixFileMode)0b111_101_101);
        var got = AssertMatchesLdSo(copy);
        var original = Build("/usr/bin/git");
        Assert.Equal(LdSoOracle.ClosureFiles(original, "/usr/bin/git"), LdSoOracle.ClosureFiles(got, copy));
    }

    [Fact]
    public void CacheOnlyDirectory_BringsTheCache_DefaultDirsDoNot()
    {
        const string dir = "/usr/lib/x86_64-linux-gnu/libfakeroot";
        if (!File.Exists(dir + "/libfakeroot-0.so")) Assert.Skip("libfakeroot is not installed");
        var exe = _fx.Exe("t/fake", Main, "-Wl,--no-as-needed", dir + "/libfakeroot-0.so");
        var got = AssertMatchesLdSo(exe);
        Assert.Contains(got.Entries, e => e.Path == "/etc/ld.so.cache" && e.Reason == "ld.so.cache");
        var git = Build("/usr/bin/git");
        Assert.DoesNotContain(git.Entries, e => e.Path.StartsWith("/etc/", StringComparison.Ordinal));
    }
}
