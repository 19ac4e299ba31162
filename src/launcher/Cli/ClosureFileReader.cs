using ConfineExec.Elf;

namespace ConfineExec.Launcher.CommandLine;

/// <summary>
/// <c>--closure-file FILE</c>: one absolute path per line (Nix <c>closureInfo</c>'s <c>store-paths</c>), each
/// bound as the NixOS module binds it: a path that is itself a symlink gets its fully resolved target
/// (<c>readlink -e</c>) bound at the link's path ("systemd can't cope with symlinks in BindReadOnlyPaths");
/// anything else is bound at its own path, a directory whole.
/// </summary>
public static class ClosureFileReader
{
    public const string Reason = "closure file";

    public static List<ClosureEntry> Read(string file, bool allowMissing, List<string> warnings)
    {
        string[] lines;
        try { lines = File.ReadAllLines(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException("--closure-file", file, e.Message);
        }
        var entries = new List<ClosureEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.Length == 0) continue;
            if (!line.StartsWith('/') || line.Split('/').Contains(".."))
                throw new UsageException("--closure-file", line, "not an absolute path");
            string path = SystemdSyntax.NormalizePath(line);
            if (!seen.Add(path)) continue;

            var info = new FileInfo(path);
            if (!info.Exists && !Directory.Exists(path) && info.LinkTarget is null)
            {
                if (allowMissing) { warnings.Add($"--closure-file: {path}: does not exist (skipped)"); continue; }
                throw new UsageException("--closure-file", path, "does not exist");
            }
            string? target = null;
            if (info.LinkTarget is not null)
            {
                target = HostPaths.RealPath(path);
                if (target is null)
                {
                    if (allowMissing) { warnings.Add($"--closure-file: {path}: dangling symlink (skipped)"); continue; }
                    throw new UsageException("--closure-file", path, "dangling symlink");
                }
            }
            bool isDir = Directory.Exists(path);
            entries.Add(new ClosureEntry(path, isDir ? ClosureEntryKind.Directory : ClosureEntryKind.File, target, Reason, null));
        }
        return entries;
    }
}
