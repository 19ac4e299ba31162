using BenchmarkDotNet.Attributes;
using ConfineExec.Elf;

namespace ConfineExec.Bench;

/// <summary>Reading what ld.so reads of one object must cost the same for a 15 KB library and for the
/// largest shared object on the machine (bytes read do not grow with file size).</summary>
[MemoryDiagnoser]
public class ElfReadBenchmarks
{
    [ParamsSource(nameof(Objects))]
    public string Object { get; set; } = "";

    public static IEnumerable<string> Objects()
    {
        yield return "/usr/lib/x86_64-linux-gnu/libdl.so.2";
        yield return BenchPaths.LargestSharedObject();
    }

    [Benchmark]
    public ElfObject Read() => ElfObject.Read(Object);
}
