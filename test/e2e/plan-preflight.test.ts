/**
 * `plan` runs the destination's read-only preflight (issue 21 item 4): a wrong HubSpot object or a missing property
 * with `create_properties: false` fails `plan` (exit 2, with did-you-mean) as it would fail `run`, and a plan with
 * `create_properties: true` creates nothing in the CRM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import {
  admin,
  configText,
  HUBSPOT,
  reliabilityProject,
  type ReliabilityProject,
} from '../reliability/crm-harness.js';

describe('plan runs the read-only preflight', () => {
  let rel: ReliabilityProject;
  beforeAll(async () => {
    rel = await reliabilityProject('hubspot', { rows: 20 });
  });
  afterAll(async () => {
    await rel?.close();
  });

  const plan = () => runCli(['plan', 'users'], { cwd: rel.project.dir, env: rel.env });

  it('refuses an object HubSpot does not have, naming the one meant', async () => {
    rel.project.writeConfig(configText({ ...HUBSPOT, object: 'contact' }));
    const r = await plan();
    expect(r.code).toBe(2);
    expect(
      r.stderr.endsWith(
        "\nsync users, syncs.users.object: HubSpot has no object type 'contact' (destination crm): HubSpot refused GET /crm/v3/properties/contact (400 VALIDATION_ERROR: Unable to infer object type from: contact (the sandbox serves contacts, companies, deals and tasks))\n" +
          "  hint: did you mean 'contacts'? HubSpot object types are plural and lower case\n",
      ),
    ).toBe(true);
  });

  it('refuses a missing property when create_properties is false, and creates nothing when it is true', async () => {
    const without = configText(HUBSPOT).replace('create_properties: true', 'create_properties: false');
    expect(without).toContain('create_properties: false');
    rel.project.writeConfig(without);
    const r = await plan();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'HubSpot contacts properties do not fit sync users (destination crm):\n  - missing property',
    );
    expect(r.stderr).toContain('hint: set create_properties: true on destination');
    rel.project.writeConfig(configText(HUBSPOT));
    const before = (await admin(rel.sandbox, 'GET', '/_sandbox/requests')) as Array<{ method: string }>;
    const ok = await plan();
    expect(ok.code).toBe(0);
    const after = (await admin(rel.sandbox, 'GET', '/_sandbox/requests')) as Array<{
      method: string;
      path: string;
    }>;
    const writes = after.slice(before.length).filter((q) => q.method !== 'GET');
    expect(writes).toEqual([]);
  });
});
