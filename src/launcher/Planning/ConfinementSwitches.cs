namespace ConfineExec.Launcher.Planning;

/// <summary>
/// The seven systemd switches the module sets with <c>mkDefault</c> from the mode. Unlike systemd, where
/// ProtectKernelTunables= and ProtectControlGroups= imply MountAPIVFS=yes, each switch here adds only its own
/// operations: <c>-p MountAPIVFS=no</c> removes /proc, /sys and /run (and with them the read-only overmounts the
/// two Protect switches would put on them), so an override never brings back what another override removed.
/// </summary>
public sealed record ConfinementSwitches(
    bool MountApiVfs,
    bool PrivateDevices,
    bool PrivateTmp,
    bool PrivateUsers,
    bool ProtectControlGroups,
    bool ProtectKernelModules,
    bool ProtectKernelTunables)
{
    /// <summary>The systemd directive names, in the order the module lists them.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "MountAPIVFS", "PrivateDevices", "PrivateTmp", "PrivateUsers",
        "ProtectControlGroups", "ProtectKernelModules", "ProtectKernelTunables",
    ];

    public static ConfinementSwitches For(ConfinementMode mode)
    {
        bool on = mode == ConfinementMode.FullApiVfs;
        return new(on, on, on, on, on, on, on);
    }

    public bool Get(string name) => name switch
    {
        "MountAPIVFS" => MountApiVfs,
        "PrivateDevices" => PrivateDevices,
        "PrivateTmp" => PrivateTmp,
        "PrivateUsers" => PrivateUsers,
        "ProtectControlGroups" => ProtectControlGroups,
        "ProtectKernelModules" => ProtectKernelModules,
        "ProtectKernelTunables" => ProtectKernelTunables,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a mode switch"),
    };

    public ConfinementSwitches With(string name, bool value) => name switch
    {
        "MountAPIVFS" => this with { MountApiVfs = value },
        "PrivateDevices" => this with { PrivateDevices = value },
        "PrivateTmp" => this with { PrivateTmp = value },
        "PrivateUsers" => this with { PrivateUsers = value },
        "ProtectControlGroups" => this with { ProtectControlGroups = value },
        "ProtectKernelModules" => this with { ProtectKernelModules = value },
        "ProtectKernelTunables" => this with { ProtectKernelTunables = value },
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a mode switch"),
    };
}
