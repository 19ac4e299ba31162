using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>
/// Resolves absolute paths one component at a time, as the kernel does: each prefix is lstat'ed, a symlink's
/// text is read and spliced in (absolute targets restart at '/', relative ones at the link's directory), and
/// '..' after a symlink climbs from where the link led. Every link met is reported with its exact text.
/// Prefix answers are cached, so the shared directories of a closure cost one lstat each.
/// </summary>
public sealed class SymlinkChain
{
    private enum NodeKind : byte { Missing, Directory, Other, Symlink }

    private readonly record struct Node(NodeKind Kind, string? Target, int Errno);

    /// <summary>Linux's MAXSYMLINKS.</summary>
    private const int MaxHops = 40;

    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);

    /// <summary>A symlink met on the way: its path and its link text.</summary>
    public readonly record struct Hop(string LinkPath, string Target);

    /// <summary>
    /// The canonical path of <paramref name="path"/> (absolute), adding each link met to <paramref name="hops"/>
    /// in order. Null when a component is missing or a non-directory is traversed (<paramref name="errno"/>);
    /// a loop throws <see cref="ClosureException"/> (UnresolvablePath).
    /// </summary>
    public string? Resolve(string path, List<Hop>? hops, out bool isDirectory, out int errno)
    {
        isDirectory = false;
        errno = 0;
        if (path.Length == 0 || path[0] != '/')
            throw new ArgumentException($"not absolute: {path}", nameof(path));

        // Pending components are kept reversed on a stack so link targets can be pushed in front.
        var pending = new Stack<string>();
        PushComponents(pending, path);
        string current = "/";
        int hopsTaken = 0;
        NodeKind lastKind = NodeKind.Directory;
        while (pending.Count > 0)
        {
            string c = pending.Pop();
            if (c.Length == 0 || c == ".") continue;
            if (lastKind != NodeKind.Directory)
            {
                errno = Libc.ENOTDIR;
                return null;
            }
            if (c == "..")
            {
                int slash = current.LastIndexOf('/');
                current = slash <= 0 ? "/" : current[..slash];
                continue;
            }
            string candidate = current.Length == 1 ? "/" + c : current + "/" + c;
            var node = Lookup(candidate);
            switch (node.Kind)
            {
                case NodeKind.Missing:
                    errno = node.Errno;
                    return null;
                case NodeKind.Symlink:
                    if (++hopsTaken > MaxHops)
                        throw new ClosureException(ClosureError.UnresolvablePath, path,
                            $"unresolvable path: {path}: too many levels of symbolic links");
                    hops?.Add(new Hop(candidate, node.Target!));
                    PushComponents(pending, node.Target!);
                    if (node.Target![0] == '/') current = "/";
                    lastKind = NodeKind.Directory;
                    break;
                default:
                    current = candidate;
                    lastKind = node.Kind;
                    break;
            }
        }
        isDirectory = lastKind == NodeKind.Directory;
        return current;
    }

    private static void PushComponents(Stack<string> pending, string path)
    {
        int end = path.Length;
        for (int i = path.Length - 1; i >= -1; i--)
        {
            if (i == -1 || path[i] == '/')
            {
                if (end - i - 1 > 0) pending.Push(path.Substring(i + 1, end - i - 1));
                end = i;
            }
        }
    }

    private Node Lookup(string path)
    {
        if (_nodes.TryGetValue(path, out var node)) return node;
        int err = Libc.LStat(path, out var st);
        if (err != 0) node = new Node(NodeKind.Missing, null, err);
        else
        {
            uint type = st.Mode & Libc.S_IFMT;
            if (type == Libc.S_IFLNK)
            {
                string? target = Libc.ReadLink(path, out int e);
                node = target is null || target.Length == 0 ? new Node(NodeKind.Missing, null, e == 0 ? Libc.ENOENT : e) : new Node(NodeKind.Symlink, target, 0);
            }
            else node = new Node(type == Libc.S_IFDIR ? NodeKind.Directory : NodeKind.Other, null, 0);
        }
        _nodes[path] = node;
        return node;
    }

    /// <summary>Joins <paramref name="relative"/> to <paramref name="baseDir"/> textually (no '..' folding).</summary>
    public static string Join(string baseDir, string relative)
    {
        if (relative.Length > 0 && relative[0] == '/') return relative;
        if (baseDir.EndsWith('/')) return baseDir + relative;
        return baseDir + "/" + relative;
    }

    /// <summary>Folds '.', empty components and duplicate/trailing slashes, keeping '..' (which only a walk may resolve).</summary>
    public static string Tidy(string absolute)
    {
        var parts = absolute.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var sb = new System.Text.StringBuilder(absolute.Length);
        foreach (var p in parts)
        {
            if (p == ".") continue;
            sb.Append('/').Append(p);
        }
        return sb.Length == 0 ? "/" : sb.ToString();
    }
}
