import { describe, expect, it } from 'vitest';
import { checkGoogleSql } from '../../../src/warehouse/bigquery/sandbox/bigquery-sql.js';

describe('the BigQuery sandbox refuses what GoogleSQL refuses', () => {
  it('a WHERE without a FROM, at any depth, with the position', () => {
    expect(() => checkGoogleSql('select 1 as a where 1 = 0')).toThrow(
      'Query without FROM clause cannot have a WHERE clause at [1:15]',
    );
    expect(() =>
      checkGoogleSql(
        'select * from t\n  full outer join (select cast(null as STRING) as key where 1 = 0) s on t.k = s.key',
      ),
    ).toThrow('Query without FROM clause cannot have a WHERE clause at [2:55]');
  });

  it('lets FROMs, strings, comments and function arguments through', () => {
    for (const sql of [
      'select x from (select 1 as one) e where 1 = 0',
      "select extract(day from d) as d from t where s = 'select where'",
      'select 1 as a -- where\nunion all select b from t where b > 0',
      'delete from t where k in (select k from u where k is not null)',
      'select `where` from t where true',
    ])
      expect(() => checkGoogleSql(sql), sql).not.toThrow();
  });
});
