"""Variables every shell, CI runner, container and service manager sets.

Their names can look secret-like to a name heuristic (``PWD`` holds "pwd", ``SSH_AUTH_SOCK`` and
``XAUTHORITY`` hold "auth", ``GIT_ASKPASS`` holds "pass") while their values are paths, ids and
versions. The environment family judges them by value only: one of them is a finding when its
value is a recognised credential format (a GitHub token, a JWT, an AWS key...), never because of
its name.
"""

from __future__ import annotations

# Exact names: POSIX/login shells, terminals and desktop sessions, ssh, sudo, systemd units,
# containers (Docker, Kubernetes, the official language images) and CI runners.
STANDARD_NAMES = frozenset(
    {
        # shells and login
        "_", "PWD", "OLDPWD", "HOME", "PATH", "SHLVL", "SHELL", "USER", "LOGNAME", "USERNAME",
        "MAIL", "HOSTNAME", "HOST", "HOSTTYPE", "OSTYPE", "MACHTYPE", "TERM", "LANG", "LANGUAGE",
        "TZ", "EDITOR", "VISUAL", "PAGER", "LESS", "LESSOPEN", "LESSCLOSE", "LS_COLORS",
        "LSCOLORS", "PS1", "PS2", "PS4", "PROMPT_COMMAND", "HISTFILE", "HISTSIZE",
        "HISTFILESIZE", "HISTCONTROL", "IFS", "COLUMNS", "LINES", "TMPDIR", "MOTD_SHOWN",
        # terminals, multiplexers and desktop sessions
        "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "COLORTERM", "TERM_PROGRAM",
        "TERM_PROGRAM_VERSION", "TERM_SESSION_ID", "ITERM_SESSION_ID", "WINDOWID", "TMUX",
        "TMUX_PANE", "STY", "DESKTOP_SESSION", "GDMSESSION", "SESSION_MANAGER",
        "DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "KRB5CCNAME",
        # ssh, gpg, sudo and the askpass helpers (paths to programs)
        "SSH_AUTH_SOCK", "SSH_AGENT_PID", "SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY",
        "GPG_AGENT_INFO", "GPG_TTY", "SUDO_USER", "SUDO_UID", "SUDO_GID", "SUDO_COMMAND",
        "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS",
        # systemd units (systemd.exec(5))
        "INVOCATION_ID", "JOURNAL_STREAM", "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS",
        "LISTEN_FDNAMES", "WATCHDOG_PID", "WATCHDOG_USEC", "MAINPID", "MANAGERPID",
        "SYSTEMD_EXEC_PID", "CREDENTIALS_DIRECTORY", "RUNTIME_DIRECTORY", "STATE_DIRECTORY",
        "CACHE_DIRECTORY", "LOGS_DIRECTORY", "CONFIGURATION_DIRECTORY", "MONITOR_SERVICE_RESULT",
        # containers and language images (GPG_KEY is the release-signing key's fingerprint)
        "container", "GPG_KEY", "PYTHON_VERSION", "PYTHON_SHA256", "PYTHON_PIP_VERSION",
        "PYTHON_SETUPTOOLS_VERSION", "PYTHON_GET_PIP_URL", "PYTHON_GET_PIP_SHA256",
        "NODE_VERSION", "YARN_VERSION", "GOLANG_VERSION", "GOPATH", "GOROOT", "JAVA_HOME",
        "JAVA_VERSION", "RUBY_VERSION", "RUBY_DOWNLOAD_SHA256", "GEM_HOME", "BUNDLE_APP_CONFIG",
        "PHP_VERSION", "PHP_SHA256", "PHP_ASC_URL", "PHP_URL",
        # CI runners (GitHub-hosted runner images and the usual CI markers)
        "CI", "ImageOS", "ImageVersion", "AGENT_TOOLSDIRECTORY", "DEPLOYMENT_BASEPATH",
        "BOOTSTRAP_HASKELL_NONINTERACTIVE", "DEBIAN_FRONTEND", "ACCEPT_EULA", "SGX_AESM_ADDR",
        "POWERSHELL_DISTRIBUTION_CHANNEL", "PSModulePath", "SELENIUM_JAR_PATH", "SWIFT_PATH",
        "VCPKG_INSTALLATION_ROOT", "CONDA", "CHROME_BIN", "CHROMEWEBDRIVER", "EDGEWEBDRIVER",
        "GECKOWEBDRIVER", "AZURE_EXTENSION_DIR", "GHCUP_INSTALL_BASE_PREFIX", "LEIN_HOME",
        "LEIN_JAR", "ANT_HOME", "GRADLE_HOME", "M2_HOME", "NVM_DIR", "PIPX_BIN_DIR",
        "PIPX_HOME", "BUILD_NUMBER", "BUILD_ID", "JOB_NAME", "TRAVIS", "CIRCLECI",
        "GITLAB_CI", "BUILDKITE", "TF_BUILD",
    }
)  # fmt: skip

# Name prefixes of variables that runners, images and session managers set in families.
STANDARD_PREFIXES = (
    "GITHUB_", "RUNNER_", "ACTIONS_", "STATS_", "XDG_", "LC_", "SYSTEMD_", "KUBERNETES_",
    "ANDROID_", "JAVA_HOME_", "GOROOT_", "DOTNET_", "HOMEBREW_", "CONDA_", "VSCODE_",
)  # fmt: skip


def is_standard(name: str) -> bool:
    """Is ``name`` a variable a shell, runner, container or service manager sets?"""
    return name in STANDARD_NAMES or name.startswith(STANDARD_PREFIXES)
