using System.Diagnostics;

namespace ConfineExec.Elf.Tests.Closure;

/// <summary>A private directory under /var/tmp for binaries built at test time with gcc and patchelf; removed on dispose.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FixtureDirectory : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("confine-closure-").FullName;

    public FixtureDirectory()
    {
        // CreateTempSubdirectory uses TMPDIR (/tmp); move under /var/tmp so nothing lands at /tmp's root.
        Directory.Delete(Root);
        Root = Path.Combine("/var/tmp", Path.GetFileName(Root));
        Directory.CreateDirectory(Root);
    }

    public string P(string relative) => Path.Combine(Root, relative);

    public static void RequireTools()
    {
        foreach (var t in new[] { "/usr/bin/gcc", "/usr/bin/patchelf" })
            if (!File.Exists(t)) Assert.Skip($"{t} is not installed (apt-get install gcc patchelf)");
    }

    /// <summary>Builds a shared library <paramref name="rel"/> with SONAME = its file name.</summary>
    public string Lib(string rel, string symbol, string? soname = null, params string[] extra)
    {
        string path = P(rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string src = P($"src-{Guid.NewGuid():N}.c");
        File.WriteAllText(src, $"int {symbol}(void){{return 1;}}\n");
        Run("gcc", ["-shared", "-fPIC", "-o", path, src, $"-Wl,-soname,{soname ?? Path.GetFileName(rel)}", .. extra]);
        return path;
    }

    /// <summary>Builds an executable <paramref name="rel"/> from C source.</summary>
    public string Exe(string rel, string source, params string[] extra)
    {
        string path = P(rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string src = P($"src-{Guid.NewGuid():N}.c");
        File.WriteAllText(src, source);
        Run("gcc", ["-o", path, src, .. extra]);
        return path;
    }

    public string Script(string rel, string text)
    {
        string path = P(rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        return path;
    }

    public static string Run(string tool, string[] args, string? cwd = null)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (cwd is not null) psi.WorkingDirectory = cwd;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)}: rc {p.ExitCode}: {err.Result}");
        return o;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
