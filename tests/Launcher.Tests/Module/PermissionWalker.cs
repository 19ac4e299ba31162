using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Module;

/// <summary>
/// nixpkgs' checkperms.py walker, ported to a static C program compiled at test time (gcc -static), so it needs
/// no closure of its own and can be PROGRAM itself — as the module's test cases are the service's ExecStart.
/// It walks the root without following symlinks and prints, for every path, the most the running user can do:
/// a symlink is Readable; a directory is Writable/Sticky if a probe file can be created (then removed), else
/// Readable; a regular file is Writable if it opens for append (nothing is written), Readable if one byte reads;
/// other nodes are Special if access(W_OK), Readable if access(R_OK); a live procfs or sysfs is reported
/// apart (F) and not descended into. Unlike checkperms, every directory is checked itself, not only empty ones.
/// </summary>
public sealed class PermissionWalker : IDisposable
{
    private readonly SharedDirectory _dir = new();

    /// <summary>The compiled walker, in a directory every user can traverse (inside the root at the same path).</summary>
    public string Program { get; }

    public PermissionWalker()
    {
        string source = Path.Combine(_dir.Path, "walker.c");
        File.WriteAllText(source, Source);
        Program = Path.Combine(_dir.Path, "walker");
        RunResult gcc = ProcessRunner.Run(["gcc", "-static", "-O1", "-o", Program, source]);
        if (gcc.ExitCode != 0)
            throw new InvalidOperationException("gcc -static failed (libc6-dev provides libc.a):\n" + gcc);
        File.SetUnixFileMode(Program, (UnixFileMode)0x1ed);
    }

    /// <summary>A walker report: the ids the walker ran with and the level of every path it met.</summary>
    public sealed record Report(uint Uid, uint Gid, IReadOnlyDictionary<string, Accessibility> Paths,
        IReadOnlySet<string> SpecialFileSystems, IReadOnlyList<string> Errors);

    public static Report Parse(string stdout)
    {
        uint uid = uint.MaxValue, gid = uint.MaxValue;
        var paths = new Dictionary<string, Accessibility>(StringComparer.Ordinal);
        var errors = new List<string>();
        var specialFs = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("ids ", StringComparison.Ordinal))
            {
                string[] ids = line.Split(' ');
                uid = uint.Parse(ids[1], System.Globalization.CultureInfo.InvariantCulture);
                gid = uint.Parse(ids[2], System.Globalization.CultureInfo.InvariantCulture);
                continue;
            }
            string path = line[2..];
            switch (line[0])
            {
                case 'N': paths[path] = Accessibility.None; break;
                case 'R': paths[path] = Accessibility.Readable; break;
                case 'S': paths[path] = Accessibility.Special; break;
                case 'F': paths[path] = Accessibility.Special; specialFs.Add(path); break;
                case 'T': paths[path] = Accessibility.Sticky; break;
                case 'W': paths[path] = Accessibility.Writable; break;
                default: errors.Add(line); break;
            }
        }
        return new Report(uid, gid, paths, specialFs, errors);
    }

    public void Dispose() => _dir.Dispose();

    private const string Source = """
        #define _GNU_SOURCE
        #include <dirent.h>
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/stat.h>
        #include <sys/vfs.h>
        #include <unistd.h>

        #define PROC_SUPER_MAGIC 0x9fa0
        #define SYSFS_MAGIC 0x62656572

        static int failures;

        static char classify_dir(const char *path, const struct stat *st)
        {
            char probe[4096];
            snprintf(probe, sizeof probe, "%s/.confine-exec-walker-probe", strcmp(path, "/") ? path : "");
            int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd >= 0) {
                close(fd);
                unlink(probe);
                return (st->st_mode & S_ISVTX) ? 'T' : 'W';
            }
            if (errno == EROFS || errno == EACCES || errno == EPERM) return 'R';
            printf("E %s create: %s\n", path, strerror(errno));
            failures++;
            return 'R';
        }

        static char classify_file(const char *path)
        {
            char level = 'N', c;
            int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) {
                if (read(fd, &c, 1) >= 0) level = 'R';
                close(fd);
            }
            fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) { close(fd); return 'W'; }
            if (access(path, W_OK) == 0) return 'W';
            return level;
        }

        static void walk(const char *path)
        {
            struct stat st;
            if (lstat(path, &st) != 0) { printf("E %s lstat: %s\n", path, strerror(errno)); failures++; return; }
            if (S_ISLNK(st.st_mode)) { printf("R %s\n", path); return; }
            if (S_ISREG(st.st_mode)) { printf("%c %s\n", classify_file(path), path); return; }
            if (!S_ISDIR(st.st_mode)) {
                printf("%c %s\n", access(path, W_OK) == 0 ? 'S' : access(path, R_OK) == 0 ? 'R' : 'N', path);
                return;
            }
            struct statfs fs;
            if (statfs(path, &fs) == 0 && (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC)) {
                printf("F %s\n", path);
                return;
            }
            printf("%c %s\n", classify_dir(path, &st), path);
            DIR *d = opendir(path);
            if (!d) return;
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char child[4096];
                snprintf(child, sizeof child, "%s/%s", strcmp(path, "/") ? path : "", e->d_name);
                walk(child);
            }
            closedir(d);
        }

        int main(int argc, char **argv)
        {
            printf("ids %u %u\n", (unsigned)getuid(), (unsigned)getgid());
            walk(argc > 1 ? argv[1] : "/");
            fflush(stdout);
            return failures ? 1 : 0;
        }
        """;
}
