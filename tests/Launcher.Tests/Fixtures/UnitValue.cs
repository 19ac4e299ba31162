using System.Text;

namespace ConfineExec.Launcher.Tests.Fixtures;

/// <summary>Reads emitted unit values the way systemd does, independently of the product's own parser.</summary>
public static class UnitValue
{
    /// <summary>One BindReadOnlyPaths= value split into its fields (\: and \\ unescaped, %% → %).</summary>
    public static List<string> BindFields(string value)
    {
        var fields = new List<string>();
        var f = new StringBuilder();
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length) f.Append(value[++i]);
            else if (value[i] == ':') { fields.Add(f.ToString()); f.Clear(); }
            else f.Append(value[i]);
        }
        fields.Add(f.ToString());
        return [.. fields.Select(x => x.Replace("%%", "%", StringComparison.Ordinal))];
    }
}
