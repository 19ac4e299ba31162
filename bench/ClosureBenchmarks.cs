using BenchmarkDotNet.Attributes;
using ConfineExec.Elf;

namespace ConfineExec.Bench;

/// <summary>In-process closure computation (no process start-up): the engine's own cost.</summary>
[MemoryDiagnoser]
public class ClosureBenchmarks
{
    [ParamsSource(nameof(Programs))]
    public string Program { get; set; } = "";

    public static IEnumerable<string> Programs() =>
        new[] { "/usr/bin/git", "/usr/bin/gdb", "/usr/lib/llvm-14/bin/clangd" }.Where(File.Exists);

    private static readonly Dictionary<string, string> Env = new() { ["PATH"] = "/usr/local/bin:/usr/bin:/bin" };

    private ClosureCache? _cache;
    private string? _cacheDir;

    /// <summary>A private cache directory filled once per program; the hit benchmark then validates and loads.</summary>
    [GlobalSetup(Target = nameof(CacheHit))]
    public void FillCache()
    {
        _cacheDir = Directory.CreateTempSubdirectory("confine-bench-cache.").FullName;
        _cache = ClosureCache.Open(_cacheDir) ?? throw new InvalidOperationException($"cache: {_cacheDir}: unusable");
        _cache.BuildAndStore(Request());
        if (_cache.TryLoad(Request()) is null)
            throw new InvalidOperationException($"cache: {Program}: not stored ({_cache.LastOutcome})");
    }

    [GlobalCleanup(Target = nameof(CacheHit))]
    public void RemoveCache()
    {
        _cache?.Dispose();
        if (_cacheDir is not null) Directory.Delete(_cacheDir, recursive: true);
    }

    private ClosureRequest Request() => new() { Program = Program, Environment = Env };

    /// <summary>The live scan.</summary>
    [Benchmark(Baseline = true)]
    public Closure Build() => ClosureBuilder.Build(Request());

    /// <summary>A repeated computation: read the cache file, re-statx every observation, decode the closure.</summary>
    [Benchmark]
    public Closure? CacheHit() => _cache!.TryLoad(Request());
}
