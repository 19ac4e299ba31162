namespace ConfineExec.Launcher.CommandLine;

/// <summary>
/// <c>--full-env</c>, the analogue of the module's <c>fullUnit</c>: every existing absolute path in an
/// environment value becomes a package. Values are split at ':' and blanks (PATH-style lists). "/" itself and
/// paths under the API file systems (/proc, /sys, /dev) are skipped: the confinement provides its own.
/// </summary>
public static class EnvironmentPaths
{
    public static List<string> Find(IReadOnlyDictionary<string, string> environment, Func<string, bool> exists)
    {
        var found = new List<string>();
        foreach (var (_, value) in environment.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            foreach (string part in value.Split([':', ' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (!part.StartsWith('/') || part.Split('/').Contains("..")) continue;
                string path = SystemdSyntax.NormalizePath(part);
                if (path == "/" || IsUnder(path, "/proc") || IsUnder(path, "/sys") || IsUnder(path, "/dev")) continue;
                if (!found.Contains(path) && exists(path)) found.Add(path);
            }
        return found;
    }

    static bool IsUnder(string path, string dir) => path == dir || path.StartsWith(dir + "/", StringComparison.Ordinal);
}
