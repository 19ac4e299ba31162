namespace ConfineExec.Launcher.CommandLine;

/// <summary>
/// Where the closure cache lives for this process: <c>CONFINE_EXEC_CACHE_DIR</c> when set (empty: no cache);
/// else <c>/var/cache/confine-exec</c> for root and <c>$XDG_CACHE_HOME/confine-exec</c> or
/// <c>$HOME/.cache/confine-exec</c> for anyone else (no absolute HOME: no cache). Read from confine-exec's own
/// environment, never from the target's (<c>-p Environment=</c>).
/// </summary>
public static class ClosureCacheLocation
{
    public const string Variable = "CONFINE_EXEC_CACHE_DIR";
    public const string SystemDirectory = "/var/cache/confine-exec";

    /// <summary>The directory, and whether its missing parents may be created (only for the XDG location,
    /// as the XDG base directory spec asks); null for no cache.</summary>
    public static (string Path, bool CreateParents)? Find(IReadOnlyList<KeyValuePair<string, string>> environment, bool isRoot)
    {
        string? explicitDir = null, xdg = null, home = null;
        bool explicitSet = false;
        for (int i = 0; i < environment.Count; i++)
        {
            var (k, v) = environment[i];
            switch (k)
            {
                case Variable: explicitSet = true; explicitDir = v; break;
                case "XDG_CACHE_HOME": xdg = v; break;
                case "HOME": home = v; break;
            }
        }
        if (explicitSet) return explicitDir is { Length: > 0 } && explicitDir[0] == '/' ? (explicitDir, false) : null;
        if (isRoot) return (SystemDirectory, false);
        // The spec: a relative $XDG_CACHE_HOME is invalid and ignored.
        if (xdg is { Length: > 0 } && xdg[0] == '/') return (Join(xdg, "confine-exec"), true);
        if (home is { Length: > 0 } && home[0] == '/') return (Join(Join(home, ".cache"), "confine-exec"), true);
        return null;
    }

    static string Join(string dir, string name) => dir.EndsWith('/') ? dir + name : dir + "/" + name;
}
