import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@hubspot/api-client';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../../src/sandbox/sandbox-server.js';
import { apiError, correlationId, useHubspotFixture } from '../../helpers/hubspot-sandbox-fixture.js';

const hs = useHubspotFixture();

describe('HubSpot sandbox: single-object and lookup routes', () => {
  it('lists objects page by page and archives one with DELETE', async () => {
    await hs.client.crm.companies.batchApi.create({
      inputs: ['Acme', 'Globex', 'Initech'].map((name) => ({ properties: { name }, associations: [] })),
    });
    const first = await hs.client.crm.companies.basicApi.getPage(2, undefined, ['name']);
    expect(first.results.map((r) => r.properties.name)).toEqual(['Acme', 'Globex']);
    expect(first.paging?.next?.after).toBe('2');
    expect(first.paging?.next?.link).toBe(
      `${hs.server.url}/crm/v3/objects/companies?limit=2&properties=name&after=2`,
    );
    const second = await hs.client.crm.companies.basicApi.getPage(2, first.paging?.next?.after, ['name']);
    expect(second.results.map((r) => r.properties.name)).toEqual(['Initech']);

    await hs.client.crm.companies.basicApi.archive('100002');
    const left = await hs.client.crm.companies.basicApi.getPage(10, undefined, ['name']);
    expect(left.results.map((r) => r.properties.name)).toEqual(['Acme', 'Initech']);
  });

  it('reads one property by name and answers 404 for an unknown one', async () => {
    const email = await hs.client.crm.properties.coreApi.getByName('contacts', 'email');
    expect([email.name, email.groupName]).toEqual(['email', 'contactinformation']);
    const error = await apiError(hs.client.crm.properties.coreApi.getByName('contacts', 'pql_score'));
    expect([error.code, error.body]).toEqual([
      404,
      {
        status: 'error',
        message: 'Unable to find property pql_score for object contacts',
        correlationId: correlationId(1),
        category: 'OBJECT_NOT_FOUND',
      },
    ]);
  });

  it('reads one owner by id or by userId', async () => {
    const byId = await hs.client.crm.owners.ownersApi.getById(41629781);
    expect(byId.email).toBe('alan.turing@example.com');
    const byUserId = await hs.client.crm.owners.ownersApi.getById(9586504, 'userId');
    expect(byUserId.id).toBe('41629779');
  });

  it('updates by email in a batch when idProperty is email', async () => {
    await hs.client.crm.contacts.basicApi.create({
      properties: { email: 'a@example.com' },
      associations: [],
    });
    const updated = await hs.client.crm.contacts.batchApi.update({
      inputs: [{ id: 'a@example.com', idProperty: 'email', properties: { jobtitle: 'CTO' } }],
    });
    expect(updated.results.map((r) => [r.id, r.properties.jobtitle])).toEqual([['100001', 'CTO']]);
  });
});

describe('HubSpot sandbox: persistence through the sandbox state file', () => {
  it('keeps records across a restart with --state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqlsync-hubspot-state-'));
    const statePath = join(dir, 'sandbox.json');
    try {
      const first = await startSandbox({ token: 'tok-state', statePath });
      const client = new Client({ accessToken: 'tok-state', basePath: first.url, numberOfApiCallRetries: 0 });
      await client.crm.contacts.batchApi.upsert({
        inputs: [{ idProperty: 'email', id: 'kept@example.com', properties: { firstname: 'Kept' } }],
      });
      await first.close();

      const second = await startSandbox({ token: 'tok-state', statePath });
      try {
        const again = new Client({
          accessToken: 'tok-state',
          basePath: second.url,
          numberOfApiCallRetries: 0,
        });
        const rerun = await again.crm.contacts.batchApi.upsert({
          inputs: [{ idProperty: 'email', id: 'kept@example.com', properties: { firstname: 'Kept' } }],
        });
        expect(rerun.results.map((r) => [r.id, r._new])).toEqual([['100001', false]]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
