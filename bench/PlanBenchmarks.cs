using BenchmarkDotNet.Attributes;
using ConfineExec.Elf;
using ConfineExec.Launcher.Planning;

namespace ConfineExec.Bench;

/// <summary>Plan construction (options + closure + host facts → typed plan) and its validation, in-process, for a
/// real closure; the closure itself is computed once in setup.</summary>
[MemoryDiagnoser]
public class PlanBenchmarks
{
    [ParamsSource(nameof(Programs))]
    public string Program { get; set; } = "";

    public static IEnumerable<string> Programs() =>
        new[] { "/usr/bin/true", "/usr/lib/llvm-14/bin/clangd" }.Where(File.Exists);

    private PlanRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        var env = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" };
        Closure closure = ClosureBuilder.Build(new ClosureRequest { Program = Program, Environment = env });
        var options = new LaunchOptions { Program = Program };
        _request = new PlanRequest(options, closure, null, HostFacts.Detect(), [new("PATH", "/usr/bin:/bin")]);
    }

    [Benchmark]
    public LaunchPlan BuildAndValidate()
    {
        LaunchPlan plan = PlanBuilder.Build(_request);
        PlanValidator.Validate(plan, _request.Host);
        return plan;
    }
}
