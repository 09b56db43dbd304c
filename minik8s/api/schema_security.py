"""Schemas of security contexts: what a pod's and a container's processes may do.

`pod.spec.securityContext` (PodSecurityContext) sets defaults for every container;
`containers[].securityContext` (SecurityContext) overrides them for one. Field names
and types are k8s.io/api/core/v1 at v1.32. (DSL: see schema.py.)
"""
from __future__ import annotations

from .schema import CORE, define

define(CORE + "SecurityContext", "Security settings of one container (override the pod's).", """
    runAsUser                 integer
        UID to run the entrypoint as.
    runAsGroup                integer
        GID to run the entrypoint as.
    runAsNonRoot              boolean
        Refuse to start as UID 0.
    privileged                boolean
        Run with all host privileges.
    allowPrivilegeEscalation  boolean
        Whether a process can gain more privileges (no_new_privs).
    readOnlyRootFilesystem    boolean
        Mount the root filesystem read-only.
    capabilities              Capabilities
        Linux capabilities to add or drop.
    seLinuxOptions            SELinuxOptions
        SELinux context.
    seccompProfile            SeccompProfile
        Seccomp profile.
    appArmorProfile           AppArmorProfile
        AppArmor profile.
    procMount                 string
        Default or Unmasked /proc.
    windowsOptions            WindowsSecurityContextOptions
        Windows-specific settings.
""")

define(CORE + "PodSecurityContext", "Security settings for every container of a pod.", """
    runAsUser                 integer                        Default UID for the containers.
    runAsGroup                integer                        Default GID for the containers.
    runAsNonRoot              boolean                        Refuse to start containers as UID 0.
    fsGroup                   integer                        Group that owns mounted volumes.
    fsGroupChangePolicy       string                         OnRootMismatch or Always.
    supplementalGroups        [integer]                      Extra groups for the first process.
    supplementalGroupsPolicy  string                         Merge (default) or Strict.
    sysctls                   [Sysctl]                       Namespaced kernel parameters to set.
    seLinuxOptions            SELinuxOptions                 SELinux context for all containers.
    seLinuxChangePolicy       string                         MountOption or Recursive relabelling.
    seccompProfile            SeccompProfile                 Seccomp profile for all containers.
    appArmorProfile           AppArmorProfile                AppArmor profile for all containers.
    windowsOptions            WindowsSecurityContextOptions  Windows-specific settings.
""")

define(CORE + "Capabilities", "Linux capabilities to add and drop.", """
    add   [string]  Capabilities to add, e.g. NET_ADMIN.
    drop  [string]  Capabilities to drop, e.g. ALL.
""")

define(CORE + "SELinuxOptions", "An SELinux label.", """
    user   string  SELinux user.
    role   string  SELinux role.
    type   string  SELinux type.
    level  string  SELinux level.
""")

define(CORE + "SeccompProfile", "A seccomp profile.", """
    type!             string  RuntimeDefault, Unconfined or Localhost.
    localhostProfile  string  Path of the profile on the node, for Localhost.
""")

define(CORE + "AppArmorProfile", "An AppArmor profile.", """
    type!             string  RuntimeDefault, Unconfined or Localhost.
    localhostProfile  string  Name of the loaded profile, for Localhost.
""")

define(CORE + "WindowsSecurityContextOptions", "Windows-only security settings.", """
    gmsaCredentialSpecName  string   Name of the GMSA credential spec to use.
    gmsaCredentialSpec      string   Inlined GMSA credential spec.
    runAsUserName           string   Windows user to run as.
    hostProcess             boolean  Run as a host process container.
""")

define(CORE + "Sysctl", "A kernel parameter.", """
    name!   string  Parameter name, e.g. net.core.somaxconn.
    value!  string  Value to set.
""")
