using System.Runtime.InteropServices;
using System.Text;

namespace ConfineExec.Launcher.Execution;

/// <summary>
/// A compiled plan: the <see cref="ChildProgram"/> and everything it points to, in native memory allocated
/// before the child starts (forked or sharing memory), plus (managed, parent-only) the description of each step
/// for error messages.
/// </summary>
internal sealed unsafe class NativeProgram : IDisposable
{
    private readonly List<nint> _blocks = [];
    private byte* _arena;
    private int _arenaLeft;
    private const int ArenaBlock = 16 * 1024;
    private readonly List<StepInfo> _infos;
    private readonly List<ChildStep> _pending;
    private byte* _shared;
    private int _sharedLength;

    /// <param name="steps">The expected step count: both lists are sized once (3000 binds grew them through
    /// twelve copies, 150 page faults of garbage).</param>
    public NativeProgram(int steps = 0)
    {
        _infos = new List<StepInfo>(steps);
        _pending = new List<ChildStep>(steps);
    }

    /// <summary>How to describe step i in an error: its name and the paths it names.</summary>
    internal readonly record struct StepInfo(string Name, string? Path, string? Source);

    public ChildProgram* Program { get; private set; }

    /// <summary>The child asks the parent to write its user-namespace maps (UserNamespaceFromParent): it must be
    /// forked, since the parent runs while the child waits. Set by the compiler.</summary>
    public bool NeedsParent { get; set; }
    public IReadOnlyList<StepInfo> Infos => _infos;

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/> (null stays null).</summary>
    public byte* Utf8(string? text)
    {
        if (text is null)
            return null;
        int n = Encoding.UTF8.GetByteCount(text);
        byte* p = (byte*)Alloc(n + 1);
        Encoding.UTF8.GetBytes(text, new Span<byte>(p, n));
        p[n] = 0;
        return p;
    }

    /// <summary>A NULL-terminated array of NUL-terminated strings (argv, envp).</summary>
    public byte** Utf8Array(ReadOnlySpan<string> items)
    {
        byte** a = (byte**)Alloc((items.Length + 1) * sizeof(byte*));
        for (int i = 0; i < items.Length; i++)
            a[i] = Utf8(items[i]);
        a[items.Length] = null;
        return a;
    }

    /// <summary>A NUL-terminated copy of the first <paramref name="length"/> bytes at <paramref name="bytes"/>.</summary>
    public byte* Copy(byte* bytes, int length)
    {
        byte* p = (byte*)Alloc(length + 1);
        new ReadOnlySpan<byte>(bytes, length).CopyTo(new Span<byte>(p, length));
        p[length] = 0;
        return p;
    }

    /// <summary><see cref="Copy"/>, except that bytes equal to the previous call's get that same copy back: the
    /// consecutive binds out of one source directory share one string, which the child compares by pointer.</summary>
    public byte* SharedCopy(byte* bytes, int length)
    {
        // Compared by the remembered length: reading the previous copy past its own end could leave its block.
        if (_shared != null && _sharedLength == length && new ReadOnlySpan<byte>(_shared, length).SequenceEqual(new ReadOnlySpan<byte>(bytes, length)))
            return _shared;
        _sharedLength = length;
        return _shared = Copy(bytes, length);
    }

    public uint* UIntArray(ReadOnlySpan<uint> items)
    {
        uint* a = (uint*)Alloc(Math.Max(1, items.Length) * sizeof(uint));
        for (int i = 0; i < items.Length; i++)
            a[i] = items[i];
        return a;
    }

    public void Add(ChildStep step, string name, string? path = null, string? source = null)
    {
        _pending.Add(step);
        _infos.Add(new StepInfo(name, path, source));
    }

    /// <summary>Copies the steps into one native array and builds the program header.</summary>
    public ChildProgram* Seal(int reportFd, int syncReadFd, ulong savedSignalMask, bool useOpenat2, bool useOpenTreeAttr = true)
    {
        var steps = (ChildStep*)Alloc(Math.Max(1, _pending.Count) * sizeof(ChildStep));
        for (int i = 0; i < _pending.Count; i++)
            steps[i] = _pending[i];
        var program = (ChildProgram*)Alloc(sizeof(ChildProgram));
        *program = new ChildProgram
        {
            Steps = steps,
            StepCount = _pending.Count,
            ReportFd = reportFd,
            SyncReadFd = syncReadFd,
            RootFd = -1,
            UseOpenat2 = useOpenat2 ? 1 : 0,
            UseOpenTreeAttr = useOpenTreeAttr ? 1 : 0,
            ParentFd = -1,
            ProcSelfFd = -1,
            SourceDirFd = -1,
            MountPointFileFd = LinkMountPoints() ? -1 : -2,
            SavedSignalMask = savedSignalMask,
        };
        Program = program;
        return program;
    }

    /// <summary>Tests force a mknodat per file mount point (the path of kernels that refuse the links, see
    /// StepInterpreter.MakeMountPointFile) with CONFINE_EXEC_TEST_NO_LINKED_MOUNT_POINTS=1.</summary>
    private static bool LinkMountPoints() => Environment.GetEnvironmentVariable("CONFINE_EXEC_TEST_NO_LINKED_MOUNT_POINTS") != "1";

    /// <summary>Zeroed native memory, 8-byte aligned, bump-allocated from 16 KiB blocks (one calloc per block,
    /// not per string: a plan with 3000 binds holds ~12,000 strings).</summary>
    private void* Alloc(int bytes)
    {
        int size = (bytes + 7) & ~7;
        if (size > ArenaBlock / 4)
        {
            void* own = NativeMemory.AllocZeroed((nuint)size);
            _blocks.Add((nint)own);
            return own;
        }
        if (size > _arenaLeft)
        {
            _arena = (byte*)NativeMemory.AllocZeroed(ArenaBlock);
            _blocks.Add((nint)_arena);
            _arenaLeft = ArenaBlock;
        }
        void* p = _arena;
        _arena += size;
        _arenaLeft -= size;
        return p;
    }

    public void Dispose()
    {
        foreach (nint p in _blocks)
            NativeMemory.Free((void*)p);
        _blocks.Clear();
        _arena = null;
        _arenaLeft = 0;
        Program = null;
    }
}
