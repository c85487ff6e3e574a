import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import type { EventLog, OutEvent } from '../../src/store/event-log.js';
import type { Directory } from '../../src/store/token-store.js';
import { defaultOrganization } from '../../src/tokens/record.js';

const event = (type: string): OutEvent => ({ id: `msg_${randomUUID()}`, type, at: Date.now(), data: {} });
const org = (name: string, displayName = name.toUpperCase()) => ({ name, displayName, createdAt: 1, createdBy: 'tester', updatedAt: 1 });

/** What every backend promises about organizations (docs/organizations.md); run from storeContract. */
export function organizationContract(t: Test, store: () => Directory & EventLog): void {
  t.test('default is present from the start, and a repository without an organization belongs to it', async (t) => {
    const s = store();
    t.same(await s.getOrganization('default'), defaultOrganization());
    t.same(await s.listOrganizations(), [defaultOrganization()]);
    t.equal(await s.createOrganization(org('default')), false, 'default is taken');
    t.equal(await s.createRepository({ name: 'plain', createdAt: 1, createdBy: 'x' }), true);
    t.same(await s.getRepository('plain'), { name: 'plain', createdAt: 1, createdBy: 'x' }, 'written as before: no organization field');
    t.equal(await s.deleteOrganization('default'), 'not-empty', 'default is never removed');
    t.equal(await s.putOrganization({ ...defaultOrganization(), displayName: 'Everyone', updatedAt: 5 }), true, 'default can be renamed');
    t.equal((await s.getOrganization('default'))?.displayName, 'Everyone');
    t.same(
      (await s.listOrganizations()).map((o) => o.name),
      ['default'],
      'listed once after an edit',
    );
  });

  t.test('organizations are created once, edited, listed and deleted only when empty', async (t) => {
    const s = store();
    t.equal(await s.createOrganization(org('acme')), true);
    t.equal(await s.createOrganization(org('acme', 'other')), false);
    t.same(await s.getOrganization('acme'), org('acme'));
    t.equal(await s.putOrganization({ ...org('acme'), displayName: 'Acme Inc', updatedAt: 2 }), true);
    t.equal((await s.getOrganization('acme'))?.displayName, 'Acme Inc');
    t.equal(await s.putOrganization(org('ghost')), false, 'editing none creates none');
    t.equal(await s.getOrganization('ghost'), undefined);
    t.same((await s.listOrganizations()).map((o) => o.name).sort(), ['acme', 'default']);
    t.equal(await s.createRepository({ name: 'sensors', createdAt: 1, createdBy: 'x', organization: 'acme' }), true);
    t.equal((await s.getRepository('sensors'))?.organization, 'acme');
    t.equal(await s.deleteOrganization('acme'), 'not-empty');
    t.equal(await s.deleteRepository('sensors'), true);
    t.equal(await s.deleteOrganization('acme'), 'deleted');
    t.equal(await s.deleteOrganization('acme'), 'missing');
    t.equal(await s.getOrganization('acme'), undefined);
  });

  t.test('a repository is refused in an organization that does not exist', async (t) => {
    const s = store();
    t.equal(await s.createRepository({ name: 'orphan', createdAt: 1, createdBy: 'x', organization: 'nowhere' }), false);
    t.equal(await s.getRepository('orphan'), undefined);
  });

  t.test('racing a repository create and its organization delete: never a repository without an organization', async (t) => {
    const s = store();
    for (let round = 0; round < 5; round++) {
      const name = `race${round}`;
      await s.createOrganization(org(name));
      const [created, deleted] = await Promise.all([
        s.createRepository({ name: `${name}-repo`, createdAt: 1, createdBy: 'x', organization: name }),
        s.deleteOrganization(name),
      ]);
      const orgThere = (await s.getOrganization(name)) !== undefined;
      t.ok(created ? orgThere && deleted === 'not-empty' : !orgThere && deleted === 'deleted', `round ${round}: created=${created} deleted=${deleted}`);
    }
  });

  t.test('organization writes keep their events, and refused ones do not', async (t) => {
    const s = store();
    await s.openQueue('wh_o');
    t.equal(await s.createOrganization(org('acme'), [event('organization.created')]), true);
    t.equal(await s.createOrganization(org('acme'), [event('organization.created')]), false);
    t.equal(await s.putOrganization(org('acme', 'A'), [event('organization.edited')]), true);
    t.equal(await s.createRepository({ name: 'r', createdAt: 1, createdBy: 'x', organization: 'acme' }, [event('repository.created')]), true);
    t.equal(await s.deleteOrganization('acme', [event('organization.deleted')]), 'not-empty');
    await s.deleteRepository('r', [event('repository.deleted')]);
    t.equal(await s.deleteOrganization('acme', [event('organization.deleted')]), 'deleted');
    const recent = await s.recentEvents(50, ['wh_o']);
    t.same(
      recent.map((e) => e.type),
      ['organization.deleted', 'repository.deleted', 'repository.created', 'organization.edited', 'organization.created'],
    );
  });

  t.test('teams keep their organization', async (t) => {
    const s = store();
    const team = { name: 'ops', organization: 'acme', members: [], grants: {}, createdAt: 1, updatedAt: 1 };
    await s.putTeam(team, { at: 1, actor: 'x', action: 'created', changes: {} });
    t.equal((await s.getTeam('ops'))?.organization, 'acme');
  });
}
