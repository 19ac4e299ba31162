using ConfineExec.Elf.Tests.Closure;

namespace ConfineExec.Elf.Tests.Cache;

/// <summary>What the cache tests share: a <see cref="FixtureDirectory"/> with a cache directory inside it, and
/// the checks that a cached closure is exactly the live one.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class CacheAssert
{
    /// <summary>A cache in <paramref name="fx"/>. Fixtures are files written just now, whose ctime cannot be
    /// backdated: with the default window nothing they touch would be stored, so tests of hits use none (the rule
    /// itself is tested on its own).</summary>
    public static ClosureCache Open(FixtureDirectory fx, string name = "cache", TimeSpan? window = null)
    {
        var cache = ClosureCache.Open(fx.P(name)) ?? throw new InvalidOperationException("cache did not open");
        cache.RecentWindow = window ?? TimeSpan.Zero;
        return cache;
    }

    /// <summary>Every field --json and --explain print.</summary>
    public static void Same(Elf.Closure want, Elf.Closure? got)
    {
        Assert.NotNull(got);
        Assert.Equal(want.ProgramPath, got.ProgramPath);
        Assert.Equal(want.Entries, got.Entries);
        Assert.Equal(want.MainUsesOrigin, got.MainUsesOrigin);
        Assert.Equal(want.MissingLibraries, got.MissingLibraries);
        Assert.Equal(want.Warnings, got.Warnings);
    }

    /// <summary>Stores a live scan and checks that a lookup then returns it unchanged.</summary>
    public static Elf.Closure StoreAndHit(ClosureCache cache, ClosureRequest request)
    {
        var live = cache.GetOrBuild(request);
        Assert.Equal(ClosureCacheStore.Stored, cache.LastOutcome.Store);
        var hit = cache.TryLoad(request);
        Assert.Equal(ClosureCacheLookup.Hit, cache.LastOutcome.Lookup);
        Same(live, hit);
        return live;
    }

    /// <summary>After a change: the lookup misses for <paramref name="why"/>, and the next
    /// <see cref="ClosureCache.GetOrBuild"/> gives what a live scan gives now, stored again.</summary>
    public static Elf.Closure MissesThenRebuilds(ClosureCache cache, ClosureRequest request, ClosureCacheLookup why)
    {
        Assert.Null(cache.TryLoad(request));
        Assert.Equal(why, cache.LastOutcome.Lookup);
        var rebuilt = cache.GetOrBuild(request);
        Assert.Equal(why, cache.LastOutcome.Lookup);
        Assert.Equal(ClosureCacheStore.Stored, cache.LastOutcome.Store);
        Same(ClosureBuilder.Build(request), rebuilt);
        Same(rebuilt, cache.TryLoad(request));
        return rebuilt;
    }

    /// <summary>Sets an mtime long enough ago, distinct per <paramref name="minutesAgo"/>.</summary>
    public static void Backdate(string path, int minutesAgo = 60) =>
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-minutesAgo));

    /// <summary>The single cache file in <paramref name="dir"/>.</summary>
    public static string OnlyFile(string dir) => Assert.Single(Directory.GetFiles(dir));
}
