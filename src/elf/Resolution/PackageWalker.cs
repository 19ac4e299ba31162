using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>
/// <c>--package PATH</c>: a file brings itself and its closure; a symlink its chain and its target's closure;
/// a Nix store path is bound whole; any other directory is bound whole and walked: every ELF object or
/// executable script inside gets its closure, and a symlink inside whose target lies outside the directory
/// brings that target along (walked the same way), transitively.
/// </summary>
internal sealed class PackageWalker
{
    private readonly ResolutionContext _ctx;
    private readonly ProgramWalker _programs;
    private readonly HashSet<string> _walkedDirs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _doneFiles = new(StringComparer.Ordinal);

    public PackageWalker(ResolutionContext ctx, ProgramWalker programs)
    {
        _ctx = ctx;
        _programs = programs;
    }

    public void Add(string path)
    {
        if (Libc.LStat(path, out _) != 0)
            throw new ClosureException(ClosureError.UnresolvablePath, path, $"package: {path}: no such file or directory");
        AddPath(path, "package", null, root: true);
    }

    private void AddPath(string path, string reason, string? neededBy, bool root)
    {
        string? real = _ctx.Collector.AddPath(path, reason, neededBy, wholeDirectory: true);
        if (real is null)
        {
            if (root) throw new ClosureException(ClosureError.UnresolvablePath, path, $"package: {path}: dangling symlink");
            _ctx.Warn($"package: {path}: dangling symlink");
            return;
        }
        if (Libc.Stat(real, out var st) != 0) return;
        if ((st.Mode & Libc.S_IFMT) == Libc.S_IFDIR)
        {
            if (NixStore.StorePathOf(real) is { } store && store == real) return;
            if (_walkedDirs.Add(real)) WalkDirectory(real);
        }
        else if ((st.Mode & Libc.S_IFMT) == Libc.S_IFREG) AddFile(real, st.Mode, root);
    }

    private void AddFile(string real, uint mode, bool root)
    {
        if (!_doneFiles.Add(real)) return;
        Span<byte> head = stackalloc byte[Shebang.BufferSize];
        int n = ProgramWalker.ReadHead(real, head);
        if (n < 4) return;
        head = head[..n];
        if (ElfObject.HasElfMagic(head))
        {
            try
            {
                _programs.AddElf(real, head, real, "package", allowMissing: !root || _ctx.AllowMissing, executable: false);
            }
            catch (ElfFormatException e) when (!root)
            {
                _ctx.Warn($"package: {real}: {e.Message}");
            }
        }
        else if (head[0] == '#' && head[1] == '!' && (mode & 0x49) != 0)
            _programs.AddProgram(real, "package", null, nesting: 0);
    }

    private void WalkDirectory(string dir)
    {
        var pending = new Stack<string>();
        pending.Push(dir);
        string inside = dir == "/" ? "/" : dir + "/";
        while (pending.Count > 0)
        {
            string current = pending.Pop();
            IEnumerable<string> names;
            ObservationLog.Current?.Listed(current);
            try { names = Directory.EnumerateFileSystemEntries(current); }
            catch (UnauthorizedAccessException) { _ctx.Warn($"package: {current}: permission denied"); continue; }
            foreach (var entry in names)
            {
                if (Libc.LStat(entry, out var st) != 0) continue;
                uint type = st.Mode & Libc.S_IFMT;
                if (type == Libc.S_IFDIR) pending.Push(entry);
                else if (type == Libc.S_IFREG) AddFile(entry, st.Mode, root: false);
                else if (type == Libc.S_IFLNK)
                {
                    string? target = _ctx.Collector.Links.Resolve(entry, null, out _, out _);
                    if (target is null) { _ctx.Warn($"package: {entry}: dangling symlink"); continue; }
                    if (target == dir || target.StartsWith(inside, StringComparison.Ordinal)) continue;
                    AddPath(entry, "package link target", entry, root: false);
                }
            }
        }
    }
}
