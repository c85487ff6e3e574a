// The Lua scripts of the Redis store, and the commands they become on the client.

// A change of state, as a Lua function over the five {idx} keys that follow the token's own
// (KEYS[K+1..K+5]: sequence, change log, counts by kind:status, and per kind the expiry of
// stored-active tokens), so tollgate_tokens is read without loading every token and the list
// index reads only what changed. Empty kinds mean "none" (a create has no old, a delete no new).
const LOG_CHANGE = `
local function logChange(id, oldKind, oldStatus, newKind, newStatus, newExpiry)
  local seq = redis.call('INCR', KEYS[K + 1])
  redis.call('ZADD', KEYS[K + 2], seq, id)
  if oldKind ~= '' then
    redis.call('HINCRBY', KEYS[K + 3], oldKind .. ':' .. oldStatus, -1)
    redis.call('ZREM', oldKind == 'personal' and KEYS[K + 5] or KEYS[K + 4], id)
  end
  if newKind ~= '' then
    redis.call('HINCRBY', KEYS[K + 3], newKind .. ':' .. newStatus, 1)
    if newStatus == 'active' and newExpiry ~= '' then
      redis.call('ZADD', newKind == 'personal' and KEYS[K + 5] or KEYS[K + 4], newExpiry, id)
    end
  end
  return seq
end`;

/**
 * A token script whose change of state is logged in the same script (atomic: one node or
 * Sentinel, where every key is on the one server) or not at all (Cluster, where the token's {id}
 * keys and the {idx} keys live in different slots: the store logs it in a second script, and
 * reconcile() repairs the counts a crash between the two would leave off).
 */
export const tokenScript = (body: string, atomic: boolean) =>
  atomic ? `local K = 2\nlocal STREAM = KEYS[8]\n${EMIT}\n${LOG_CHANGE}\n${body}` : `local STREAM = nil\n${EMIT}\nlocal function logChange() end\n${body}`;

// The events a write makes (docs/webhooks.md), taken off the front of ARGV so each script's own
// arguments keep their places: the stream's MINID (entries older are trimmed), a count, then per
// event its id, type and JSON. emit() appends them to the stream (KEYS of the script's own
// choosing, STREAM) and is called only where the write happened, so both stand or fall together.
// On Cluster the stream is in another slot: the store passes no events and appends them after.
const EMIT = `
local MINID = table.remove(ARGV, 1)
local EVENTS = {}
for i = 1, tonumber(table.remove(ARGV, 1)) * 3 do EVENTS[i] = table.remove(ARGV, 1) end
local function emit()
  for i = 1, #EVENTS, 3 do
    redis.call('XADD', STREAM, 'MINID', '~', MINID, '*', 'id', EVENTS[i], 'type', EVENTS[i + 1], 'e', EVENTS[i + 2])
  end
end`;

/**
 * A user, team or repository write with its events (and a team's history entry) in one script:
 * KEYS hash, history list (the hash again when none), stream. ARGV after the events: mode
 * (set, setnx, del), field, value, entry ('' = none). 1 when the write happened.
 */
export const RECORD = `local STREAM = KEYS[3]
${EMIT}
local changed
if ARGV[1] == 'set' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  changed = 1
elseif ARGV[1] == 'setnx' then
  changed = redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
else
  changed = redis.call('HDEL', KEYS[1], ARGV[2])
end
if changed == 1 then
  if ARGV[4] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[4]) end
  emit()
end
return changed`;

/**
 * Organizations and the one repository write that depends on them (docs/organizations.md), in one
 * script so a repository never lands in an organization being deleted. KEYS: organizations,
 * repositories (the same slot: see RedisKeys.organizations), stream (organizations again on
 * Cluster, where the events follow the write). ARGV after the events: op, name, value, then the
 * repository's organization (create-repository) and the name of the default organization.
 * Returns 1 when written, 0 when refused (taken, missing), 2 when an organization to delete
 * still holds a repository.
 */
export const ORGANIZATION = `local STREAM = KEYS[3]
${EMIT}
local op, name, value, org, default = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local function exists(o) return o == default or redis.call('HEXISTS', KEYS[1], o) == 1 end
if op == 'create-organization' then
  if exists(name) then return 0 end
  redis.call('HSET', KEYS[1], name, value)
elseif op == 'put-organization' then
  if not exists(name) then return 0 end
  redis.call('HSET', KEYS[1], name, value)
elseif op == 'delete-organization' then
  if name == default then return 2 end
  if redis.call('HEXISTS', KEYS[1], name) == 0 then return 0 end
  for _, raw in ipairs(redis.call('HVALS', KEYS[2])) do
    local ok, repo = pcall(cjson.decode, raw)
    if ok and type(repo) == 'table' and repo.organization == name then return 2 end
  end
  redis.call('HDEL', KEYS[1], name)
else
  if not exists(org) then return 0 end
  if redis.call('HSETNX', KEYS[2], name, value) == 0 then return 0 end
end
emit()
return 1`;

/**
 * A webhook's sender takes its head event (docs/webhooks.md). The consumer group holds at most one
 * pending entry per webhook (nothing is read past a pending one), so delivery is in order and
 * one at a time across replicas. The head is free when its lease ran out (its sender died or
 * hung) or its back-off is over; then this sender claims it. Types the webhook does not want
 * are acknowledged and passed over. KEYS: stream. ARGV: group, consumer, now, lease ms, the
 * delivery key head (+ event id), wanted types (comma list, * for all), retention ms.
 * Returns {'idle'}, {'wait', until} or {'event', json, delivery fields...}.
 */
export const TAKE = `
local group, consumer, now, head = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[5]
local wants = {}
for t in string.gmatch(ARGV[6], '[^,]+') do wants[t] = true end
local function field(entry, name)
  for i = 1, #entry, 2 do if entry[i] == name then return entry[i + 1] end end
end
for step = 1, 500 do
  local sid, fields, pending
  local p = redis.call('XPENDING', KEYS[1], group, '-', '+', 1)
  if #p > 0 then
    sid, pending = p[1][1], true
    local r = redis.call('XRANGE', KEYS[1], sid, sid)
    if #r > 0 then fields = r[1][2] end
  else
    local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', KEYS[1], '>')
    if not r then return {'idle'} end
    sid, fields = r[1][2][1][1], r[1][2][1][2]
  end
  if fields == nil or not (wants['*'] or wants[field(fields, 'type')]) then
    redis.call('XACK', KEYS[1], group, sid)
  else
    local dkey = head .. field(fields, 'id')
    local d = redis.call('HMGET', dkey, 'state', 'attempts', 'leaseUntil', 'nextAttemptAt')
    if d[1] == 'sending' and now < tonumber(d[3]) then return {'wait', d[3]} end
    if d[1] == 'waiting' and now < tonumber(d[4]) then return {'wait', d[4]} end
    if pending then redis.call('XCLAIM', KEYS[1], group, consumer, 0, sid, 'JUSTID') end
    redis.call('HSET', dkey, 'state', 'sending', 'attempts', (tonumber(d[2]) or 0) + 1, 'lastAttemptAt', ARGV[3],
      'leaseUntil', string.format('%d', now + tonumber(ARGV[4])), 'nextAttemptAt', '', 'sid', sid)
    redis.call('PEXPIRE', dkey, ARGV[7])
    local out = {'event', field(fields, 'e')}
    for _, v in ipairs(redis.call('HGETALL', dkey)) do out[#out + 1] = v end
    return out
  end
end
return {'wait', ARGV[3]}`;

/**
 * Records an attempt's end; acknowledges the entry when it is done (delivered or given up). A
 * delivery already settled is left alone. KEYS: stream, the delivery hash. ARGV: group, done
 * ('1'/'0'), then the delivery's fields and values.
 */
export const SETTLE = `
local state = redis.call('HGET', KEYS[2], 'state')
if state ~= 'sending' and state ~= 'waiting' then return 0 end
local sid = redis.call('HGET', KEYS[2], 'sid')
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
if ARGV[2] == '1' then redis.call('XACK', KEYS[1], ARGV[1], sid) end
return 1`;

/** appendEventOnce: KEYS once-set, stream. ARGV: key, keep until, now, MINID, id, type, JSON. */
export const ONCE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[4], '*', 'id', ARGV[5], 'type', ARGV[6], 'e', ARGV[7])
return 1`;

/** A lease taken or renewed by its holder. KEYS: lease. ARGV: holder, ms. */
export const LEASE = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// ARGV: entry, id, kind, status, expiresAt ('' = none), then the fields.
export const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('RPUSH', KEYS[2], ARGV[1])
logChange(ARGV[2], '', '', ARGV[3], ARGV[4], ARGV[5])
emit()
return 1`;
// UPDATE and DELETE are compare-and-set on the version field (a record written before versions
// existed reads as 0): -1 when another change came first, 0 when the token is gone, else the
// kind and status the token had. UPDATE leaves lastUsedAt alone (it is written apart, by TOUCH)
// and sets the version itself. ARGV: entry, expected version, id, kind, status, expiresAt, fields.
export const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local version = tonumber(redis.call('HGET', KEYS[1], 'version')) or 0
if version ~= tonumber(ARGV[2]) then return -1 end
local old = redis.call('HMGET', KEYS[1], 'kind', 'status')
redis.call('HSET', KEYS[1], 'version', version + 1, unpack(ARGV, 7))
redis.call('RPUSH', KEYS[2], ARGV[1])
logChange(ARGV[3], old[1], old[2], ARGV[4], ARGV[5], ARGV[6])
emit()
return old`;
// ARGV: entry, expected version, id.
export const DELETE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local version = tonumber(redis.call('HGET', KEYS[1], 'version')) or 0
if version ~= tonumber(ARGV[2]) then return -1 end
local old = redis.call('HMGET', KEYS[1], 'kind', 'status')
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
logChange(ARGV[3], old[1], old[2], '', '', '')
emit()
return old`;
export const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'lastUsedAt')) or 0
if current < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1], 'lastUsedIp', ARGV[2], 'lastUsedUserAgent', ARGV[3])
end
return 1`;

// The change log behind the list index: one sequence and one sorted set, both under {idx}.
export const BUMP = `
for i = 1, #ARGV do
  local seq = redis.call('INCR', KEYS[1])
  redis.call('ZADD', KEYS[2], seq, ARGV[i])
end
return 1`;

// The change of state on its own (Cluster, after the token's script). ARGV: id, old kind, old
// status, new kind, new status, new expiresAt.
export const CHANGE = `local K = 0\n${LOG_CHANGE}\nreturn logChange(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])`;

// Limits: hand out what is left of a token's budget in one window. KEYS[1] the window's
// counter, KEYS[2] the prior window's (both under the token's {id} hash tag: one slot on a
// Cluster). ARGV: cap, want, ttl ms, prior weight in thousandths (0: fixed window). Answers
// {granted, left}. The same arithmetic as BudgetCounters.take (memory and file stores).
export const BUDGET_TAKE = `
local taken = tonumber(redis.call('GET', KEYS[1]) or '0')
local prior = 0
local permille = tonumber(ARGV[4])
if permille > 0 then prior = math.floor(tonumber(redis.call('GET', KEYS[2]) or '0') * permille / 1000) end
local left = math.max(0, tonumber(ARGV[1]) - taken - prior)
local granted = math.min(tonumber(ARGV[2]), left)
redis.call('SET', KEYS[1], taken + granted, 'PX', ARGV[3])
return {granted, left - granted}`;

// Gives back an unspent lease: never below zero, and nothing for a counter already gone.
export const BUDGET_RETURN = `
local taken = tonumber(redis.call('GET', KEYS[1]) or '-1')
if taken < 0 then return 0 end
redis.call('SET', KEYS[1], math.max(0, taken - tonumber(ARGV[1])), 'KEEPTTL')
return 1`;

export interface Scripts {
  tgBudgetTake(current: string, prior: string, cap: string, want: string, ttlMs: string, permille: string): Promise<[number, number]>;
  tgBudgetReturn(key: string, amount: string): Promise<number>;
  tgBump(seq: string, changes: string, ...ids: string[]): Promise<number>;
  tgChange(...keysAndArgs: string[]): Promise<number>;
  tgCreate(...keysAndArgs: string[]): Promise<number>;
  tgUpdate(...keysAndArgs: string[]): Promise<0 | -1 | [string, string]>;
  tgDelete(...keysAndArgs: string[]): Promise<0 | -1 | [string, string]>;
  tgTouch(token: string, at: string, ip: string, userAgent: string): Promise<number>;
  tgRecord(...keysAndArgs: string[]): Promise<number>;
  tgOrganization(...keysAndArgs: string[]): Promise<number>;
  tgTake(...keysAndArgs: string[]): Promise<string[]>;
  tgSettle(...keysAndArgs: string[]): Promise<number>;
  tgOnce(...keysAndArgs: string[]): Promise<number>;
  tgLease(key: string, holder: string, ms: string): Promise<number>;
  tgUsageAdd(key: string, ...args: string[]): Promise<number>;
}

// Usage history (docs/usage.md): adds one token's counts of one day in one step, so a batch is
// counted whole or not at all, and sets the day's expiry (retention past its end). ARGV: the
// expiry in ms from now, then field and increment pairs.
export const USAGE_ADD = `
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;
