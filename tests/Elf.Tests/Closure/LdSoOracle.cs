using System.Diagnostics;

namespace ConfineExec.Elf.Tests.Closure;

/// <summary>The real loader as the oracle: <c>ld.so --list PROGRAM</c> (run as ldd does, with
/// <c>LD_TRACE_LOADED_OBJECTS=1</c>, which is --list that reports a missing library as "not found" instead of
/// stopping at it), parsed into the set of files it
/// mapped (canonical paths) and the names it could not find.</summary>
internal static class LdSoOracle
{
    public const string HostLoader = "/lib64/ld-linux-x86-64.so.2";

    public sealed record Listing(SortedSet<string> Files, SortedSet<string> NotFound, int ExitCode, string Stderr);

    public static Listing List(string program, string loader = HostLoader, IDictionary<string, string>? env = null, string? cwd = null)
    {
        var psi = new ProcessStartInfo(loader) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(program);
        psi.Environment["LD_TRACE_LOADED_OBJECTS"] = "1";
        foreach (var k in new[] { "LD_LIBRARY_PATH", "LD_PRELOAD", "GLIBC_TUNABLES", "LD_ORIGIN_PATH" }) psi.Environment.Remove(k);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        if (cwd is not null) psi.WorkingDirectory = cwd;
        using var p = Process.Start(psi)!;
        var errTask = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var files = new SortedSet<string>(StringComparer.Ordinal);
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var raw in output.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0) continue;
            int arrow = line.IndexOf(" => ", StringComparison.Ordinal);
            string path;
            if (arrow >= 0)
            {
                string rhs = line[(arrow + 4)..];
                if (rhs.StartsWith("not found", StringComparison.Ordinal)) { missing.Add(line[..arrow]); continue; }
                path = StripAddress(rhs);
            }
            else path = StripAddress(line);
            if (path.StartsWith("linux-vdso", StringComparison.Ordinal) || path.StartsWith("linux-gate", StringComparison.Ordinal)) continue;
            string abs = Path.IsPathRooted(path) ? path : Path.Combine(cwd ?? Environment.CurrentDirectory, path);
            files.Add(RealPath(abs));
        }
        return new Listing(files, missing, p.ExitCode, errTask.Result);
    }

    private static string StripAddress(string s)
    {
        int paren = s.LastIndexOf(" (0x", StringComparison.Ordinal);
        return paren >= 0 ? s[..paren] : s;
    }

    public static string RealPath(string path)
    {
        var info = new FileInfo(path);
        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        string p = target?.FullName ?? info.FullName;
        // ResolveLinkTarget resolves the last component only; resolve directory links too.
        string? dir = Path.GetDirectoryName(p);
        if (dir is null) return p;
        var d = new DirectoryInfo(dir);
        string realDir = RealDir(d);
        return Path.Combine(realDir, Path.GetFileName(p));
    }

    private static string RealDir(DirectoryInfo d)
    {
        if (d.Parent is null) return d.FullName;
        string parent = RealDir(d.Parent);
        var here = new DirectoryInfo(Path.Combine(parent, d.Name));
        var t = here.ResolveLinkTarget(returnFinalTarget: true);
        return t is null ? here.FullName : RealDir(new DirectoryInfo(t.FullName));
    }

    /// <summary>The closure's loaded-object files: File entries other than the program, /bin/sh and the cache.</summary>
    public static SortedSet<string> ClosureFiles(Elf.Closure c, string programReal)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var e in c.Entries)
            if (e.Kind == ClosureEntryKind.File && e.Path != programReal && e.Reason is not ("ld.so.cache" or "/bin/sh" or "program"))
                set.Add(e.Path);
        return set;
    }
}
