namespace ConfineExec.Bench;

internal static class BenchPaths
{
    /// <summary>The largest *.so* under the multiarch and llvm library directories.</summary>
    public static string LargestSharedObject()
    {
        string best = "/usr/lib/x86_64-linux-gnu/libc.so.6";
        long size = 0;
        foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib/llvm-14/lib" })
        {
            if (!Directory.Exists(dir)) continue;
            foreach (var f in Directory.EnumerateFiles(dir, "*.so*"))
            {
                var info = new FileInfo(f);
                if (info.LinkTarget is null && info.Length > size) { size = info.Length; best = f; }
            }
        }
        return best;
    }
}
