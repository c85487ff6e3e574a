import t from 'tap';
import { faultsOf, fromYaml } from '../helpers/config.js';
import { newSecret } from '../helpers/webhook-receiver.js';

const secret = newSecret();

t.test('webhooks are read from the file, events default to every type', async (t) => {
  const config = fromYaml(
    t,
    `events:\n  webhooks:\n    - { url: "https://hooks.example.com/a?x=1", secret: "${secret}" }\n    - { url: "http://10.0.0.1:8080/b", secret: "${secret}", events: [token.revoked] }\n`,
  );
  t.same(config.events.webhooks, [
    { url: 'https://hooks.example.com/a?x=1', secret, events: ['*'] },
    { url: 'http://10.0.0.1:8080/b', secret, events: ['token.revoked'] },
  ]);
  t.equal(config.events.timeout, 10_000);
  t.equal(config.events.claimAfter, 30_000);
  t.same(config.events.backoff, { initial: 5000, max: 600_000 });
});

t.test('the list comes from the environment too (where secrets belong)', async (t) => {
  const config = fromYaml(t, '', { TOLLGATE_EVENTS_WEBHOOKS: JSON.stringify([{ url: 'https://h.example.com/', secret, events: ['*'] }]) });
  t.equal(config.events.webhooks[0]?.secret, secret);
});

t.test('bad webhooks are refused one line each, never printing the secret', async (t) => {
  const leaked = 'whsec_not valid base64!!';
  const faults = faultsOf(() =>
    fromYaml(
      t,
      `events:\n  claimAfter: 5s\n  timeout: 10s\n  webhooks:\n` +
        `    - { url: "ftp://x", secret: "${secret}" }\n` +
        `    - { url: "https://a.example.com/", secret: "${leaked}" }\n` +
        `    - { url: "https://b.example.com/", secret: "${secret}", events: [token.nope] }\n` +
        `    - { url: "https://b.example.com/", secret: "${secret}", colour: red }\n` +
        `    - { url: "https://c.example.com/", secret: "whsec_c2hvcnQ=" }\n`,
    ),
  );
  t.match(faults.join('\n'), /events\.webhooks\.0\.url: expected an http:\/\/ or https:\/\/ URL/);
  t.match(faults.join('\n'), /events\.webhooks\.1\.secret: expected whsec_/);
  t.match(faults.join('\n'), /events\.webhooks\.2\.events: expected a non-empty list of event types/);
  t.match(faults.join('\n'), /events\.webhooks\.3\.colour: unknown key/);
  t.match(faults.join('\n'), /events\.webhooks\.4\.secret: expected whsec_/, 'too short a key');
  t.notOk(faults.join('\n').includes('not valid base64') || faults.join('\n').includes('c2hvcnQ'), 'no secret in a fault line');
});

t.test('claimAfter must outlast the timeout, and a URL may appear once', async (t) => {
  const faults = faultsOf(() =>
    fromYaml(
      t,
      `events:\n  claimAfter: 5s\n  timeout: 10s\n  webhooks:\n    - { url: "https://a.example.com/", secret: "${secret}" }\n    - { url: "https://a.example.com/", secret: "${secret}" }\n`,
    ),
  );
  t.same(faults, ['events.claimAfter: must be longer than events.timeout', 'events.webhooks.1.url: each webhook URL may appear once']);
});

t.test('one webhook key from the environment: the URL in the file, the secret in a Secret', async (t) => {
  const other = newSecret();
  const config = fromYaml(t, `events:\n  webhooks:\n    - { url: "https://a.example.com/", secret: "${secret}" }\n    - { url: "https://b.example.com/" }\n`, {
    TOLLGATE_EVENTS_WEBHOOKS_1_SECRET: other,
    TOLLGATE_EVENTS_WEBHOOKS_1_EVENTS: '[token.revoked, token.leaked]',
    TOLLGATE_EVENTS_WEBHOOKS_0_URL: 'https://c.example.com/in',
  });
  t.same(config.events.webhooks, [
    { url: 'https://c.example.com/in', secret, events: ['*'] },
    { url: 'https://b.example.com/', secret: other, events: ['token.revoked', 'token.leaked'] },
  ]);
  const faults = faultsOf(() => fromYaml(t, '', { TOLLGATE_EVENTS_WEBHOOKS_2_SECRET: other, TOLLGATE_EVENTS_WEBHOOKS_0_EVENTS: '[' }));
  t.match(faults.join('\n'), /TOLLGATE_EVENTS_WEBHOOKS_2_SECRET: events.webhooks has no entry 2 \(it lists 0\)/);
  t.notOk(faults.join('\n').includes(other.slice(6)), 'the secret is not printed');
  t.match(
    faultsOf(() =>
      fromYaml(t, `events:\n  webhooks:\n    - { url: "https://b.example.com/", secret: "${secret}" }\n`, { TOLLGATE_EVENTS_WEBHOOKS_0_EVENTS: '[' }),
    ).join('\n'),
    /events\.webhooks\.0\.events: TOLLGATE_EVENTS_WEBHOOKS_0_EVENTS is not valid YAML/,
  );
  t.match(
    faultsOf(() => fromYaml(t, `events:\n  webhooks:\n    - { url: "https://b.example.com/" }\n`)).join('\n'),
    /events\.webhooks\.0\.secret: required|events\.webhooks\.0\.secret/,
  );
});
