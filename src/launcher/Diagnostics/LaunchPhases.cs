using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ConfineExec.Launcher.Diagnostics;

/// <summary>The points of a launch that <see cref="LaunchPhases"/> times, in the order a launch passes them.</summary>
internal enum LaunchPhase
{
    Main, Parsed, Closure, Host, Planned, Validated, Compiled, Supervising, ChildExeced, ChildExited, Exec,
}

/// <summary>
/// Wall-clock time from <c>Main</c> to each <see cref="LaunchPhase"/>, reported as one stderr line
/// <c>confine-exec phases (us since Main): parsed=… closure=… …</c> just before the in-process exec, or once a
/// forked child has exited. Built only with <c>-p:ConfineExecPhases=true</c> (bench/phases.sh): every call is
/// <see cref="ConditionalAttribute"/>, so the product image holds none of it. Timed in the process, a phase's cold
/// first-touch cost shows where whole-process runs of different builds cannot resolve it (two copies of one
/// binary differ by up to 0.1 ms there: docs/cli-decisions.md, "Where a launch's time goes").
/// </summary>
internal static class LaunchPhases
{
    private static readonly long[] s_at = new long[(int)LaunchPhase.Exec + 1];
    private static readonly string[] s_names =
        ["main", "parsed", "closure", "host", "planned", "validated", "compiled", "supervising", "child-execed", "child-exited", "exec"];

    [Conditional("CONFINE_EXEC_PHASES")]
    public static void Mark(LaunchPhase phase) => s_at[(int)phase] = Stopwatch.GetTimestamp();

    /// <summary>Marks <paramref name="last"/> and writes the line (to fd 2 directly: stderr's writer is lazy and
    /// the in-process path execs right after).</summary>
    [Conditional("CONFINE_EXEC_PHASES")]
    public static void Report(LaunchPhase last)
    {
        Mark(last);
        var line = new StringBuilder("confine-exec phases (us since Main):");
        for (int i = 1; i < s_at.Length; i++)
        {
            if (s_at[i] == 0) continue;
            long us = (s_at[i] - s_at[0]) * 1_000_000 / Stopwatch.Frequency;
            line.Append(' ').Append(s_names[i]).Append('=').Append(us.ToString(CultureInfo.InvariantCulture));
        }
        Interop.Libc.WriteAll(2, Encoding.UTF8.GetBytes(line.Append('\n').ToString()));
    }
}
