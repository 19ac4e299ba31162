using System.Runtime.InteropServices;

namespace ConfineExec.Launcher.Execution;

/// <summary>What one native step does. The child interprets these; see <see cref="StepInterpreter"/>.</summary>
internal enum ChildOp
{
    ParentDeathSignal, ResetSignals, OpenProcSelf, CloseProcSelf, Unshare, WriteFile, MakeRootSlave,
    RootTmpfs, MakeDir, Symlink, Bind, Proc, Sysfs, Tmpfs, DeviceNode, Devpts, Mqueue, RemountReadOnly,
    Inaccessible, Chmod, RootReadOnly, PivotRoot, Chdir,
    SetGroups, SetResGid, UserNamespaceFromParent, DropBoundingCap, SetResUid, ClearCapabilities,
    NoNewPrivileges, Umask, SetSid, CloseFds, DefaultSigpipe, Exec,
}

/// <summary>Flag bits of <see cref="ChildStep.Flags"/>.</summary>
[Flags]
internal enum StepFlags
{
    None = 0,
    ReadOnly = 1,
    Recursive = 2,
    AllowMissing = 4,
    Fallback = 8,
    NoSuid = 16,
    NoDev = 32,
    NoExec = 64,
    /// <summary>WriteFile: Path is relative to the host's /proc/self directory opened by OpenProcSelf.</summary>
    InProcSelf = 128,
    /// <summary>Bind: the planner saw the source as a non-directory (SourceFile) or a directory (SourceDirectory).</summary>
    SourceFile = 256,
    SourceDirectory = 512,
}

/// <summary>
/// One fixed-size step in native memory. Every pointer is a NUL-terminated UTF-8 string (or array) the parent
/// allocated before forking; the child only reads them.
/// <code>
///  0 Op    4 Flags   8 Mode   12 Count   16 Arg (long)
/// 24 Path (dest inside the root, or a host file)   32 Parent (dest's parent dir)   40 Leaf (dest's last name)
/// 48 Source (host source, symlink target, data)    56 Data (argv / gid_t[] / size)  64 Data2 (envp)
/// </code>
/// A Bind step's Data is its source's parent directory (one copy shared by consecutive steps with the same
/// parent, null for the source "/") and Data2 its last name (into Source's bytes).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ChildStep
{
    public ChildOp Op;
    public StepFlags Flags;
    public int Mode;
    public int Count;
    public long Arg;
    public byte* Path;
    public byte* Parent;
    public byte* Leaf;
    public byte* Source;
    public void* Data;
    public void* Data2;
}

/// <summary>The child's whole world: the steps, its descriptors, and where it records a failure.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ChildProgram
{
    public ChildStep* Steps;
    public int StepCount;
    /// <summary>Close-on-exec pipe to the parent (-1 in process): failure reports and the userns handshake.</summary>
    public int ReportFd;
    /// <summary>Parent → child pipe for the AfterMounts handshake (-1 when unused).</summary>
    public int SyncReadFd;
    /// <summary>The detached root tmpfs (set by RootTmpfs).</summary>
    public int RootFd;
    /// <summary>1 while openat2 works; 0 after ENOSYS (or forced) selects the O_NOFOLLOW walk.</summary>
    public int UseOpenat2;
    /// <summary>1 until open_tree_attr is refused (ENOSYS/EINVAL before Linux 6.15): then open_tree + mount_setattr.</summary>
    public int UseOpenTreeAttr;
    /// <summary>The last mount point's parent directory, kept open for the next step under the same parent
    /// (<see cref="ParentPath"/>), or -1. Dropped before any step that could change what that path resolves to.</summary>
    public int ParentFd;
    public byte* ParentPath;
    /// <summary>The host's /proc/self directory (O_PATH), opened before the mounts so the child can write its own
    /// user-namespace maps after pivot_root, when the new root may have no /proc; -1 when not open.</summary>
    public int ProcSelfFd;
    /// <summary>The signal mask to restore before exec (the parent's, saved before it blocked everything).</summary>
    public ulong SavedSignalMask;
    /// <summary>The last bind source's parent directory (opened on the host with no symlink on the way), kept open
    /// for the next bind out of the same directory (<see cref="SourceDirPath"/>), or -1. Closed at pivot_root.</summary>
    public int SourceDirFd;
    public byte* SourceDirPath;
    /// <summary>An unnamed empty 0444 file in the root tmpfs (O_TMPFILE) that file mount points are hard links
    /// of; -1 until the first is made, -2 once linking is refused (then each is its own mknodat).</summary>
    public int MountPointFileFd;
    /// <summary>In process: the caller's CPU mask (<see cref="AffinityBytes"/> long), set again right before execve
    /// because <see cref="RuntimeThreads.GatherOntoThisCpu"/> held this thread on one CPU; null when unchanged.</summary>
    public byte* Affinity;
    public int AffinityBytes;
    public int FailedStep;
    /// <summary>What failed: <see cref="ChildFailure"/> encoding (syscall number + which path).</summary>
    public int FailedWhat;
    public int FailedErrno;
}

/// <summary>The 12-byte record the child writes to <see cref="ChildProgram.ReportFd"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ChildReport
{
    public int Step;
    /// <summary><see cref="ChildFailure"/> value, or <see cref="ChildFailure.UserNamespaceReady"/>.</summary>
    public int What;
    public int Errno;

    public const int Size = 12;
}

/// <summary>Encoding of <see cref="ChildProgram.FailedWhat"/>: low 16 bits a syscall number (or one of the
/// pseudo-syscalls below), bits 16+ which path of the step to name (0 none, 1 Path, 2 Source).</summary>
internal static class ChildFailure
{
    public const int NamePath = 1 << 16, NameSource = 2 << 16;
    public const int RefusedSymlink = 1000, ParentDied = 1001, SyncFailed = 1002, TooLong = 1003;
    public const int UserNamespaceReady = -1;
}
