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
  atomic ? `local K = 2\n${LOG_CHANGE}\n${body}` : `local function logChange() end\n${body}`;

// ARGV: entry, id, kind, status, expiresAt ('' = none), then the fields.
export const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('RPUSH', KEYS[2], ARGV[1])
logChange(ARGV[2], '', '', ARGV[3], ARGV[4], ARGV[5])
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

export interface Scripts {
  tgBump(seq: string, changes: string, ...ids: string[]): Promise<number>;
  tgChange(...keysAndArgs: string[]): Promise<number>;
  tgCreate(...keysAndArgs: string[]): Promise<number>;
  tgUpdate(...keysAndArgs: string[]): Promise<0 | -1 | [string, string]>;
  tgDelete(...keysAndArgs: string[]): Promise<0 | -1 | [string, string]>;
  tgTouch(token: string, at: string, ip: string, userAgent: string): Promise<number>;
}
