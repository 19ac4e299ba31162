using System.Reflection;
using ConfineExec.Launcher.Interop;
using ConfineExec.Launcher.Tests.Fixtures;

namespace ConfineExec.Launcher.Tests.Integration;

/// <summary>The C compiler is the oracle for every constant and syscall number in Interop (Tmds.LibC's
/// ConstantsTests): a generated C file _Static_asserts each value against the real headers.</summary>
public sealed class InteropConstantsTests
{
    // Constants the headers spell differently or do not define as macros.
    private static readonly Dictionary<string, string> s_cNames = new(StringComparer.Ordinal)
    {
        ["MS_PRIVATE"] = "MS_PRIVATE", ["LINUX_CAPABILITY_VERSION_3"] = "_LINUX_CAPABILITY_VERSION_3",
    };

    private static readonly string[] s_skipped = []; // every constant is checked

    // Newer than some supported headers (open_tree_attr: Linux 6.15; Debian 12's linux-libc-dev is 6.1): checked
    // where the headers define it; elsewhere the executor's ENOSYS/EINVAL fallback covers a wrong kernel.
    private static readonly HashSet<string> s_whereDefined = new(StringComparer.Ordinal) { "SYS_open_tree_attr" };

    [Fact]
    public void Constants_MatchKernelAndGlibcHeaders()
    {
        if (ProcessRunner.Run(["sh", "-c", "command -v cc"]).ExitCode != 0)
            Assert.Skip("no C compiler (cc) on this machine");
        var fields = typeof(Libc).GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(f => f.IsLiteral && !s_skipped.Contains(f.Name) && f.Name != "Name").ToList();
        Assert.NotEmpty(fields);
        var c = new System.Text.StringBuilder("""
            #define _GNU_SOURCE
            #include <errno.h>
            #include <fcntl.h>
            #include <sched.h>
            #include <signal.h>
            #include <sys/mman.h>
            #include <sys/mount.h>
            #include <sys/prctl.h>
            #include <sys/stat.h>
            #include <sys/syscall.h>
            #include <linux/capability.h>
            #include <linux/close_range.h>
            #include <linux/mount.h>
            #include <linux/openat2.h>
            #include <linux/stat.h>

            """);
        foreach (FieldInfo f in fields)
        {
            string name = s_cNames.GetValueOrDefault(f.Name, f.Name);
            string cName = name.StartsWith("SYS_", StringComparison.Ordinal) ? name : name;
            object value = f.GetRawConstantValue()!;
            string literal = value switch { ulong u => u + "ULL", long l => l + "LL", uint u => u + "U", _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)! };
            string check = $"_Static_assert((long long)({cName}) == (long long)({literal}), \"{f.Name} has an unexpected value\");";
            c.AppendLine(s_whereDefined.Contains(f.Name) ? $"#ifdef {cName}\n{check}\n#endif" : check);
        }
        c.AppendLine("_Static_assert(sizeof(struct open_how) == 24, \"open_how\");");
        c.AppendLine("_Static_assert(sizeof(struct mount_attr) == 32, \"mount_attr\");");
        c.AppendLine("_Static_assert(__builtin_offsetof(struct statx, stx_attributes) == 8 && __builtin_offsetof(struct statx, stx_mode) == 28, \"statx\");");
        c.AppendLine("int main(void) { return 0; }");
        using var dir = new SharedDirectory();
        string source = Path.Combine(dir.Path, "constants.c");
        File.WriteAllText(source, c.ToString());
        RunResult cc = ProcessRunner.Run(["cc", "-fsyntax-only", source]);
        Assert.True(cc.ExitCode == 0, cc.Stderr);
    }
}
