using System.Text.Json;
using ConfineExec.Elf;

namespace ConfineExec.Launcher.Output;

/// <summary><c>--print-closure</c>: one absolute path per line, sorted (ordinal); <c>--json</c>: an array of
/// {path, kind, target, reason, neededBy} in the same order.</summary>
public static class ClosurePrinter
{
    public static void PrintPaths(Closure closure, TextWriter w)
    {
        foreach (ClosureEntry e in Sorted(closure)) w.WriteLine(e.Path);
    }

    public static void PrintJson(Closure closure, TextWriter w)
    {
        List<ClosureJsonEntry> list = [.. Sorted(closure).Select(e => new ClosureJsonEntry(e.Path, KindName(e.Kind), e.Target, e.Reason, e.NeededBy))];
        w.WriteLine(JsonSerializer.Serialize(list, ClosureJsonContext.Default.ListClosureJsonEntry));
    }

    public static string KindName(ClosureEntryKind kind) => kind switch
    {
        ClosureEntryKind.File => "file",
        ClosureEntryKind.Symlink => "symlink",
        ClosureEntryKind.Directory => "directory",
        _ => throw new System.Diagnostics.UnreachableException(kind.ToString()),
    };

    static IEnumerable<ClosureEntry> Sorted(Closure closure) =>
        IsSorted(closure.Entries) ? closure.Entries : closure.Entries.OrderBy(e => e.Path, StringComparer.Ordinal);

    // ClosureBuilder already returns entries in this order: check in O(n) rather than sort again.
    static bool IsSorted(IReadOnlyList<ClosureEntry> entries)
    {
        for (int i = 1; i < entries.Count; i++)
            if (string.CompareOrdinal(entries[i - 1].Path, entries[i].Path) > 0) return false;
        return true;
    }
}
