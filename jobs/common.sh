# Shared by the job entry points; cron lines and systemd units call those, never this file.
# Works under cron's minimal environment (PATH=/usr/bin:/bin, HOME set, nothing else).
# All it does is find the installed cctrack: settings, paths and the overlap lock
# (`--if-idle`) are cctrack's own business.

set -eu

# Where a user may have installed cctrack: an explicit CCTRACK_BIN, PATH, pipx/pip --user,
# the virtualenv of the checkout these jobs belong to, a system-wide install.
find_cctrack() {
    if [ -n "${CCTRACK_BIN:-}" ]; then
        printf '%s\n' "$CCTRACK_BIN"
        return 0
    fi
    checkout=$(cd "$(dirname "$0")/.." && pwd)
    for candidate in "$(command -v cctrack 2>/dev/null || true)" "$HOME/.local/bin/cctrack" \
        "$checkout/.venv/bin/cctrack" /usr/local/bin/cctrack /opt/cctrack/.venv/bin/cctrack; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    echo "cctrack job: cannot find the cctrack command; install it (see README) or set CCTRACK_BIN" >&2
    exit 2
}
