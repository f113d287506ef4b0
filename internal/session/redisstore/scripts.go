package redisstore

import "github.com/redis/go-redis/v9"

// The Lua side of the store. Every write is one script: atomic, one round
// trip, and checks before writes, so a failed check writes nothing. Times
// come from the server (TIME): one clock decides expiry.
//
// A session is a hash: attribute fields plus the metadata fields "@" and
// "@u"; "@" starts with the created and last-seen stamps (unix ms, 6 bytes
// big-endian each) the scripts write. A renamed session's old key becomes
// a forward: a hash holding only "@m" = new member (12 bytes) then new key,
// for ForwardTTL.
//
// A user's index is a field of one of 256 index hashes; its value is a
// run of 16-byte entries: the member (a selector, 12 raw bytes) and its
// deadline (unix seconds, 4 bytes big-endian), never earlier than the
// session's expiry. Entries past their deadline are pruned whenever the
// field is written, and each new field (a user's first live session)
// samples two other fields of the hash and deletes those whose every entry
// has passed (users who never came back): dead fields stay a bounded share
// of the hash.

// luaLib is the shared part of every script.
const luaLib = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function stamp(n) return struct.pack('>I6', n) end

-- expire_at: min(now + idle, deadline), deadline 0 meaning now + lifetime
local function expire_at(now, idle, deadline, lifetime)
  local d = tonumber(deadline)
  if d == 0 then d = now + tonumber(lifetime) end
  local e = now + tonumber(idle)
  if d < e then return d end
  return e
end

local function ix_parse(v)
  local out = {}
  if v then
    for i = 1, #v - 15, 16 do
      out[#out + 1] = {string.sub(v, i, i + 11), struct.unpack('>I4', v, i + 12)}
    end
  end
  return out
end

local function ix_read(key, field) return ix_parse(redis.call('HGET', key, field)) end

local function ix_write(key, field, list)
  if #list == 0 then
    redis.call('HDEL', key, field)
    return
  end
  local parts = {}
  for i, e in ipairs(list) do parts[i] = e[1] .. struct.pack('>I4', e[2]) end
  redis.call('HSET', key, field, table.concat(parts))
end

-- ix_sweep deletes up to two sampled fields whose entries have all passed.
local function ix_sweep(key, now)
  local r = redis.call('HRANDFIELD', key, 2, 'WITHVALUES')
  for i = 1, #r, 2 do
    local v, live = r[i + 1], false
    for j = 1, #v - 15, 16 do
      if struct.unpack('>I4', v, j + 12) * 1000 >= now then live = true break end
    end
    if not live then redis.call('HDEL', key, r[i]) end
  end
end

-- ix_put sets member's deadline (adding it), prunes passed entries, and
-- returns the members beyond max (closest to their deadline first), which
-- stay listed until the caller has ended them. ignore (a member about to
-- be removed, or '') does not count. A user's first entry also sweeps: each
-- user who may one day leave a dead field pays for removing up to two.
local function ix_put(key, field, member, dl, now, max, ignore)
  local entry = member .. struct.pack('>I4', math.ceil(dl / 1000))
  local v = redis.call('HGET', key, field)
  if not v then
    redis.call('HSET', key, field, entry)
    ix_sweep(key, now)
    return {}
  end
  -- The common case, cheaply: nothing passed, the member is new, and
  -- there is room: append.
  local n, clean = 0, true
  for i = 1, #v - 15, 16 do
    n = n + 1
    if struct.unpack('>I4', v, i + 12) * 1000 < now or string.sub(v, i, i + 11) == member then
      clean = false
      break
    end
  end
  if clean and (tonumber(max) <= 0 or n < tonumber(max)) then
    redis.call('HSET', key, field, v .. entry)
    return {}
  end
  local kept, counted = {}, {}
  for _, e in ipairs(ix_parse(v)) do
    if e[1] ~= member and e[2] * 1000 >= now then
      kept[#kept + 1] = e
      if e[1] ~= ignore then counted[#counted + 1] = {e[1], e[2], #counted} end
    end
  end
  kept[#kept + 1] = {member, math.ceil(dl / 1000)}
  ix_write(key, field, kept)
  local over = {}
  max = tonumber(max)
  local n = #counted + 1 - max
  if max > 0 and n > 0 then
    -- closest deadline first; among equal deadlines (kept to the second)
    -- the one written longest ago: entries keep their order, and a touch
    -- moves its entry to the end
    table.sort(counted, function(a, b) return a[2] < b[2] or a[2] == b[2] and a[3] < b[3] end)
    for i = 1, n do over[i] = counted[i][1] end
  end
  return over
end

-- ix_del removes members (a table) from the index.
local function ix_del(key, field, members)
  local drop = {}
  for _, m in ipairs(members) do drop[m] = true end
  local kept, changed = {}, false
  for _, e in ipairs(ix_read(key, field)) do
    if drop[e[1]] then changed = true else kept[#kept + 1] = e end
  end
  if changed then ix_write(key, field, kept) end
end

-- apply_delta applies ARGV's delta (from position first) to key: checks
-- first, then writes. It returns nil and the counters' new values, or an
-- error reply table.
local MAXC = 9007199254740991
local function apply_delta(key, first)
  local ns, nd, nf, ni = tonumber(ARGV[first]), tonumber(ARGV[first + 1]), tonumber(ARGV[first + 2]), tonumber(ARGV[first + 3])
  local start = first + 4
  local conflicts = {}
  local i = start
  for _ = 1, ns do
    local cur = redis.call('HGET', key, ARGV[i]) or ''
    if cur ~= ARGV[i + 1] and cur ~= ARGV[i + 2] then conflicts[#conflicts + 1] = ARGV[i] end
    i = i + 3
  end
  for _ = 1, nd do
    local cur = redis.call('HGET', key, ARGV[i])
    if cur and cur ~= ARGV[i + 1] then conflicts[#conflicts + 1] = ARGV[i] end
    i = i + 2
  end
  if #conflicts > 0 then return {-2, unpack(conflicts)}, nil end
  local ii = i + 2 * nf
  local results = {}
  for j = 1, ni do
    -- Integers up to MAXC are exact in Lua's numbers; a sum of two of
    -- them that is not exact is beyond MAXC, so refused either way.
    local n = (tonumber(redis.call('HGET', key, ARGV[ii]) or '0') or 0) + tonumber(ARGV[ii + 1])
    local max = tonumber(ARGV[ii + 2])
    if n > max or n < -MAXC or n ~= math.floor(n) then return {-3, ARGV[ii]}, nil end
    results[j] = n
    ii = ii + 3
  end
  local hset, hdel = {}, {}
  i = start
  for _ = 1, ns do hset[#hset + 1] = ARGV[i]; hset[#hset + 1] = ARGV[i + 2]; i = i + 3 end
  for _ = 1, nd do hdel[#hdel + 1] = ARGV[i]; i = i + 2 end
  for _ = 1, nf do
    if ARGV[i + 1] == '' then hdel[#hdel + 1] = ARGV[i] else hset[#hset + 1] = ARGV[i]; hset[#hset + 1] = ARGV[i + 1] end
    i = i + 2
  end
  for j = 1, ni do
    if results[j] > 0 then
      hset[#hset + 1] = ARGV[i]; hset[#hset + 1] = string.format('%d', results[j])
    else
      hdel[#hdel + 1] = ARGV[i]
    end
    i = i + 3
  end
  if #hdel > 0 then redis.call('HDEL', key, unpack(hdel)) end
  if #hset > 0 then redis.call('HSET', key, unpack(hset)) end
  return nil, results
end

-- touch stamps last-seen and sets the expiry; it returns now and the expiry.
local function touch(key, idle, deadline)
  local now = now_ms()
  local exp = expire_at(now, idle, deadline, 0)
  local m = redis.call('HGET', key, '@')
  redis.call('HSET', key, '@', string.sub(m, 1, 6) .. stamp(now) .. string.sub(m, 13))
  redis.call('PEXPIREAT', key, exp)
  return now, exp
end
`

// createScript stores a new session.
//
// KEYS: session, [index]. ARGV: idle ms, lifetime ms, index field ("" for
// none), member, max, "@" without its stamps, then the other fields as
// field, value pairs. Reply: {0, now, over...} or {-4} when the key is
// taken.
var createScript = redis.NewScript(luaLib + `
if redis.call('EXISTS', KEYS[1]) == 1 then return {-4} end
local now = now_ms()
local exp = expire_at(now, ARGV[1], 0, ARGV[2])
local s = stamp(now)
redis.call('HSET', KEYS[1], '@', s .. s .. ARGV[6], unpack(ARGV, 7))
redis.call('PEXPIREAT', KEYS[1], exp)
local over = {}
if ARGV[3] ~= '' then over = ix_put(KEYS[2], ARGV[3], ARGV[4], exp, now, ARGV[5], '') end
return {0, now, unpack(over)}
`)

// applyScript applies a delta to a session.
//
// KEYS: session, [index]. ARGV: touch (0/1), idle ms, deadline ms, index
// field ("" for none), member, then the delta (see encodeDelta).
// Reply: {0, now or 0, counters...}, {-1} gone, {-2, fields...} conflict,
// {-3, field} limit.
var applyScript = redis.NewScript(luaLib + `
local key = KEYS[1]
if redis.call('HEXISTS', key, '@') == 0 then return {-1} end
local err, results = apply_delta(key, 6)
if err then return err end
local now = 0
if ARGV[1] == '1' then
  local exp
  now, exp = touch(key, ARGV[2], ARGV[3])
  if ARGV[4] ~= '' then ix_put(KEYS[2], ARGV[4], ARGV[5], exp, now, 0, '') end
end
return {0, now, unpack(results)}
`)

// renameScript moves a session to a new key (a regenerate), applying a
// delta and touching it on the way, and leaves a forward at the old key.
//
// KEYS: from, to, [add index], [remove index]. ARGV: idle ms, deadline ms,
// new member (selector), forward ms, add field ("" for none), max, remove
// field ("" for none), remove member, then the delta. Reply: {0, now,
// #counters, counters..., over...}, {-1} gone, {-5} moved (renamed by a
// concurrent call), {-4} target taken, {-2...} conflict, {-3...} limit.
var renameScript = redis.NewScript(luaLib + `
local from, to = KEYS[1], KEYS[2]
if redis.call('HEXISTS', from, '@') == 0 then
  if redis.call('HEXISTS', from, '@m') == 1 then return {-5} end
  return {-1}
end
if redis.call('EXISTS', to) == 1 then return {-4} end
local err, results = apply_delta(from, 9)
if err then return err end
redis.call('RENAME', from, to)
redis.call('HSET', from, '@m', ARGV[3] .. to)
redis.call('PEXPIRE', from, ARGV[4])
local now, exp = touch(to, ARGV[1], ARGV[2])
local k = 3
local over = {}
if ARGV[5] ~= '' then
  local ignore = ''
  if ARGV[7] == ARGV[5] and KEYS[k] == KEYS[k + 1] then ignore = ARGV[8] end
  over = ix_put(KEYS[k], ARGV[5], ARGV[3], exp, now, ARGV[6], ignore)
  k = k + 1
end
if ARGV[7] ~= '' then ix_del(KEYS[k], ARGV[7], {ARGV[8]}) end
local out = {0, now, #results}
for _, n in ipairs(results) do out[#out + 1] = n end
for _, m in ipairs(over) do out[#out + 1] = m end
return out
`)

// endScript ends sessions, following forwards (renames that raced).
//
// KEYS: [index], sessions... ARGV: number of index keys (0/1), index field,
// then the members of the sessions, in order. Reply: {ended, members
// removed...} (followed ones included).
var endScript = redis.NewScript(luaLib + `
local ni = tonumber(ARGV[1])
local ended, removed = 0, {}
for i = ni + 1, #KEYS do
  local k, member = KEYS[i], ARGV[i - ni + 2]
  for _ = 1, 5 do
    local fwd = redis.call('HGET', k, '@m')
    -- Only the entries of sessions this ends go: a missing session's entry
    -- may be a Cluster login between its index write and its session write.
    if redis.call('HEXISTS', k, '@') == 1 then
      ended = ended + 1
      removed[#removed + 1] = member
      redis.call('UNLINK', k)
    elseif fwd then
      redis.call('UNLINK', k)
    end
    if not fwd then break end
    k, member = string.sub(fwd, 13), string.sub(fwd, 1, 12)
  end
end
if ni == 1 then ix_del(KEYS[1], ARGV[2], removed) end
return {ended, unpack(removed)}
`)

// ixPutScript is ix_put on its own (Redis Cluster: the index is in another
// slot than the session). The deadline is this node's now plus the
// session's remaining time plus the tolerated skew between nodes' clocks.
//
// KEYS: index. ARGV: field, member, idle ms, deadline ms (0: now +
// lifetime), lifetime ms, skew ms, max, [ignore]. Reply: over members.
var ixPutScript = redis.NewScript(luaLib + `
local now = now_ms()
local exp = expire_at(now, ARGV[3], ARGV[4], ARGV[5]) + tonumber(ARGV[6])
return ix_put(KEYS[1], ARGV[1], ARGV[2], exp, now, ARGV[7], ARGV[8] or '')
`)

// ixDelScript is ix_del on its own. KEYS: index. ARGV: field, members...
var ixDelScript = redis.NewScript(luaLib + `
local members = {}
for i = 2, #ARGV do members[#members + 1] = ARGV[i] end
ix_del(KEYS[1], ARGV[1], members)
return 0
`)
