using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>
/// The identity and version of the file a path names, as one <c>statx</c> reports it: what fixes everything the
/// closure scan can learn through that path. A file's bytes are fixed by (device, inode, size, mtime, ctime) —
/// any write moves ctime, and an inode reused for a new file gets a new ctime; a symlink's text by its lstat
/// stamp (links are never rewritten in place); an access(2) answer by mode, owner and group (with the caller's
/// credentials, which the cache key holds).
/// </summary>
internal readonly record struct FileStamp(uint DevMajor, uint DevMinor, ulong Ino, uint Mode, uint Uid, uint Gid,
    long Size, long MtimeNs, long CtimeNs)
{
    /// <summary>Bytes of a stamp in a cache file.</summary>
    public const int EncodedSize = 4 + 4 + 8 + 4 + 4 + 4 + 8 + 8 + 8;

    public bool IsDirectory => (Mode & Libc.S_IFMT) == Libc.S_IFDIR;

    public static FileStamp From(in Libc.StatxBuffer b) => new(b.DevMajor, b.DevMinor, b.Ino, b.Mode, b.Uid, b.Gid,
        (long)b.Size, b.MtimeSec * 1_000_000_000 + b.MtimeNsec, b.CtimeSec * 1_000_000_000 + b.CtimeNsec);

    /// <summary>From a <c>struct stat</c>: the device number split as glibc's <c>major</c>/<c>minor</c> do,
    /// so a stamp from stat, fstat or statx of the same file is the same stamp.</summary>
    public static FileStamp From(in Libc.StatBuffer b)
    {
        ulong dev = b.Dev;
        uint major = (uint)((dev >> 8) & 0xfff) | ((uint)(dev >> 32) & ~0xfffu);
        uint minor = (uint)(dev & 0xff) | ((uint)(dev >> 12) & ~0xffu);
        return new FileStamp(major, minor, b.Ino, b.Mode, b.Uid, b.Gid, b.Size,
            b.MtimeSec * 1_000_000_000 + b.MtimeNsec, b.CtimeSec * 1_000_000_000 + b.CtimeNsec);
    }

    /// <summary>What is compared for a directory that was only stat'ed, opened or walked through, never listed:
    /// the scan learnt its kind (and, for access, its mode), nothing that adding or removing an entry changes.
    /// Entries the scan looked up inside it are observations of their own.</summary>
    public FileStamp WithoutContentVersion() => this with { Size = 0, MtimeNs = 0, CtimeNs = 0 };
}
