// The top-level help, apart from main.ts so a test can hold it against the command tables
// (main.ts runs the command line when imported).

/** Every first word `tollgate` takes: what a mistyped one is compared with. */
export const TOP_COMMANDS = [
  'serve',
  'init-admin',
  'reconcile',
  'demo',
  'completion',
  'whoami',
  'token',
  'user',
  'team',
  'repo',
  'org',
  'events',
  'help',
  'version',
];

/** `tollgate --help`: every command, grouped; wrapped to the terminal by the caller. */
export const TOP_HELP = `Usage: tollgate <command> [options]

Run and set up (on the configuration, no admin API; --config FILE, else TOLLGATE_CONFIG, else config/tollgate.yaml):
  serve                   run the proxy and admin ports (--role proxy: the sidecar alone; --role control: the admin API, page and webhooks alone)
  init-admin [--name N]   make a * admin token in the store and print its secret once: the way in on a new install
  reconcile               recount the Redis store's token counters; list duplicate token names
  demo                    the quickstart: a demo upstream, the file store, tokens and curl lines (--upstream-port N; TOLLGATE_PROXY_LISTEN and TOLLGATE_ADMIN_LISTEN move its ports)
  completion bash|zsh     a shell completion script: source <(tollgate completion bash)

The admin API, with TOLLGATE_TOKEN (and --admin-url or TOLLGATE_ADMIN_URL); -o table|wide|json|yaml|name:
  whoami                  the token in TOLLGATE_TOKEN: name, kind, scope, rights, expiry
  token create|list|show|edit|roll|revoke|restore|delete|usage|history|leaked
                          tokens: make, find, change, rotate, revoke and restore, delete; usage: what their limits have left; leaked: report leaked secrets
  user create|list|show|edit|delete
                          users and their grants (what their personal tokens may hold)
  team create|list|show|edit|delete|history
                          teams: members and the grants they share
  repo create|list|limits|delete
                          repositories; limits: the default limits of their tokens
  org create|list|show|edit|delete
                          organizations: tenants above repositories, with their own admins (--org on list commands)
  events                  recent events and their webhook deliveries (--type T, --limit N)

tollgate <command> --help lists a command's options, their allowed values and examples (tollgate token --help: the token commands); tollgate --version prints the version.

Every configuration key can be set with TOLLGATE_<PATH> (TOLLGATE_STORE_REDIS_URL). Exit status: 0 ok, 1 failed, 2 bad usage or config.
`;
