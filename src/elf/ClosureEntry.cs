namespace ConfineExec.Elf;

public enum ClosureEntryKind
{
    /// <summary>A regular file (or device/other non-directory) bound read-only at its own path.</summary>
    File,
    /// <summary>A symlink met on the way to a closure path; recreated inside the root with the same target.</summary>
    Symlink,
    /// <summary>A directory bound whole (a Nix store path, a package directory).</summary>
    Directory,
}

/// <summary>
/// One path the confined root must contain. <see cref="Path"/> is absolute and normalised (no <c>.</c>,
/// <c>..</c>, duplicate or trailing slashes). For a symlink, <see cref="Target"/> is the link text exactly
/// as <c>readlink</c> returned it (relative targets stay relative). For a <see cref="ClosureEntryKind.File"/>
/// entry, <see cref="Target"/> is normally null (the host file at <see cref="Path"/> is bound at the same path);
/// when set, it is the host source to bind at <see cref="Path"/> instead — how <c>/bin/sh</c> is represented
/// (Path <c>/bin/sh</c>, Target the fully resolved program, itself also an entry with its closure).
/// Entries strictly inside a bound <see cref="ClosureEntryKind.Directory"/> are not listed.
/// </summary>
/// <param name="Reason">Why it is in: <c>program</c>, <c>interpreter</c> (PT_INTERP), <c>needed via RUNPATH</c>,
/// <c>needed via RPATH</c>, <c>needed via LD_LIBRARY_PATH</c>, <c>needed via ld.so.cache</c>,
/// <c>needed via default path</c>, <c>needed by path</c>, <c>shebang</c>, <c>symlink hop</c>, <c>/bin/sh</c>,
/// <c>package</c>, <c>ld.so.cache</c>, …</param>
/// <param name="NeededBy">The path of the object or script that caused this entry, or null for roots.</param>
public sealed record ClosureEntry(string Path, ClosureEntryKind Kind, string? Target, string Reason, string? NeededBy);
