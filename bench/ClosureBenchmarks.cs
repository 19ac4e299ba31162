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

    [Benchmark]
    public Closure Build() => ClosureBuilder.Build(new ClosureRequest { Program = Program, Environment = Env });
}
