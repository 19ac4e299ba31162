using ConfineExec.Elf;

namespace ConfineExec.Launcher.Output;

/// <summary>
/// <c>--explain</c>: the closure as a tree. Roots are entries nobody needed (the program, /bin/sh, packages);
/// each entry is printed under the entry named by its <see cref="ClosureEntry.NeededBy"/>, two spaces deeper,
/// as <c>PATH [-> TARGET] (REASON)</c>. An entry whose NeededBy is not itself an entry is a root too.
/// </summary>
public static class ExplainPrinter
{
    public static void Print(Closure closure, TextWriter w)
    {
        var byPath = new Dictionary<string, ClosureEntry>(StringComparer.Ordinal);
        foreach (ClosureEntry e in closure.Entries) byPath.TryAdd(e.Path, e);
        var children = new Dictionary<string, List<ClosureEntry>>(StringComparer.Ordinal);
        var roots = new List<ClosureEntry>();
        foreach (ClosureEntry e in byPath.Values)
        {
            if (e.NeededBy is { } parent && parent != e.Path && byPath.ContainsKey(parent))
                (children.TryGetValue(parent, out var list) ? list : children[parent] = []).Add(e);
            else
                roots.Add(e);
        }
        var printed = new HashSet<string>(StringComparer.Ordinal);
        void Walk(ClosureEntry e, int depth)
        {
            if (!printed.Add(e.Path)) return;
            w.Write(new string(' ', depth * 2));
            w.Write(e.Path);
            if (e.Target is not null) w.Write($" -> {e.Target}");
            w.WriteLine($" ({e.Reason})");
            if (children.TryGetValue(e.Path, out var kids))
                foreach (ClosureEntry k in kids.OrderBy(k => k.Path, StringComparer.Ordinal)) Walk(k, depth + 1);
        }
        // The program first, then the other roots in path order.
        foreach (ClosureEntry r in roots.OrderBy(r => r.Path == closure.ProgramPath ? 0 : 1).ThenBy(r => r.Path, StringComparer.Ordinal))
            Walk(r, 0);
        // Entries only reachable through a NeededBy cycle.
        foreach (ClosureEntry e in byPath.Values.OrderBy(e => e.Path, StringComparer.Ordinal)) Walk(e, 0);
    }
}
