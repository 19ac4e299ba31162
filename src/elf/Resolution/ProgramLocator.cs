using ConfineExec.Elf.Interop;

namespace ConfineExec.Elf;

/// <summary>Finds PROGRAM as <c>execvp</c> would: a name with '/' as given, a bare name through PATH.</summary>
public static class ProgramLocator
{
    /// <summary>glibc's execvp default when PATH is unset (<c>_CS_PATH</c>).</summary>
    public const string DefaultPath = "/bin:/usr/bin";

    /// <summary>
    /// The absolute path (links not resolved, '.' and duplicate slashes tidied). A name with '/' is taken
    /// relative to <paramref name="cwd"/>; a bare name is searched in <paramref name="pathVariable"/> (an empty
    /// element meaning <paramref name="cwd"/>). Throws ProgramNotFound or ProgramNotExecutable.
    /// </summary>
    public static string Locate(string program, string? pathVariable, string cwd, string what = "program")
    {
        if (program.Length == 0)
            throw new ClosureException(ClosureError.ProgramNotFound, program, $"{what}: '': No such file or directory");
        if (program.Contains('/'))
        {
            string abs = SymlinkChain.Tidy(SymlinkChain.Join(cwd, program));
            int err = Check(abs);
            if (err == 0) return abs;
            throw Failure(what, abs, err);
        }
        bool sawDenied = false;
        string? denied = null;
        foreach (var element in (pathVariable ?? DefaultPath).Split(':'))
        {
            string dir = element.Length == 0 ? cwd : SymlinkChain.Join(cwd, element);
            string candidate = SymlinkChain.Tidy(SymlinkChain.Join(dir, program));
            int err = Check(candidate);
            if (err == 0) return candidate;
            if (err == Libc.EACCES && !sawDenied) { sawDenied = true; denied = candidate; }
        }
        if (sawDenied) throw Failure(what, denied!, Libc.EACCES);
        throw new ClosureException(ClosureError.ProgramNotFound, program, $"{what}: {program}: not found in PATH");
    }

    /// <summary>0 when <paramref name="path"/> is an executable regular file, else ENOENT/EACCES/EISDIR-like codes.</summary>
    private static int Check(string path)
    {
        int err = Libc.Stat(path, out var st);
        if (err != 0) return err is Libc.EACCES or ELOOP ? err : Libc.ENOENT;
        if ((st.Mode & Libc.S_IFMT) == Libc.S_IFDIR) return IsDirectory;
        if ((st.Mode & Libc.S_IFMT) != Libc.S_IFREG || !Libc.IsExecutable(path)) return Libc.EACCES;
        return 0;
    }

    private const int IsDirectory = 21;
    private const int ELOOP = 40;

    private static ClosureException Failure(string what, string path, int err) => err switch
    {
        IsDirectory => new ClosureException(ClosureError.ProgramNotExecutable, path, $"{what}: {path}: is a directory"),
        ELOOP => new ClosureException(ClosureError.UnresolvablePath, path, $"{what}: {path}: too many levels of symbolic links"),
        Libc.EACCES => new ClosureException(ClosureError.ProgramNotExecutable, path, $"{what}: {path}: permission denied"),
        _ => new ClosureException(ClosureError.ProgramNotFound, path, $"{what}: {path}: no such file or directory"),
    };
}
