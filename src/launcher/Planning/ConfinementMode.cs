namespace ConfineExec.Launcher.Planning;

/// <summary>The NixOS module's <c>confinement.mode</c>.</summary>
public enum ConfinementMode
{
    /// <summary>Private /dev, /proc, /sys, /tmp, /var/tmp in a separate user namespace: all seven switches on.</summary>
    FullApiVfs,
    /// <summary>Only the mount namespace and the root switch: all seven switches off.</summary>
    ChrootOnly,
}
