using ConfineExec.Launcher.Planning;

namespace ConfineExec.Launcher.Tests.Fixtures;

/// <summary>
/// A test-only stand-in for the closure library: for each host path, the symlinks met while resolving it
/// component by component (recreated as SymlinkOps) and the real file at the end (a read-only bind), plus the
/// libraries `ldd` reports for ELF files. Enough to run dash, ls, id, stat and friends inside a root.
/// </summary>
public sealed class HandClosure
{
    private readonly List<SetupOp> _ops = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    public IReadOnlyList<SetupOp> Ops => _ops;

    /// <summary>Every top-level entry of the root the closure creates (e.g. bin, lib, lib64, usr).</summary>
    public IEnumerable<string> TopLevel => _seen.Select(p => p.Split('/', StringSplitOptions.RemoveEmptyEntries)[0]).Distinct();

    public HandClosure AddProgram(string path)
    {
        Add(path);
        foreach (string lib in Ldd(path))
            Add(lib);
        return this;
    }

    public HandClosure Add(string hostPath)
    {
        string current = "/";
        var pending = new Queue<string>(hostPath.Split('/', StringSplitOptions.RemoveEmptyEntries));
        int hops = 0;
        while (pending.Count > 0)
        {
            string component = pending.Dequeue();
            string candidate = current == "/" ? "/" + component : current + "/" + component;
            var info = new FileInfo(candidate);
            if (info.LinkTarget is string target)
            {
                if (++hops > 40) throw new IOException($"symlink loop at {candidate}");
                if (_seen.Add(candidate))
                    _ops.Add(new SymlinkOp(target, candidate));
                string resolved = target.StartsWith('/') ? target : (current == "/" ? "/" : current + "/") + target;
                foreach (string rest in pending.ToArray())
                    resolved += "/" + rest;
                pending = new Queue<string>(resolved.Split('/', StringSplitOptions.RemoveEmptyEntries));
                current = "/";
                continue;
            }
            if (component == "..")
            {
                current = Path.GetDirectoryName(current) ?? "/";
                continue;
            }
            current = candidate;
        }
        if (_seen.Add(current))
            _ops.Add(new BindOp(current, current, ReadOnly: true));
        return this;
    }

    private static IEnumerable<string> Ldd(string path)
    {
        var run = ProcessRunner.Run(["ldd", path]);
        foreach (string line in run.Stdout.Split('\n'))
        {
            string t = line.Trim();
            int arrow = t.IndexOf("=> ", StringComparison.Ordinal);
            string candidate = arrow >= 0 ? t[(arrow + 3)..] : t;
            int paren = candidate.IndexOf(" (", StringComparison.Ordinal);
            if (paren >= 0) candidate = candidate[..paren];
            if (candidate.StartsWith('/'))
                yield return candidate;
        }
    }
}
