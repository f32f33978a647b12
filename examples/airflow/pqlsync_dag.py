"""dbt, then pqlsync, from Airflow (2.6+ for skip_on_exit_code).

pqlsync's exit codes: 0 success; 1 the run failed (retried); 2 invalid config (fix it; retries will not help);
3 some records were rejected; 4 another run of the sync holds its lock; 5 the --after-dbt gate held a sync back
because a dbt node its model reads failed (4 and 5: the task is skipped, not failed or retried).
Secrets come from the worker's environment or an Airflow connection, never from this file.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

PROJECT_DIR = "/opt/pql"  # holds config/pqlsync.yml and models/
DBT_DIR = "/opt/dbt"

# The pqlsync task's command; examples' test runs exactly this text in a shell.
# Exit 3 (some records rejected) is a policy choice: here it passes unless more than 5% of what was sent was
# rejected (then pqlsync itself exits 1 and the task fails and retries).
# --- pqlsync command ---
PQLSYNC_COMMAND = (
    'pqlsync run --all --json --after-dbt "$DBT_TARGET_DIR/run_results.json" --fail-on-rejected-pct 5; '
    'code=$?; if [ "$code" -eq 3 ]; then exit 0; fi; exit "$code"'
)
# --- end ---

with DAG(
    dag_id="pqlsync",
    start_date=datetime(2025, 1, 1),
    schedule="30 */4 * * *",
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
) as dag:
    # `dbt build` runs models and tests; a failing test fails this task. pqlsync still runs (trigger_rule
    # all_done) and its --after-dbt gate skips only the syncs whose models read a failed or untested node.
    dbt_build = BashOperator(
        task_id="dbt_build",
        bash_command=f"cd {DBT_DIR} && dbt build --target prod",
        retries=0,
    )
    pqlsync_run = BashOperator(
        task_id="pqlsync_run",
        bash_command=PQLSYNC_COMMAND,
        cwd=PROJECT_DIR,
        env={"DBT_TARGET_DIR": f"{DBT_DIR}/target", "PQLSYNC_LOG_LEVEL": "warn"},
        append_env=True,
        skip_on_exit_code=[4, 5],
        trigger_rule="all_done",
    )
    dbt_build >> pqlsync_run
