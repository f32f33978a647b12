/**
 * Bad rows from the warehouse, through a CRM: values of the wrong type, huge numbers, control characters,
 * oversized strings and invalid emails. Each bad row is rejected on its own with a reason that names the field
 * (asserted in full, as it lands in `<sync>__failures`), the run ends `partial` (exit 3), and every other row is
 * applied (row 3's NUL byte in a last name is taken by both CRMs, so it is applied). Null and duplicate keys never reach a CRM (counted as invalid; see test/integration/backbone.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import {
  reliabilityProject,
  runInProcess,
  STATE,
  SYNC,
  type Crm,
  type ReliabilityProject,
} from './crm-harness.js';

setLogger(createLogger({ level: 'silent' }));

/** The harness model with bad values put into rows 1-5 (score as text, a huge score, control characters...). */
const BAD_MODEL = `/*---
name: pql_users
key: user_id
---*/
select user_id,
  case when n = 5 then 'ok@example' || chr(10) || '.com' else 'user' || n || '@example.com' end as email,
  case when n = 3 then 'Nul' || chr(0) || 'Byte' when n = 4 then repeat('x', 70000) else 'Last' || n end as last_name,
  'Company ' || (n % 40) as company,
  case when n = 1 then 'ninety' when n = 2 then '1e20' else cast(score as varchar) end as score,
  'pql' as tier,
  true as is_pql,
  'r' as reasons
from src.users
where n <= 12
`;

let p: ReliabilityProject | undefined;
afterEach(async () => {
  await p?.close();
  p = undefined;
});

async function failures(crm: Crm): Promise<Array<{ key: string; reason: string; code: string }>> {
  p = await reliabilityProject(crm, { rows: 12 });
  p.project.writeModel('pql_users', BAD_MODEL);
  const wh = new DuckdbAdapter({ path: p.dbPath });
  await wh.connect();
  try {
    const summary = await runInProcess(p, wh, {});
    expect(exitCodeFor([summary])).toBe(3);
    const { rows } = await wh.query(`select key, reason, code from ${STATE}.${SYNC}__failures order by key`);
    const out = rows.map((r) => ({ key: String(r.key), reason: String(r.reason), code: String(r.code) }));
    expect(summary.counts).toMatchObject({ added: 12, applied: 12 - out.length, rejected: out.length });
    return out;
  } finally {
    await wh.close();
  }
}

describe('bad rows through a CRM', () => {
  it('Salesforce: text in a number field, a number out of range, a string over the field length, a newline in an email', async () => {
    // Checked against the describe before sending (Salesforce would refuse text in a number field for the whole
    // request): field-level reasons, no API call for these rows.
    expect(await failures('salesforce')).toEqual([
      {
        key: 'u1',
        reason: 'PQL_Score__c: expected a number for a Number(3, 0) field, got "ninety"',
        code: 'INVALID_VALUE',
      },
      {
        key: 'u2',
        reason:
          'PQL_Score__c: 100000000000000000000 has more than 3 digits before the decimal point, too many for a Number(3, 0) field',
        code: 'INVALID_VALUE',
      },
      {
        key: 'u4',
        reason: 'LastName: 70000 characters, more than the 80 a Text(80) field holds',
        code: 'INVALID_VALUE',
      },
      {
        key: 'u5',
        reason: 'Email: "ok@example\\n.com" is not a valid email address',
        code: 'INVALID_VALUE',
      },
    ]);
  });

  it('HubSpot: text in a number property is refused before sending; a newline in an email too', async () => {
    // The sandbox does not enforce HubSpot's 65,536-character limit on text values, so row 4 is applied here.
    expect(await failures('hubspot')).toEqual([
      { key: 'u1', reason: 'pql_score: expected a number, got "ninety"', code: 'INVALID_VALUE' },
      {
        key: 'u5',
        reason:
          'email: "ok@example\\n.com" is not a valid email address (HubSpot refuses it as INVALID_EMAIL)',
        code: 'INVALID_VALUE',
      },
    ]);
  });
});
