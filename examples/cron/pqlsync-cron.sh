#!/bin/sh
# Runs pqlsync from cron. Usage in a crontab (every 30 minutes, JSON summaries appended to a log):
#
#   */30 * * * * PQLSYNC_PROJECT_DIR=/srv/pql /srv/pql/examples/cron/pqlsync-cron.sh >> /var/log/pqlsync.jsonl 2>&1
#
# No `flock` is needed: pqlsync takes a per-sync lock itself (the state `locks` table, or the DuckDB file), and a
# second invocation exits 4 at once. Under cron "already running" is not an error, so exit 4 becomes 0 here and
# cron mail stays quiet; every other failure keeps its code (1 run failed, 2 bad config, 3 rejected records).
cd "${PQLSYNC_PROJECT_DIR:?set PQLSYNC_PROJECT_DIR to the pqlsync project directory}" || exit 2
PQLSYNC="${PQLSYNC:-pqlsync}"
$PQLSYNC run --all --json "$@"
code=$?
if [ "$code" -eq 4 ]; then
  echo "pqlsync: another run holds the lock; skipped" >&2
  exit 0
fi
exit "$code"
