using System.Text.Json;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Hardening;

/// <summary>
/// A corrupt <c>/etc/ld.so.cache</c> makes glibc's loader search without a cache (the default directories). In a
/// private mount namespace a corrupt file is bound over the host's cache, then confine-exec's closure and the
/// real loader (<c>LD_TRACE_LOADED_OBJECTS=1 ld.so</c>, what ldd runs) are asked about the same programs there:
/// the resolved files must agree, and the cache must not join the closure.
/// </summary>
[Collection(nameof(BinaryCollection))]
public sealed class CorruptCacheTests(ConfineExecFixture fixture) : HostCheckedTest
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string corruption in new[] { "bad-magic", "nlibs-too-large", "truncated", "empty" })
            foreach (string program in new[] { "/usr/bin/git", "/usr/bin/gdb", "/usr/lib/llvm-14/bin/clangd" })
                data.Add(corruption, program);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CorruptCache_ClosureResolvesLikeTheLoaderWithoutACache(string corruption, string program)
    {
        Assert.SkipUnless(ConfineExec.Launcher.Interop.Libc.getuid() == 0, "needs root for a private mount namespace");
        Assert.SkipUnless(File.Exists(program), program + " is not installed");
        byte[] cache = File.ReadAllBytes("/etc/ld.so.cache");
        byte[] bad = corruption switch
        {
            "bad-magic" => Mutate(cache, b => b[0] ^= 0xff),
            "nlibs-too-large" => Mutate(cache, b => BitConverter.TryWriteBytes(b.AsSpan(0x14), 0x0fffffff)),
            "truncated" => cache[..60],
            _ => [],
        };
        string corrupt = Path.Combine(Dir.Path, "ld.so.cache");
        File.WriteAllBytes(corrupt, bad);
        string real = RealPaths([program]).Single();
        string script = $"mount --bind '{corrupt}' /etc/ld.so.cache && '{fixture.Binary}' --bin-sh none --print-closure --json '{program}' " +
                        $"&& echo '--- loader' && LD_TRACE_LOADED_OBJECTS=1 /lib64/ld-linux-x86-64.so.2 '{real}'";
        RunResult r = ProcessRunner.Run(["unshare", "-m", "--propagation", "private", "sh", "-c", script]);
        Assert.True(r.ExitCode == 0, r.ToString());
        int split = r.Stdout.IndexOf("--- loader\n", StringComparison.Ordinal);
        Assert.True(split > 0, r.ToString());

        var ours = new SortedSet<string>(StringComparer.Ordinal);
        using (JsonDocument doc = JsonDocument.Parse(r.Stdout[..split]))
            foreach (JsonElement e in doc.RootElement.EnumerateArray())
            {
                string path = e.GetProperty("path").GetString()!;
                Assert.NotEqual("/etc/ld.so.cache", path);
                if (e.GetProperty("kind").GetString() == "file")
                    ours.Add(path);
            }

        var loader = new SortedSet<string>(StringComparer.Ordinal) { real };
        foreach (string line in r.Stdout[(split + 11)..].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.DoesNotContain("not found", line);
            string t = line.Trim();
            int arrow = t.IndexOf(" => ", StringComparison.Ordinal);
            string path = arrow >= 0 ? t[(arrow + 4)..] : t;
            int paren = path.IndexOf(" (", StringComparison.Ordinal);
            if (paren >= 0) path = path[..paren];
            if (path.StartsWith('/')) loader.Add(path);
        }
        Assert.Equal(RealPaths(loader), RealPaths(ours));
    }

    private static byte[] Mutate(byte[] data, Action<byte[]> change)
    {
        byte[] copy = (byte[])data.Clone();
        change(copy);
        return copy;
    }

    /// <summary>Every path fully resolved (every component), as the loader and the kernel see the files.</summary>
    private static SortedSet<string> RealPaths(IEnumerable<string> paths)
    {
        RunResult r = ProcessRunner.Run(["realpath", "-e", .. paths]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return new SortedSet<string>(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
    }

}
