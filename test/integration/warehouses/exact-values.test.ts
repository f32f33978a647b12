/**
 * Every warehouse adapter reads numbers exactly (issue 23, item 2): a decimal a JS number would round comes back as
 * its digits, one that prints the same as a number comes back as that number; and on the engines that have them,
 * dates and timestamps outside years 1-9999 come back as OutOfRangeValues instead of failing the whole result, and
 * timestamps keep their microseconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutOfRangeValue } from '../../../src/warehouse/row-values.js';
import type { WarehouseAdapter } from '../../../src/warehouse/warehouse-adapter.js';
import {
  bigqueryUnderTest,
  duckdbUnderTest,
  postgresUnderTest,
  snowflakeUnderTest,
  type WarehouseUnderTest,
} from '../../conformance/warehouses.js';

/** Per warehouse: a query over its own types, and the row the adapter must return. */
const CASES: Array<{ under: WarehouseUnderTest; sql: string; row: Record<string, unknown> }> = [
  {
    under: duckdbUnderTest(),
    sql: `select cast('12345678901234567890000' as decimal(38,0)) as k, cast('12345678901234567890000' as hugeint) as h,
      cast('1234567890.1234567890' as decimal(38,10)) as d, cast('12.50' as decimal(5,2)) as s,
      cast('-0.00' as decimal(5,2)) as z, cast('0.0000001' as decimal(18,10)) as tiny,
      '5000000-01-01'::date as far, '-infinity'::date as ninf, 'infinity'::timestamptz as inf,
      '10000-01-01 00:00:00'::timestamp as big, '1969-12-31 23:59:59.999999'::timestamp as us,
      '2026-01-01 00:00:00.123'::timestamp as ms, '2026-01-01 00:00:00.123456789'::timestamp_ns as ns,
      '12:34:56.789'::time as t, interval 3 day + interval 90 minute as i`,
    row: {
      k: '12345678901234567890000',
      h: 12345678901234567890000n,
      d: '1234567890.123456789',
      s: 12.5,
      z: 0,
      tiny: '0.0000001',
      far: new OutOfRangeValue('date', '5000000-01-01'),
      ninf: new OutOfRangeValue('date', '-infinity'),
      inf: new OutOfRangeValue('timestamp', 'infinity'),
      big: new OutOfRangeValue('timestamp', '10000-01-01 00:00:00'),
      us: '1969-12-31T23:59:59.999999Z',
      ms: new Date('2026-01-01T00:00:00.123Z'),
      ns: '2026-01-01T00:00:00.123456789Z',
      t: '12:34:56.789',
      i: '3 days 01:30:00',
    },
  },
  {
    under: postgresUnderTest(),
    sql: `select cast('12345678901234567890000' as numeric(38,0)) as k, cast('1234567890.1234567890' as numeric(38,10)) as d,
      cast('12.50' as numeric(5,2)) as s, 'NaN'::numeric as nan, '5000000-01-01'::date as far, 'infinity'::date as inf,
      '2024-01-01 00:00:00 BC'::timestamp as bc, '-infinity'::timestamptz as ninf,
      '1969-12-31 23:59:59.999999'::timestamp as us, '2026-01-01 05:30:00.5+05:30'::timestamptz as tz,
      '2026-01-01 00:00:00.000001+00'::timestamptz as tzus`,
    row: {
      k: '12345678901234567890000',
      d: '1234567890.123456789',
      s: 12.5,
      nan: NaN,
      far: new OutOfRangeValue('date', '5000000-01-01'),
      inf: new OutOfRangeValue('date', 'infinity'),
      bc: new OutOfRangeValue('timestamp', '2024-01-01 00:00:00 BC'),
      ninf: new OutOfRangeValue('timestamp', '-infinity'),
      us: '1969-12-31T23:59:59.999999Z',
      tz: new Date('2026-01-01T00:00:00.500Z'),
      tzus: '2026-01-01T00:00:00.000001Z',
    },
  },
  {
    under: bigqueryUnderTest(),
    sql: `select cast('12345678901234567890000' as BIGNUMERIC) as k, cast('1234567890.123456789' as NUMERIC) as d,
      cast('12.50' as NUMERIC) as s`,
    row: { k: '12345678901234567890000', d: '1234567890.123456789', s: 12.5 },
  },
  {
    under: snowflakeUnderTest(),
    sql: `select cast('12345678901234567890000.5' as NUMBER(38,1)) as k, cast('1234567890.1234567890' as NUMBER(38,10)) as d,
      cast('12.50' as NUMBER(5,2)) as s`,
    row: { k: '12345678901234567890000.5', d: '1234567890.123456789', s: 12.5 },
  },
];

describe.each(CASES)('$under.name reads values exactly', ({ under, sql, row }) => {
  let wh: WarehouseAdapter | undefined;
  beforeAll(async () => {
    await under.start();
    wh = await under.open();
  }, 120_000);
  afterAll(async () => {
    await wh?.close();
    await under.stop();
  });

  it('by query and by stream', async () => {
    expect((await wh!.query(sql)).rows).toEqual([row]);
    const streamed = [];
    for await (const chunk of wh!.stream(sql)) streamed.push(...chunk);
    expect(streamed).toEqual([row]);
  });
});
