namespace ConfineExec.Launcher.Planning;

/// <summary>
/// One step of building the confined root, as data. Paths named <c>Dest</c>/<c>Path</c> are absolute paths
/// <em>inside the new root</em> (resolved there, never escaping it); <c>Source</c> paths are host paths.
/// The executor runs the ops in order; <c>--dry-run</c> prints them one per line via <see cref="ToString"/>.
/// </summary>
public abstract record SetupOp
{
    /// <summary>The one-line form printed by --dry-run, e.g. <c>bind-ro /usr/lib/x/libc.so.6</c>.</summary>
    public abstract override string ToString();
}

/// <summary>A fresh tmpfs that becomes <c>/</c> (mode 0755, nosuid, nodev). Always the first op.</summary>
public sealed record RootTmpfsOp(int Mode = 0x1ed /* 0755 */) : SetupOp
{ public override string ToString() => $"root-tmpfs mode={Convert.ToString(Mode, 8)}"; }

/// <summary>mkdir -p inside the root (each created component gets <see cref="Mode"/>, umask 0).</summary>
public sealed record MakeDirOp(string Path, int Mode = 0x1ed) : SetupOp
{ public override string ToString() => $"mkdir {Path} mode={Convert.ToString(Mode, 8)}"; }

/// <summary>symlink(Target, Path) inside the root; parents created 0755.</summary>
public sealed record SymlinkOp(string Target, string Path) : SetupOp
{ public override string ToString() => $"symlink {Path} -> {Target}"; }

/// <summary>Bind <see cref="Source"/> (host, opened once O_PATH) at <see cref="Dest"/>, recursively unless
/// <see cref="Recursive"/> is false. A missing mount point is created as an empty dir (0755) or file (0444)
/// matching the source. ReadOnly adds MS_RDONLY recursively while keeping nosuid/nodev/noexec of the source.
/// <see cref="AllowMissing"/>: skip silently when the source does not exist (systemd's <c>-</c> prefix).</summary>
public sealed record BindOp(string Source, string Dest, bool ReadOnly, bool Recursive = true, bool AllowMissing = false) : SetupOp
{
    /// <summary>What the planner saw at <see cref="Source"/> (the closure's entry kind, or the host lookup that
    /// resolved it); not printed. Known, it spares the executor a statx of the source, and a source whose type
    /// changed since fails the mount instead.</summary>
    public BindSourceKind SourceKind { get; init; }

    public override string ToString() =>
        $"{(ReadOnly ? "bind-ro" : "bind-rw")} {Source}{(Dest == Source ? "" : " -> " + Dest)}{(Recursive ? "" : " norbind")}{(AllowMissing ? " if-exists" : "")}";
}

/// <summary>A bind source's type as planned: a directory, anything else (a file, a device node), or not known
/// (absent, a dangling link, a test's hand-built op).</summary>
public enum BindSourceKind { Unknown, File, Directory }

/// <summary>Mount a fresh procfs at Dest (nosuid,nodev,noexec). If the kernel refuses (unprivileged without a pid
/// namespace) and <see cref="AllowHostBindFallback"/>, recursively bind the host's /proc instead.</summary>
public sealed record ProcOp(string Dest = "/proc", bool AllowHostBindFallback = true) : SetupOp
{ public override string ToString() => $"proc {Dest}{(AllowHostBindFallback ? " fallback=rbind-host" : "")}"; }

/// <summary>Recursive bind of the host's /sys at Dest (systemd's BIND_SYSFS), noexec; read-only unless
/// <see cref="ReadOnly"/> is false (ProtectKernelTunables=no).</summary>
public sealed record SysfsOp(string Dest = "/sys", bool ReadOnly = true) : SetupOp
{ public override string ToString() => $"sysfs {Dest} rbind-host {(ReadOnly ? "ro" : "rw")}"; }

/// <summary>A tmpfs at Dest with the given mode and MS_* flags (nosuid/nodev/noexec as booleans).</summary>
public sealed record TmpfsOp(string Dest, int Mode, bool NoSuid = true, bool NoDev = true, bool NoExec = false, string? Size = null) : SetupOp
{
    public override string ToString() =>
        $"tmpfs {Dest} mode={Convert.ToString(Mode, 8)}{(NoSuid ? " nosuid" : "")}{(NoDev ? " nodev" : "")}{(NoExec ? " noexec" : "")}{(Size is null ? "" : " size=" + Size)}";
}

/// <summary>A device node at Path: mknod(char, Major:Minor, 0666) as root; where mknod is refused (user
/// namespace), bind the host node <see cref="HostPath"/> instead.</summary>
public sealed record DeviceNodeOp(string Path, uint Major, uint Minor, string HostPath, int Mode = 0x1b6 /* 0666 */) : SetupOp
{ public override string ToString() => $"dev {Path} c {Major}:{Minor} mode={Convert.ToString(Mode, 8)} fallback=bind {HostPath}"; }

/// <summary>A new devpts instance at Dest (newinstance,ptmxmode=0666,mode=620); fallback: bind host /dev/pts.</summary>
public sealed record DevptsOp(string Dest) : SetupOp
{ public override string ToString() => $"devpts {Dest}"; }

/// <summary>A new mqueue file system at Dest; fallback: bind the host's /dev/mqueue, or skip if neither works.</summary>
public sealed record MqueueOp(string Dest) : SetupOp
{ public override string ToString() => $"mqueue {Dest}"; }

/// <summary>Make Dest read-only (recursively unless told otherwise) with MS_BIND|MS_REMOUNT|MS_RDONLY (or
/// mount_setattr), keeping its other flags. <see cref="IfExists"/>: skip when Dest does not exist in the root.</summary>
public sealed record RemountReadOnlyOp(string Dest, bool Recursive = true, bool IfExists = false) : SetupOp
{ public override string ToString() => $"remount-ro {Dest}{(Recursive ? " recursive" : "")}{(IfExists ? " if-exists" : "")}"; }

/// <summary>Make Dest inaccessible (systemd's InaccessiblePaths): over a directory an empty read-only tmpfs
/// mode 0000, over a file a bind of an empty 0000 file. <see cref="IfExists"/>: skip when absent.</summary>
public sealed record InaccessibleOp(string Dest, bool IfExists = true) : SetupOp
{ public override string ToString() => $"inaccessible {Dest}{(IfExists ? " if-exists" : "")}"; }

/// <summary>chmod inside the root (for /tmp 1777 and similar after mounting).</summary>
public sealed record ChmodOp(string Path, int Mode) : SetupOp
{ public override string ToString() => $"chmod {Path} {Convert.ToString(Mode, 8)}"; }
