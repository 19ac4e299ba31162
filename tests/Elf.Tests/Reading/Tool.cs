using System.Diagnostics;

namespace ConfineExec.Elf.Tests.Reading;

internal static class Tool
{
    public static bool Exists(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Any(d => File.Exists(Path.Combine(d, name)));

    /// <summary>Runs a program, returns (exit code, stdout); stderr is discarded.</summary>
    public static (int Code, string Stdout) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        _ = stderr.Result;
        return (p.ExitCode, stdout);
    }
}

/// <summary>What <c>readelf -W -l -d</c> says about an object: the oracle for every file, section-less included.</summary>
internal sealed record ReadelfFacts(string? Interpreter, List<string> Needed, string? SoName, string? RPath, string? RunPath)
{
    public static ReadelfFacts Of(string path)
    {
        var (code, output) = Tool.Run("readelf", "-W", "-l", "-d", path);
        Assert.True(code == 0, $"readelf failed on {path}");
        string? interp = null, soname = null, rpath = null, runpath = null;
        var needed = new List<string>();
        foreach (var raw in output.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith("[Requesting program interpreter: ")) interp ??= Bracket(line, "[Requesting program interpreter: ");
            else if (line.Contains("(NEEDED)")) needed.Add(Bracket(line, "Shared library: ["));
            else if (line.Contains("(SONAME)")) soname = Bracket(line, "Library soname: [");
            else if (line.Contains("(RPATH)")) rpath = Bracket(line, "Library rpath: [");
            else if (line.Contains("(RUNPATH)")) runpath = Bracket(line, "Library runpath: [");
        }
        return new ReadelfFacts(interp, needed, soname, rpath, runpath);
    }

    private static string Bracket(string line, string prefix)
    {
        int at = line.IndexOf(prefix, StringComparison.Ordinal) + prefix.Length;
        return line[at..line.LastIndexOf(']')];
    }
}
