namespace ConfineExec.Launcher.CommandLine;

/// <summary>The --help and --version texts.</summary>
public static class HelpText
{
    public static string Version => $"confine-exec {VersionNumber}";

    /// <summary>MAJOR.MINOR.PATCH of this build (the project's Version, a compile-time constant).</summary>
    public const string VersionNumber = BuildVersion.Number;

    public const string Usage = """
        Usage: confine-exec [OPTION]... [--] PROGRAM [ARG]...
        Run PROGRAM in a fresh, read-only root holding only its runtime closure plus the API file systems,
        as NixOS's systemd.services.<name>.confinement makes systemd do. The first non-option (or --) ends
        confine-exec's options; everything after PROGRAM is passed to it untouched.

        Options:
          --mode full-apivfs|chroot-only
                              full-apivfs (default): private /proc, /sys, /dev, /run, /tmp, /var/tmp in a user
                              namespace (the seven switches below on); chroot-only: only the mount namespace
                              and the root switch (all seven off)
          -p, --property NAME=VALUE
                              a systemd directive, repeatable, systemd value syntax:
                                MountAPIVFS= PrivateDevices= PrivateTmp= PrivateUsers= ProtectControlGroups=
                                ProtectKernelModules= ProtectKernelTunables=   yes|no (override the mode)
                                User=NAME|UID  Group=NAME|GID  SupplementaryGroups=GROUP...
                                BindPaths=[-]SRC[:DEST[:rbind|norbind]]...  BindReadOnlyPaths=(same)
                                StateDirectory=NAME...  RuntimeDirectory=NAME...  WorkingDirectory=[-]PATH|~
                                Environment=KEY=VALUE...  UMask=OCTAL  NoNewPrivileges=yes|no
                              an empty value resets a list (or a switch to the mode's default)
          --package PATH      also bind PATH and the closure of every program or library in it (repeatable)
          --full-env          treat every existing absolute path in the environment as a --package
          --closure-file FILE bind every path listed in FILE (one per line, e.g. Nix closureInfo store-paths);
                              a listed symlink gets its resolved target bound at the link's path
          --bin-sh PATH|none  program bound at /bin/sh (default: the host's /bin/sh, resolved); none: no /bin/sh
          --allow-missing     a library that cannot be found is a warning, not an error
          --new-session       setsid() before exec, so PROGRAM cannot push input into the caller's terminal
                              with TIOCSTI (off by default, as in bubblewrap: PROGRAM keeps the terminal's
                              job control; turn it on for untrusted programs on a terminal)
          --no-closure-cache  compute the closure live: neither use nor update the closure cache
          --print-closure     print the closure, one absolute path per line, sorted, and exit
          --json              with --print-closure: a JSON array of {path, kind, target, reason, neededBy}
          --explain           print the closure as a tree with the reason each path is there, and exit
          --dry-run           print the plan, one operation per line, and exit without changing anything
          --emit-unit         print the systemd drop-in [Service] section the NixOS module would generate
          -h, --help          print this help and exit
          --version           print the version and exit

        Closure cache:
          A computed closure is kept on disk with a stamp (statx) of every path the computation looked at, and
          reused only while every stamp, the options, the credentials and PATH, LD_LIBRARY_PATH and LD_PRELOAD
          are unchanged. Directory: $CONFINE_EXEC_CACHE_DIR (empty: no cache), else /var/cache/confine-exec for
          root, $XDG_CACHE_HOME/confine-exec or ~/.cache/confine-exec for others. Clear it with rm -rf.

        Exit status:
          PROGRAM's own exit status (128+N, or the same signal, when PROGRAM was killed by signal N)
          125  confine-exec failed before exec (bad option, missing library, mount error)
          126  PROGRAM was found but cannot be executed
          127  PROGRAM was not found
        """;
}
