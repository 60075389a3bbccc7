# Shared by the job entry points of a checkout (cron lines that name jobs/ call those, never
# this file). Works under cron's minimal environment (PATH=/usr/bin:/bin, HOME set, nothing
# else). All it does is find cctrack: settings, paths and the overlap lock (`--if-idle`) are
# cctrack's own business. Installs without a checkout need none of this: their units and
# cron line run the installed cctrack by its full path (`cctrack setup`, `cctrack deploy`).

set -eu

# An explicit CCTRACK_BIN wins; then the checkout's own venv, so that every job of this
# checkout runs the same cctrack whatever a user has in ~/.local/bin; then PATH.
find_cctrack() {
    checkout=$(cd "$(dirname "$0")/.." && pwd)
    if [ -n "${CCTRACK_BIN:-}" ]; then
        printf '%s\n' "$CCTRACK_BIN"
        return 0
    fi
    for candidate in "$checkout/.venv/bin/cctrack" "$(command -v cctrack 2>/dev/null || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    echo "cctrack job: cannot find the cctrack command; make the checkout's venv (scripts/quickstart), install cctrack (see README) or set CCTRACK_BIN" >&2
    exit 2
}
