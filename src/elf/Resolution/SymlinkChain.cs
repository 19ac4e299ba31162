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

    /// <summary>Where a walk stands after a directory path: the state the walk of any path below it continues
    /// from. A closure's paths share a handful of directories, so each is walked once.</summary>
    private sealed record Prefix(string? Current, NodeKind LastKind, int Errno, Hop[] Hops);

    private readonly Dictionary<string, Prefix> _prefixes = new(StringComparer.Ordinal);

    /// <summary>A symlink met on the way: its path and its link text.</summary>
    public readonly record struct Hop(string LinkPath, string Target);

    /// <summary>
    /// The canonical path of <paramref name="path"/> (absolute), adding each link met to <paramref name="hops"/>
    /// in order. Null when a component is missing or a non-directory is traversed (<paramref name="errno"/>);
    /// a loop throws <see cref="ClosureException"/> (UnresolvablePath). <paramref name="endIsNotDirectory"/>
    /// says the caller already knows the path leads to an existing non-directory (it opened and read it): the
    /// last component is then asked with readlink alone — its text, or EINVAL for "not a link" — instead of an
    /// lstat followed by a readlink.
    /// </summary>
    public string? Resolve(string path, List<Hop>? hops, out bool isDirectory, out int errno, bool endIsNotDirectory = false)
    {
        string? real = ResolveWalk(path, hops, out isDirectory, out errno, endIsNotDirectory);
        // Every component of the walk was observed by the log this chain recorded into from its start: what
        // the kernel finds at path is what the walk found (see ObservationLog.Implied).
        if (real is not null && _log is not null && ObservationLog.Current == _log) _log.Resolved(path, real);
        return real;
    }

    /// <summary>The log active when this chain was made: its node cache holds only what that log observed.</summary>
    private readonly ObservationLog? _log = ObservationLog.Current;

    private string? ResolveWalk(string path, List<Hop>? hops, out bool isDirectory, out int errno, bool endIsNotDirectory)
    {
        isDirectory = false;
        errno = 0;
        if (path.Length == 0 || path[0] != '/')
            throw new ArgumentException($"not absolute: {path}", nameof(path));

        int slash = path.LastIndexOf('/');
        if (slash > 0 && IsPlainName(path.AsSpan(slash + 1)))
        {
            // Continue from the (cached) walk of the directory: the same steps the full walk would take.
            Prefix? dir;
            try { dir = WalkPrefix(path[..slash]); }
            catch (ClosureException) { dir = null; } // a loop: the full walk reports it for this path
            if (dir is not null)
            {
                hops?.AddRange(dir.Hops);
                if (dir.Current is null)
                {
                    errno = dir.Errno;
                    return null;
                }
                var rest = new Stack<string>(4);
                rest.Push(path[(slash + 1)..]);
                return Walk(path, rest, dir.Current, dir.LastKind, dir.Hops.Length, hops, endIsNotDirectory, out isDirectory, out errno);
            }
        }

        // Pending components are kept reversed on a stack so link targets can be pushed in front.
        var pending = new Stack<string>();
        PushComponents(pending, path);
        return Walk(path, pending, "/", NodeKind.Directory, 0, hops, endIsNotDirectory, out isDirectory, out errno);
    }

    private static bool IsPlainName(ReadOnlySpan<char> name) =>
        name.Length != 0 && !name.SequenceEqual(".") && !name.SequenceEqual("..");

    private Prefix WalkPrefix(string dir)
    {
        if (_prefixes.TryGetValue(dir, out var known)) return known;
        var hops = new List<Hop>();
        string? current = ResolveWalk(dir, hops, out bool isDirectory, out int errno, endIsNotDirectory: false);
        // A walk continuing below a non-directory fails with ENOTDIR, as NodeKind.Other makes it.
        var prefix = new Prefix(current, isDirectory ? NodeKind.Directory : NodeKind.Other, errno, hops.ToArray());
        _prefixes[dir] = prefix;
        return prefix;
    }

    private string? Walk(string path, Stack<string> pending, string current, NodeKind lastKind, int hopsTaken,
        List<Hop>? hops, bool endIsNotDirectory, out bool isDirectory, out int errno)
    {
        isDirectory = false;
        errno = 0;
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
            // The component that ends the walk (nothing pending after it) is the known file unless it is a link.
            var node = endIsNotDirectory && pending.Count == 0 ? LookupEnd(candidate) : Lookup(candidate);
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

    /// <summary>A component known to be a link or an existing non-directory: one readlink tells which.</summary>
    private Node LookupEnd(string path)
    {
        if (_nodes.TryGetValue(path, out var node)) return node;
        string? target = Libc.ReadLink(path, out int e);
        node = target is not null
            ? (target.Length == 0 ? new Node(NodeKind.Missing, null, Libc.ENOENT) : new Node(NodeKind.Symlink, target, 0))
            : e == Libc.EINVAL ? new Node(NodeKind.Other, null, 0) : new Node(NodeKind.Missing, null, e);
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
