using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>
/// Adds what exec'ing a file needs: the file and its link chain; for a <c>#!</c> script its interpreter chain
/// (kernel rules, <c>env NAME</c> through the target PATH); for a dynamic ELF program its interpreter and
/// every object ld.so would load (<see cref="LibrarySearch"/>); for ld.so.cache its use when needed.
/// </summary>
internal sealed class ProgramWalker
{
    private readonly ResolutionContext _ctx;
    private readonly string? _targetPath;
    private readonly bool _allowMissing;
    private readonly HashSet<string> _doneReal = new(StringComparer.Ordinal);
    private int _envDepth;

    public ProgramWalker(ResolutionContext ctx, string? targetPath, bool allowMissing)
    {
        _ctx = ctx;
        _targetPath = targetPath;
        _allowMissing = allowMissing;
    }

    /// <summary>True when an exec'd ELF program uses <c>$ORIGIN</c> of the main executable.</summary>
    public bool UsesOrigin { get; private set; }

    /// <summary>Adds an executable (absolute host path, may hold links). <paramref name="located"/>: found by
    /// <see cref="ProgramLocator"/>, which saw a regular file there.</summary>
    public void AddProgram(string path, string reason, string? neededBy, int nesting, List<string>? chain = null, bool located = false)
    {
        string real = _ctx.Collector.AddPath(path, reason, neededBy, isNotDirectory: located)
            ?? throw new ClosureException(ClosureError.ProgramNotFound, path, $"{Kind(reason)}: {path}: no such file or directory");
        // One open serves both the kind test and, for an ELF program, the whole read: the head read here is
        // the reader's first read too.
        Span<byte> head = stackalloc byte[Reading.ElfObjectReader.HeadSize];
        int fd = Libc.OpenReadOnly(real);
        int n = fd;
        if (fd >= 0)
        {
            n = Libc.PRead(fd, head, 0);
            if (n >= 0 && ElfObject.HasElfMagic(head[..n]))
            {
                if (_doneReal.Add(real))
                    AddElf(real, head[..n], path, reason, allowMissing: _allowMissing, executable: true, openFd: fd);
                else Libc.close(fd);
                return;
            }
            Libc.close(fd);
        }
        if (n < 0)
            throw new ClosureException(ClosureError.ProgramNotExecutable, path, $"{Kind(reason)}: {path}: cannot read: errno {-n}");
        head = head[..n];

        var shebang = Shebang.TryParse(head)
            ?? throw new ClosureException(ClosureError.ProgramNotExecutable, path, $"{Kind(reason)}: {path}: not an ELF file or #! script");
        chain ??= new List<string>();
        chain.Add(real);
        if (nesting > ClosureBuilder.MaxShebangNesting)
        {
            string loop = chain.IndexOf(real) < chain.Count - 1 ? "shebang loop" : "shebang nesting deeper than 4";
            throw new ClosureException(ClosureError.ShebangTooDeep, chain[0], $"{loop}: {chain[0]}: {string.Join(" -> ", chain)}");
        }
        string interp = SymlinkChain.Tidy(SymlinkChain.Join(_ctx.WorkingDirectory, shebang.Interpreter));
        if (Libc.Stat(interp, out _) != 0)
            throw new ClosureException(ClosureError.ProgramNotExecutable, path, $"{Kind(reason)}: {path}: bad interpreter {shebang.Interpreter}: no such file or directory");
        AddProgram(interp, "shebang", real, nesting + 1, chain);

        if (IsEnv(interp) && Shebang.EnvCommand(shebang.Argument) is { } command)
        {
            if (++_envDepth > 16)
                throw new ClosureException(ClosureError.ShebangTooDeep, path, $"shebang loop: {path}: env chain deeper than 16");
            string target = ProgramLocator.Locate(command, _targetPath, _ctx.WorkingDirectory, "env command");
            AddProgram(target, "env command", real, nesting: 0, located: true);
            _envDepth--;
        }
    }

    private static string Kind(string reason) => reason switch
    {
        "program" => "program",
        "/bin/sh" => "bin-sh",
        _ => reason,
    };

    private static bool IsEnv(string interp)
    {
        int slash = interp.LastIndexOf('/');
        return interp.AsSpan(slash + 1).SequenceEqual("env");
    }

    /// <summary>
    /// Adds the loader's view of an ELF file at canonical <paramref name="real"/>: for a program with PT_INTERP
    /// the interpreter and its libraries; for a shared library (a package's content) the libraries it needs,
    /// resolved as <c>ld.so --list</c> on it would.
    /// <paramref name="openFd"/>: the file already open (closed here), <paramref name="head"/> then its first
    /// <see cref="Reading.ElfObjectReader.HeadSize"/> bytes; -1 to open it here.
    /// </summary>
    public void AddElf(string real, ReadOnlySpan<byte> head, string path, string reason, bool allowMissing, bool executable, int openFd = -1)
    {
        int fd = openFd >= 0 ? openFd : Libc.OpenReadOnly(real);
        if (fd < 0)
            throw new ClosureException(ClosureError.ProgramNotExecutable, path, $"{Kind(reason)}: {path}: cannot open: errno {-fd}");
        ElfObject elf;
        int err;
        Libc.StatBuffer st;
        try
        {
            err = Libc.FStat(fd, out st);
            if (ElfObject.CheckCompatibility(head, st.Size, out string problem) != ElfCompatibility.Compatible)
            {
                if (!executable) return; // foreign objects in a package are bound, not resolved
                throw new ClosureException(ClosureError.ProgramNotExecutable, path, $"{Kind(reason)}: {path}: {problem}");
            }
            elf = Reading.ElfObjectReader.Read(fd, st.Size, openFd >= 0 ? head : default, real);
        }
        finally
        {
            Libc.close(fd);
        }
        if (!elf.HasDynamic && elf.Interpreter is null) return;

        string interpString = elf.Interpreter ?? ClosureBuilder.DefaultInterpreter;
        string interpHost = SymlinkChain.Tidy(SymlinkChain.Join(_ctx.WorkingDirectory, interpString));
        string? interpReal = elf.Interpreter is not null
            ? _ctx.Collector.AddPath(interpHost, "interpreter", real)
            : _ctx.Collector.Links.Resolve(interpHost, null, out _, out _);
        if (interpReal is null)
        {
            if (elf.Interpreter is null) return;
            string line = $"missing interpreter: {interpString}: needed by {real}: no such file or directory";
            if (!allowMissing) throw new ClosureException(ClosureError.MissingLibrary, interpString, line);
            _ctx.Missing(interpString, line);
            return;
        }
        if (!elf.HasDynamic) return;
        var search = LibrarySearch.Run(_ctx, elf, real, err == 0 ? st.Dev : 0, err == 0 ? st.Ino : 0,
            interpString, interpHost, interpReal, allowMissing, preload: executable);
        if (executable) UsesOrigin |= search.MainUsesOrigin;
        if (search.NeedsCache && search.CachePath is { } cache)
            _ctx.Collector.AddPath(cache, "ld.so.cache", real);
    }

    /// <summary>Reads up to the buffer's size from the start of <paramref name="path"/>: bytes read or -errno.</summary>
    internal static int ReadHead(string path, Span<byte> buffer)
    {
        int fd = Libc.OpenReadOnly(path);
        if (fd < 0) return fd;
        try { return Libc.PRead(fd, buffer, 0); }
        finally { Libc.close(fd); }
    }
}
