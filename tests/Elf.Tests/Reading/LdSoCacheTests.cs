namespace ConfineExec.Elf.Tests.Reading;

public class LdSoCacheTests(ITestOutputHelper output)
{
    private static readonly string[] ActiveV4 = ["x86-64-v4", "x86-64-v3", "x86-64-v2"];

    [Fact]
    public void Parse_SystemCache_MatchesLdconfigPrintCache()
    {
        const string path = "/etc/ld.so.cache";
        if (!File.Exists(path)) Assert.Skip("no /etc/ld.so.cache");
        var cache = LdSoCache.TryLoad(path);
        Assert.NotNull(cache);
        var expected = LdconfigEntries(path);
        output.WriteLine($"{cache.Format} format, {cache.Entries.Count} entries, ldconfig -p lists {expected.Count}; generator: {cache.Generator}");
        Assert.Equal(expected, cache.Entries.Select(e => (e.Key, e.Value)).ToList());
        // Every key looks itself up (first usable entry of its run).
        foreach (var e in cache.Entries.Where(e => e.Flags == LdSoCache.DefaultX8664Flags && e.HwCap == 0))
            Assert.NotNull(cache.Lookup(e.Key, 0xf, ActiveV4));
        Assert.Equal("/lib/x86_64-linux-gnu/libc.so.6", cache.Lookup("libc.so.6", 0xf, ActiveV4));
        Assert.Null(cache.Lookup("libdoes-not-exist.so.9", 0xf, ActiveV4));
    }

    [Theory]
    [InlineData("new", LdSoCacheFormat.New, "glibc-hwcaps/x86-64-v3/libfoo.so.1")]
    [InlineData("compat", LdSoCacheFormat.Compat, "lib/libfoo.so.1")]
    [InlineData("old", LdSoCacheFormat.Old, "glibc-hwcaps/x86-64-v2/libfoo.so.1")]
    public void Lookup_GeneratedCacheWithHwcapsCopies_GivesWhatLdSoGives(string format, LdSoCacheFormat expectedFormat, string expectedSuffix)
    {
        if (!Tool.Exists("gcc") || !File.Exists("/sbin/ldconfig")) Assert.Skip("needs gcc and ldconfig");
        using var dir = new ScratchDir();
        string lib = Path.Combine(dir.Path, "lib");
        string src = dir.Write("foo.c", "int foo(void){return 1;}"u8.ToArray());
        foreach (var sub in new[] { "", "glibc-hwcaps/x86-64-v2", "glibc-hwcaps/x86-64-v3" })
        {
            string d = Path.Combine(lib, sub);
            Directory.CreateDirectory(d);
            Assert.Equal(0, Tool.Run("gcc", "-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-o", Path.Combine(d, "libfoo.so.1"), src).Code);
        }
        string conf = dir.Write("ld.so.conf", System.Text.Encoding.UTF8.GetBytes(lib + "\n"));
        string cachePath = Path.Combine(dir.Path, "ld.so.cache");
        var (code, _) = Tool.Run("/sbin/ldconfig", "-X", "-c", format, "-C", cachePath, "-f", conf);
        Assert.Equal(0, code);

        var cache = LdSoCache.TryLoad(cachePath);
        Assert.NotNull(cache);
        Assert.Equal(expectedFormat, cache.Format);
        Assert.Equal(LdconfigEntries(cachePath), cache.Entries.Select(e => (e.Key, e.Value)).ToList());
        string? found = cache.Lookup("libfoo.so.1", 0xf, ActiveV4);
        Assert.NotNull(found);
        Assert.EndsWith(expectedSuffix.StartsWith("lib/") ? expectedSuffix : "lib/" + expectedSuffix, found);
        if (format == "new")
        {
            Assert.Equal(["x86-64-v2", "x86-64-v3"], cache.Entries.Where(e => e.Key == "libfoo.so.1" && e.HwCapsSubdir != null).Select(e => e.HwCapsSubdir!).Order().ToList());
            // Without v3 active the v2 copy wins; with no hwcaps active, the base library.
            Assert.EndsWith("x86-64-v2/libfoo.so.1", cache.Lookup("libfoo.so.1", 0x3, ["x86-64-v2"]));
            Assert.EndsWith("lib/libfoo.so.1", cache.Lookup("libfoo.so.1", 0xf, []));
        }
    }

    [Fact]
    public void Lookup_NumericKeyOrder_MatchesDlCacheLibcmp()
    {
        // libfoo.so.01 equals libfoo.so.1 under _dl_cache_libcmp.
        var cache = LdSoCache.TryLoad("/etc/ld.so.cache");
        if (cache == null) Assert.Skip("no /etc/ld.so.cache");
        Assert.Equal(cache.Lookup("libc.so.6", 0xf, ActiveV4), cache.Lookup("libc.so.06", 0xf, ActiveV4));
    }

    [Fact]
    public void LegacyHwcapFilter_Generic_AcceptsX8664AndTlsButNoPlatform()
    {
        var f = LegacyHwcapFilter.GenericX8664;
        Assert.True(f.Accepts(1UL << 1));
        Assert.True(f.Accepts(1UL << 63));
        Assert.False(f.Accepts(1UL << 2));   // avx512_1 not on this CPU class
        Assert.False(f.Accepts(1UL << 50));  // haswell platform: dl_platform is x86_64, unknown to glibc
    }

    /// <summary>(key, value) pairs in the order <c>ldconfig -p</c> prints them.</summary>
    internal static List<(string, string)> LdconfigEntries(string cachePath)
    {
        var (code, stdout) = Tool.Run("/sbin/ldconfig", "-p", "-C", cachePath);
        Assert.Equal(0, code);
        var list = new List<(string, string)>();
        foreach (var line in stdout.Split('\n'))
        {
            if (!line.StartsWith('\t')) continue;
            int paren = line.IndexOf(" (", StringComparison.Ordinal), arrow = line.IndexOf(" => ", StringComparison.Ordinal);
            list.Add((line[1..paren], line[(arrow + 4)..]));
        }
        return list;
    }
}
