namespace ConfineExec.Elf;

/// <summary>One loaded object of the emulated process, the part of glibc's <c>struct link_map</c> that lookup uses.</summary>
internal sealed class LinkMap
{
    /// <summary><c>l_name</c>: the path it was opened as ("" for the kernel-loaded main program).</summary>
    public required string Name { get; init; }
    /// <summary>The absolute host path opened (what the closure binds).</summary>
    public required string HostPath { get; init; }
    /// <summary><c>l_libname</c>: names it was requested by (plus its SONAME once matched by it).</summary>
    public List<string> Names { get; } = new(2);
    public required ElfObject Elf { get; init; }
    /// <summary><c>l_loader</c>: the object whose request first loaded this one (null for main, preloads' is main).</summary>
    public LinkMap? Loader { get; init; }
    /// <summary><c>l_origin</c>: the directory <c>$ORIGIN</c> expands to.</summary>
    public required string Origin { get; init; }
    public ulong Dev { get; init; }
    public ulong Ino { get; init; }
    public bool IsMain { get; init; }

    private SearchPath? _rpath, _runpath;
    private bool _rpathDone, _runpathDone;

    /// <summary>DT_RPATH, ignored when DT_RUNPATH is present (glibc's get-dynamic-info).</summary>
    public SearchPath? RPath(InterpreterProfile p)
    {
        if (!_rpathDone)
        {
            _rpathDone = true;
            if (Elf.RunPath is null && Elf.RPath is not null)
                _rpath = SearchPath.Parse(Elf.RPath, [':'], Origin, p.DstLib, p.Platform, "RPATH");
        }
        return _rpath;
    }

    public SearchPath? RunPath(InterpreterProfile p)
    {
        if (!_runpathDone)
        {
            _runpathDone = true;
            if (Elf.RunPath is not null)
                _runpath = SearchPath.Parse(Elf.RunPath, [':'], Origin, p.DstLib, p.Platform, "RUNPATH");
        }
        return _runpath;
    }

    public bool NoDefaultLib => (Elf.Flags1 & ElfObject.DF_1_NODEFLIB) != 0;
}
