using BenchmarkDotNet.Attributes;
using ConfineExec.Elf;

namespace ConfineExec.Bench;

[MemoryDiagnoser]
public class LdSoCacheBenchmarks
{
    private LdSoCache _cache = null!;
    private static readonly string[] Active = ["x86-64-v4", "x86-64-v3", "x86-64-v2"];

    [GlobalSetup]
    public void Setup() => _cache = LdSoCache.TryLoad("/etc/ld.so.cache") ?? throw new InvalidOperationException("no /etc/ld.so.cache");

    [Benchmark]
    public LdSoCache? Load() => LdSoCache.TryLoad("/etc/ld.so.cache");

    [Benchmark]
    public string? LookupHit() => _cache.Lookup("libz.so.1", 0xf, Active);

    [Benchmark]
    public string? LookupMiss() => _cache.Lookup("libdoesnotexist.so.9", 0xf, Active);
}
