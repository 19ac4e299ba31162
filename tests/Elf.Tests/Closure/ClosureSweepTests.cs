using System.Collections.Concurrent;
using System.Diagnostics;

namespace ConfineExec.Elf.Tests.Closure;

/// <summary>Every dynamic ELF executable on the machine: our closure's library set and not-found set against
/// <c>ld.so --list</c> on the program's canonical path; and each closure stored in a closure cache, then loaded
/// back with every observation re-checked, equal to the live one.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ClosureSweepTests(ITestOutputHelper output)
{
    private static readonly string[] Roots = ["/usr/bin", "/usr/sbin", "/usr/libexec", "/usr/lib"];

    /// <summary>Programs left out, with the reason. Empty: nothing is excluded.</summary>
    private static readonly Dictionary<string, string> Excluded = new(StringComparer.Ordinal);

    [Fact]
    public void Sweep_EveryDynamicExecutable_MatchesLdSoList()
    {
        var programs = FindDynamicExecutables();
        Assert.NotEmpty(programs);
        var sw = Stopwatch.StartNew();
        var oracle = new ConcurrentDictionary<string, LdSoOracle.Listing>(StringComparer.Ordinal);
        Parallel.ForEach(programs, new ParallelOptions { MaxDegreeOfParallelism = 2 }, p => oracle[p] = LdSoOracle.List(p));
        var oracleTime = sw.Elapsed;
        sw.Restart();
        var differences = new List<string>();
        int compared = 0, loaderErrors = 0, excluded = 0, cacheHits = 0, cacheRecent = 0;
        using var fixture = new FixtureDirectory();
        using var cache = ClosureCache.Open(fixture.P("cache")) ?? throw new InvalidOperationException("no cache");
        var cacheTime = TimeSpan.Zero;
        foreach (var p in programs)
        {
            if (Excluded.TryGetValue(p, out var why)) { excluded++; output.WriteLine($"excluded {p}: {why}"); continue; }
            var want = oracle[p];
            Elf.Closure got;
            var request = new ClosureRequest { Program = p, BinSh = null, AllowMissing = true };
            try
            {
                var start = sw.Elapsed;
                got = cache.BuildAndStore(request);
                var store = cache.LastOutcome;
                if (store.Store == ClosureCacheStore.Stored)
                {
                    var cached = cache.TryLoad(request);
                    if (cached is null) differences.Add($"{p}: stored, then not loaded: {cache.LastOutcome}");
                    else if (Differs(got, cached) is { } what) differences.Add($"{p}: cached closure differs: {what}");
                    else cacheHits++;
                }
                else if (store.Store == ClosureCacheStore.RecentlyModified) cacheRecent++;
                else differences.Add($"{p}: not stored: {store}");
                cacheTime += sw.Elapsed - start;
            }
            catch (Exception e)
            {
                differences.Add($"{p}: we threw {e.GetType().Name}: {e.Message}; ld.so rc={want.ExitCode} {want.Stderr.Trim()}");
                continue;
            }
            if (want.ExitCode != 0 && want.Files.Count == 0)
            {
                loaderErrors++;
                differences.Add($"{p}: ld.so failed rc={want.ExitCode}: {want.Stderr.Trim()}");
                continue;
            }
            compared++;
            var files = LdSoOracle.ClosureFiles(got, p);
            var missing = new SortedSet<string>(got.MissingLibraries, StringComparer.Ordinal);
            if (!files.SetEquals(want.Files))
                differences.Add($"{p}: files only ours [{string.Join(", ", files.Except(want.Files))}] only ld.so [{string.Join(", ", want.Files.Except(files))}]");
            if (!missing.SetEquals(want.NotFound))
                differences.Add($"{p}: not-found ours [{string.Join(", ", missing)}] ld.so [{string.Join(", ", want.NotFound)}]");
        }
        output.WriteLine($"{programs.Count} dynamic executables; {compared} compared; {excluded} excluded; {loaderErrors} ld.so errors; {differences.Count} differences");
        output.WriteLine($"ld.so --list x{programs.Count} (2 parallel): {oracleTime.TotalSeconds:F1} s; ClosureBuilder x{compared}: {sw.Elapsed.TotalSeconds:F2} s");
        output.WriteLine($"closure cache: {cacheHits} stored and loaded back equal; {cacheRecent} not stored (a file changed in the last 2 s); scan + store + load {cacheTime.TotalSeconds:F2} s");
        Assert.True(cacheHits > 0, "no closure was stored and loaded back");
        foreach (var d in differences.Take(50)) output.WriteLine(d);
        Assert.Empty(differences);
    }

    /// <summary>The first field where a cached closure is not the live one, or null.</summary>
    private static string? Differs(Elf.Closure live, Elf.Closure cached)
    {
        if (live.ProgramPath != cached.ProgramPath) return "ProgramPath";
        if (!live.Entries.SequenceEqual(cached.Entries)) return "Entries";
        if (live.MainUsesOrigin != cached.MainUsesOrigin) return "MainUsesOrigin";
        if (!live.MissingLibraries.SequenceEqual(cached.MissingLibraries)) return "MissingLibraries";
        if (!live.Warnings.SequenceEqual(cached.Warnings)) return "Warnings";
        return null;
    }

    /// <summary>Regular files with an x bit and PT_INTERP, canonical paths, unique.</summary>
    internal static List<string> FindDynamicExecutables()
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        Span<byte> head = stackalloc byte[4];
        foreach (var root in Roots)
        {
            if (!Directory.Exists(root)) continue;
            foreach (var f in Directory.EnumerateFiles(root, "*", options))
            {
                var info = new FileInfo(f);
                if (info.LinkTarget is not null || info.Length < 64) continue;
                if ((info.UnixFileMode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0) continue;
                try
                {
                    using (var fs = File.OpenHandle(f))
                        if (RandomAccess.Read(fs, head, 0) < 4 || !ElfObject.HasElfMagic(head)) continue;
                    var elf = ElfObject.Read(f);
                    if (elf.Interpreter is null || elf.Class != ElfClass.Elf64 || elf.Machine != 62) continue;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ElfFormatException) { continue; }
                found.Add(LdSoOracle.RealPath(f));
            }
        }
        return found.ToList();
    }
}
