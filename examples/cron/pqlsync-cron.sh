#!/bin/sh
# Runs pqlsync from cron. Usage in a crontab (every 30 minutes, JSON summaries appended to a log):
#
#   */30 * * * * PQLSYNC_PROJECT_DIR=/srv/pql /srv/pql/examples/cron/pqlsync-cron.sh >> /var/log/pqlsync.jsonl 2>&1
#
# cron runs with PATH=/usr/bin:/bin, so this finds pqlsync itself: $PQLSYNC if set, else the project's own
# install (node_modules/.bin/pqlsync, after `npm install pqlsync` in the project), else pqlsync on PATH (a global
# install), with /usr/local/bin added to PATH for Node. Not found: exit 2 with a message, never 127.
#
# No `flock` is needed: pqlsync takes a per-sync lock itself (the state `locks` table, or the DuckDB file), and a
# second invocation exits 4 at once. Under cron "already running" is not an error, so exit 4 becomes 0 here and
# cron mail stays quiet; every other failure keeps its code (1 run failed, 2 bad config, 3 rejected records,
# 5 a sync held back by --after-dbt because dbt failed upstream).
cd "${PQLSYNC_PROJECT_DIR:?set PQLSYNC_PROJECT_DIR to the pqlsync project directory}" || exit 2
PATH="$PATH:/usr/local/bin"
if [ -z "${PQLSYNC:-}" ]; then
  if [ -x node_modules/.bin/pqlsync ]; then
    PQLSYNC=node_modules/.bin/pqlsync
  elif command -v pqlsync >/dev/null 2>&1; then
    PQLSYNC=pqlsync
  else
    echo "pqlsync-cron: pqlsync is neither in $PWD/node_modules/.bin nor on PATH ($PATH); run \`npm install pqlsync\` in the project or set PQLSYNC=/path/to/pqlsync in the crontab" >&2
    exit 2
  fi
fi
if ! command -v node >/dev/null 2>&1; then
  echo "pqlsync-cron: node is not on PATH ($PATH); set PATH in the crontab to include Node's directory" >&2
  exit 2
fi
$PQLSYNC run --all --json "$@"
code=$?
if [ "$code" -eq 4 ]; then
  echo "pqlsync: another run holds the lock; skipped" >&2
  exit 0
fi
exit "$code"
