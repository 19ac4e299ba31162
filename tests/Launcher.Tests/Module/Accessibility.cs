namespace ConfineExec.Launcher.Tests.Module;

/// <summary>checkperms.py's levels, ordered: an expected level is an upper bound (reference/systemd-confinement.md §2.2).</summary>
public enum Accessibility
{
    None = 0,
    Readable = 1,
    /// <summary>A device node, socket or FIFO the user may write, or a live procfs/sysfs (never descended into).</summary>
    Special = 2,
    /// <summary>A directory the user may create files in, with the sticky bit.</summary>
    Sticky = 3,
    Writable = 4,
}
