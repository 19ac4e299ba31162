using System.Diagnostics;
using ConfineExec.Elf;

namespace ConfineExec.Bench;

/// <summary><c>dotnet run -c Release --project bench -- --measure [N]</c>: a quick stopwatch loop over warm
/// <see cref="ClosureBuilder.Build"/> (median and best µs, bytes allocated per build) and the bytes the ELF
/// reader fetches for the whole closure. For iterating; BenchmarkDotNet gives the reportable numbers.</summary>
internal static class Measure
{
    public static void Run(int iterations)
    {
        foreach (var path in ElfReadBenchmarks.Objects())
            Console.WriteLine($"{path}: {new FileInfo(path).Length / 1024} KiB file, ELF bytes read {ElfObject.Read(path).BytesRead}");
        var env = new Dictionary<string, string> { ["PATH"] = "/usr/local/bin:/usr/bin:/bin" };
        foreach (var program in ClosureBenchmarks.Programs())
        {
            var request = new ClosureRequest { Program = program, Environment = env };
            var first = ClosureBuilder.Build(request);
            for (int i = 0; i < 20; i++) ClosureBuilder.Build(request);
            var times = new double[iterations];
            long alloc0 = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                ClosureBuilder.Build(request);
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            }
            long allocated = (GC.GetAllocatedBytesForCurrentThread() - alloc0) / iterations;
            Array.Sort(times);
            long bytesRead = 0, largest = 0;
            int objects = 0;
            var head = new byte[4];
            foreach (var e in first.Entries)
            {
                if (e.Kind != ClosureEntryKind.File || e.Target is not null) continue;
                using (var fs = File.OpenRead(e.Path)) if (fs.Read(head) < 4 || !ElfObject.HasElfMagic(head)) continue;
                var o = ElfObject.Read(e.Path);
                objects++;
                bytesRead += o.BytesRead;
                largest = Math.Max(largest, o.BytesRead);
            }
            Console.WriteLine($"{program}: entries {first.Entries.Count}, ELF objects {objects}, median {times[iterations / 2]:F0} us, p10 {times[iterations / 10]:F0}, p90 {times[iterations * 9 / 10]:F0}, best {times[0]:F0} us, " +
                $"alloc {allocated / 1024.0:F1} KiB/build, ELF bytes read {bytesRead / 1024.0:F1} KiB (max {largest} B/object)");
        }
    }
}
