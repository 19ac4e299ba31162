namespace ConfineExec.Elf;

/// <summary>How a path was observed.</summary>
[Flags]
internal enum ObservationFlags : byte
{
    None = 0,
    /// <summary>The last component was followed (stat, open, access); else not (lstat, readlink).</summary>
    Follow = 1,
    /// <summary>The directory's entries matter (it was listed, or links inside it are answered by it): its
    /// content version (mtime, ctime) is compared too.</summary>
    Listing = 2,
}

/// <summary>One file-system fact the scan depended on: the result of one <c>statx</c> of
/// <see cref="Path"/> — an errno, or a stamp.</summary>
internal readonly record struct Observation(string Path, ObservationFlags Flags, int Errno, FileStamp Stamp)
{
    public bool Follow => (Flags & ObservationFlags.Follow) != 0;

    /// <summary>The stamp as compared: a directory that was not listed without its content version.</summary>
    public static FileStamp Comparable(FileStamp stamp, ObservationFlags flags) =>
        stamp.IsDirectory && (flags & ObservationFlags.Listing) == 0 ? stamp.WithoutContentVersion() : stamp;

    /// <summary>True when a live statx answer (<paramref name="errno"/>, <paramref name="stamp"/>) is this one.</summary>
    public static bool Same(int recordedErrno, in FileStamp recorded, ObservationFlags flags, int errno, in FileStamp stamp)
    {
        if (recordedErrno != 0 || errno != 0) return recordedErrno == errno;
        return Comparable(recorded, flags) == Comparable(stamp, flags);
    }

    /// <summary>True when the file may still change without changing its stamp: its mtime or ctime lies within
    /// <paramref name="windowNs"/> of <paramref name="nowNs"/> (or after it). File systems stamp times from a
    /// coarse clock, so two writes in one tick leave the same stamp; a file last changed long enough ago cannot
    /// be changed again without a newer ctime.</summary>
    public bool IsRecent(long nowNs, long windowNs)
    {
        if (Errno != 0 || (Stamp.IsDirectory && (Flags & ObservationFlags.Listing) == 0)) return false;
        long since = nowNs - windowNs;
        return Stamp.MtimeNs >= since || Stamp.CtimeNs >= since;
    }
}
