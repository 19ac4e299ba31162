using System.Runtime.InteropServices;

namespace ConfineExec.Launcher.Interop;

// mount(2), umount2(2) and the new mount API (fsopen, fsconfig, fsmount, open_tree, move_mount, mount_setattr).
// The executor uses the new API throughout: a detached tmpfs root with no host path, binds by descriptor
// (open_tree), read-only via mount_setattr (which only adds flags, so nosuid/nodev/noexec of a source survive).
// Classic mount(2) is used only for propagation changes, never as a bare MS_REMOUNT.
internal static unsafe partial class Libc
{
    internal const long SYS_mount = 165, SYS_umount2 = 166, SYS_open_tree = 428, SYS_move_mount = 429,
        SYS_fsopen = 430, SYS_fsconfig = 431, SYS_fsmount = 432, SYS_mount_setattr = 442, SYS_open_tree_attr = 467;

    internal const long MS_BIND = 0x1000, MS_REC = 0x4000, MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19;
    internal const int MNT_DETACH = 2;

    internal const int OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = O_CLOEXEC;
    internal const int MOVE_MOUNT_F_EMPTY_PATH = 0x04, MOVE_MOUNT_T_EMPTY_PATH = 0x40;
    internal const int FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1;
    internal const int FSCONFIG_SET_FLAG = 0, FSCONFIG_SET_STRING = 1, FSCONFIG_CMD_CREATE = 6;
    internal const long MOUNT_ATTR_RDONLY = 0x1, MOUNT_ATTR_NOSUID = 0x2, MOUNT_ATTR_NODEV = 0x4, MOUNT_ATTR_NOEXEC = 0x8;

    /// <summary>struct mount_attr (linux/mount.h), 32 bytes: attr_set, attr_clr, propagation, userns_fd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct mount_attr
    {
        public ulong attr_set;
        public ulong attr_clr;
        public ulong propagation;
        public ulong userns_fd;
    }
}
