/**
 * The rows the fixture models run against, as SQL for any engine that has `create schema` and `timestamptz`
 * (DuckDB, Postgres). `daysAgo(n)` renders "n days before now" in the engine's SQL, so the models' windows
 * (14 and 30 days) mean the same whatever the date.
 */
export function fixtureStatements(daysAgo: (n: number) => string): string[] {
  const events: string[] = [];
  const add = (user: string, n: number, age: number, source = 'web'): void => {
    for (let i = 0; i < n; i++) events.push(`('${user}', ${daysAgo(age)}, '${source}')`);
  };
  add('u_hot', 12, 2); // 12 recent web events: hot
  add('u_warm', 4, 3); // 4: warm (>= min_events 3)
  add('u_warm', 9, 40); // too old for the 14-day window
  add('u_cold', 1, 1); // cold: filtered out by the default tiers [hot, warm]
  add('u_app', 20, 1, 'app'); // another source
  add('u_internal', 15, 1); // internal user, excluded by default
  return [
    'create schema app',
    'create table app.events (user_id varchar, occurred_at timestamptz, source varchar)',
    'create table app.users (user_id varchar, account_id varchar, is_internal boolean, signup_at timestamptz)',
    'create table app.accounts (account_id varchar)',
    `insert into app.events values ${events.join(', ')}`,
    `insert into app.users values ('u_hot', 'a1', false, ${daysAgo(5)}), ('u_warm', 'a1', false, ${daysAgo(10)}),
     ('u_cold', 'a2', false, ${daysAgo(50)}), ('u_app', 'a2', false, ${daysAgo(1)}), ('u_internal', 'a1', true, ${daysAgo(2)})`,
    `insert into app.accounts values ('a1'), ('a2')`,
  ];
}

/** pqa_accounts' rows with default params: users who signed up in the last 30 days, per account. */
export const EXPECTED_ACCOUNTS = [
  { account_id: 'a1', active_users: 3, tier: 'hot' },
  { account_id: 'a2', active_users: 1, tier: 'warm' },
];
