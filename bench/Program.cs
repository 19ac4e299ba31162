using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace ConfineExec.Bench;

/// <summary><c>dotnet run -c Release --project bench -- --filter '*'</c>. In-process toolchain: the repo's
/// build settings (RID, invariant globalization) stay as they are and no child project is generated.</summary>
public static class BenchProgram
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--measure")
        {
            Measure.Run(args.Length > 1 ? int.Parse(args[1]) : 200);
            return;
        }
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("in-process"))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        BenchmarkSwitcher.FromAssembly(typeof(BenchProgram).Assembly).Run(args, config);
    }
}
