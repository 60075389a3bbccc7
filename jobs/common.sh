# Shared by the job entry points; cron lines and systemd units call those, never this file.
# Works under cron's minimal environment (PATH=/usr/bin:/bin, HOME set, nothing else).

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

# Run cctrack with the given arguments unless another cctrack job still runs: overlapping
# timer or cron runs are skipped (exit 0, one line on stderr) instead of piling up.
run_job() {
    cctrack=$(find_cctrack)
    lock_dir=${CCTRACK_DATA_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/cctrack}
    mkdir -p -m 0700 "$lock_dir"
    exec 9>>"$lock_dir/.job.lock"
    if ! flock -n 9; then
        echo "cctrack job: the previous cctrack job still runs; skipping this $1" >&2
        exit 0
    fi
    # The lock stays held by fd 9 in the exec'd process until cctrack exits.
    exec "$cctrack" "$@"
}
