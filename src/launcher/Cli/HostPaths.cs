using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.CommandLine;

/// <summary>Host path resolution without P/Invoke (realpath(3) / <c>readlink -e</c> semantics).</summary>
public static class HostPaths
{
    /// <summary>Resolves every symlink in absolute <paramref name="path"/>; null if a component is missing
    /// or the links loop.</summary>
    public static string? RealPath(string path) => SymlinkWalk.Resolve(path, OnHost);

    static bool OnHost(string prefix, out string? link)
    {
        var info = new FileInfo(prefix);
        link = info.LinkTarget;
        return link is not null || info.Exists || Directory.Exists(prefix);
    }

    /// <summary>lstat()-style existence: true for a dangling symlink too.</summary>
    public static bool Exists(string path) =>
        File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;
}
