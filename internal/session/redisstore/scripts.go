package redisstore

import (
	"fmt"

	"github.com/sessiond/sessiond/internal/session"
)

// The Lua side of the store. Every write is one script: atomic, one round
// trip, and checks before writes, so a failed check writes nothing. Times
// come from the server (TIME): one clock decides expiry.
//
// A session is a hash: attribute fields plus the metadata fields "@" and
// "@u"; "@" starts with the created and last-seen stamps (unix ms, 6 bytes
// big-endian each) the scripts write. A renamed session's old key becomes
// a forward: a hash holding only "@m" = the layout's marker, the new
// member (12 bytes), then the new key, for ForwardTTL.
//
// A user's index is a field of one of 256 index hashes; its value is the
// layout's marker then a run of 16-byte entries: the member (a selector,
// 12 raw bytes) and its deadline (unix seconds, 4 bytes big-endian),
// never earlier than the session's expiry. Entries past their deadline
// are pruned whenever the field is written, and each new field (a user's
// first live session) samples two other fields of the hash and deletes
// those whose every entry has passed (users who never came back): dead
// fields stay a bounded share of the hash.
//
// A key of another type under one of these names, or a value without the
// layout's marker, is not the store's: scripts treat it as absent (an
// index key of another type is replaced when written) and report it in
// their reply (see foreignCodes), for the operators' count.

// prelude is what every script starts with: the statuses and limits Go
// and Lua share, defined once, in Go.
var prelude = fmt.Sprintf(`
local OK, GONE, CONFLICT, LIMIT, EXISTS, MOVED = %d, %d, %d, %d, %d, %d
local MAX_HOPS = %d
local MAXC = %d
`, statusOK, statusGone, statusConflict, statusLimit, statusExists, statusMoved,
	session.MaxForwardHops, int64(session.MaxCounter))

// luaLib is the shared part of every script.
const luaLib = `
-- MK is the layout's marker (set by each script from its arguments);
-- FOREIGN collects what the script met that is not the store's, two
-- letters each: the record (S session, I index, F forward) and the
-- reason (t another type, f another format). Each script sets both first:
-- as functions of one library, they keep their values between calls.
local MK, FOREIGN = '', ''
local function foreign(code) FOREIGN = FOREIGN .. code end

-- reply is a script's answer: its status, what it met that was foreign,
-- then the rest.
local function reply(status, ...)
  return {status, FOREIGN, ...}
end

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

-- session_state tells what key holds: 'session', 'forward' (then also the
-- forward's member and key), or nil for nothing of the store's.
local function session_state(key)
  local has = redis.pcall('HEXISTS', key, '@')
  if type(has) == 'table' then
    foreign('St')
    return nil
  end
  if has == 1 then return 'session' end
  local fwd = redis.call('HGET', key, '@m')
  if not fwd then return nil end
  if string.sub(fwd, 1, #MK) ~= MK or #fwd < #MK + 13 then
    foreign('Ff')
    return nil
  end
  return 'forward', string.sub(fwd, #MK + 1, #MK + 12), string.sub(fwd, #MK + 13)
end

-- end_session ends the session at key (member: its index member),
-- following the forwards of renames that raced, and tells whether a
-- session ended (a forward alone is not one).
local function end_session(key, member)
  for _ = 0, MAX_HOPS do
    local state, next_member, next_key = session_state(key)
    if state == 'session' then
      redis.call('UNLINK', key)
      return true
    elseif state ~= 'forward' then
      return false
    end
    redis.call('UNLINK', key)
    key, member = next_key, next_member
  end
  return false
end

-- session_key is the key of the session whose raw member is raw, under
-- prefix (session.SessionKeys): base64url of the 12 bytes, its first
-- 4 characters the hash tag.
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local function session_key(prefix, raw)
  local out = {}
  for i = 1, #raw - 2, 3 do
    local a, b, c = string.byte(raw, i, i + 2)
    local n = a * 65536 + b * 256 + c
    for shift = 18, 0, -6 do
      local v = math.floor(n / 2 ^ shift) % 64
      out[#out + 1] = string.sub(B64, v + 1, v + 1)
    end
  end
  local sel = table.concat(out)
  return prefix .. '{' .. string.sub(sel, 1, 4) .. '}' .. string.sub(sel, 5)
end

-- ix_get returns the entries of an index field (its value after the
-- marker), or nil and why not: nil for no entries, 't' when the key is
-- of another type, 'f' when the value is not in this layout's format.
local function ix_get(key, field)
  local v = redis.pcall('HGET', key, field)
  if type(v) == 'table' then
    foreign('It')
    return nil, 't'
  end
  if not v then return nil end
  if string.sub(v, 1, #MK) ~= MK then
    foreign('If')
    return nil, 'f'
  end
  return string.sub(v, #MK + 1)
end

local function ix_write(key, field, list)
  if #list == 0 then
    redis.call('HDEL', key, field)
    return
  end
  local parts = {MK}
  for _, e in ipairs(list) do parts[#parts + 1] = e[1] .. struct.pack('>I4', e[2]) end
  redis.call('HSET', key, field, table.concat(parts))
end

-- ix_sweep deletes up to two sampled fields whose entries have all passed
-- (or that are not in this layout's format).
local function ix_sweep(key, now)
  local r = redis.call('HRANDFIELD', key, 2, 'WITHVALUES')
  for i = 1, #r, 2 do
    local v, live = r[i + 1], false
    if string.sub(v, 1, #MK) == MK then
      for j = #MK + 1, #v - 15, 16 do
        if struct.unpack('>I4', v, j + 12) * 1000 >= now then live = true break end
      end
    end
    if not live then redis.call('HDEL', key, r[i]) end
  end
end

-- ix_find is where the entry of member m starts in v, or nil.
local function ix_find(v, m)
  local at = 1
  while true do
    local i = string.find(v, m, at, true)
    if not i or (i - 1) % 16 == 0 then return i end
    at = i + 1 -- a match across two entries: go on
  end
end

-- ix_put sets member's deadline (adding it, unless only_move: then an
-- entry that is not there stays away), prunes passed entries, drops the
-- member drop ('' for none: the session a rename replaces), and returns
-- the members beyond max (closest to their deadline first). When evict is
-- the prefix of the sessions' keys (they are on this node), it ends those
-- sessions and their entries in this write and returns none; otherwise
-- they stay listed until the caller has ended them. A user's first entry
-- also sweeps: each user who may one day leave a dead field pays for
-- removing up to two.
local function ix_put(key, field, member, dl, now, max, drop, only_move, evict)
  max = tonumber(max)
  local v, bad = ix_get(key, field)
  if bad == 't' then redis.call('DEL', key) end
  local entry = member .. struct.pack('>I4', math.ceil(dl / 1000))
  if not v then
    if only_move then return {} end
    redis.call('HSET', key, field, MK .. entry)
    ix_sweep(key, now)
    return {}
  end
  -- Whether any entry goes (the member itself, the one to drop, one
  -- passed), found by C-speed searches and one pass over the deadlines
  -- (4 bytes big-endian: they compare as strings), which also finds the
  -- entry closest to its deadline (the first of equals: written longest
  -- ago).
  local n = math.floor(#v / 16)
  local found = ix_find(v, member) ~= nil
  local prune = found or (drop ~= '' and ix_find(v, drop) ~= nil)
  local oldest_at, oldest_dl
  for i = 13, n * 16, 16 do
    local d = string.sub(v, i, i + 3)
    if not oldest_dl or d < oldest_dl then oldest_at, oldest_dl = i - 12, d end
  end
  if oldest_dl and struct.unpack('>I4', oldest_dl) * 1000 < now then prune = true end
  if only_move and not found then return {} end
  if not prune then
    -- The common cases, without decoding: room left, append; a name at
    -- its maximum (a shared account), the entry closest to its deadline
    -- is the one beyond it.
    if max <= 0 or n < max then
      redis.call('HSET', key, field, MK .. v .. entry)
      return {}
    end
    if n == max then
      local victim = string.sub(v, oldest_at, oldest_at + 11)
      if evict == '' then
        redis.call('HSET', key, field, MK .. v .. entry)
        return {victim}
      end
      end_session(session_key(evict, victim), victim)
      redis.call('HSET', key, field, MK .. string.sub(v, 1, oldest_at - 1) .. string.sub(v, oldest_at + 16) .. entry)
      return {}
    end
  end
  local kept = {}
  for i = 1, #v - 15, 16 do
    local m, d = string.sub(v, i, i + 11), struct.unpack('>I4', v, i + 12)
    if m ~= member and m ~= drop and d * 1000 >= now then kept[#kept + 1] = {m, d, #kept} end
  end
  local over = {}
  local excess = #kept + 1 - max
  if max > 0 and excess > 0 then
    -- closest deadline first; among equal deadlines (kept to the second)
    -- the one written longest ago: entries keep their order, and a touch
    -- moves its entry to the end
    local order = {unpack(kept)}
    table.sort(order, function(a, b) return a[2] < b[2] or a[2] == b[2] and a[3] < b[3] end)
    for i = 1, excess do over[i] = order[i][1] end
  end
  if evict ~= '' and #over > 0 then
    local gone = {}
    for _, m in ipairs(over) do
      gone[m] = true
      end_session(session_key(evict, m), m)
    end
    local left = {}
    for _, e in ipairs(kept) do
      if not gone[e[1]] then left[#left + 1] = e end
    end
    kept, over = left, {}
  end
  kept[#kept + 1] = {member, math.ceil(dl / 1000)}
  ix_write(key, field, kept)
  return over
end

-- ix_del removes members (a table) from the index.
local function ix_del(key, field, members)
  local v = ix_get(key, field)
  if not v then return end
  local drop = {}
  for _, m in ipairs(members) do drop[m] = true end
  local kept, changed = {}, false
  for i = 1, #v - 15, 16 do
    local m = string.sub(v, i, i + 11)
    if drop[m] then changed = true else kept[#kept + 1] = {m, struct.unpack('>I4', v, i + 12)} end
  end
  if changed then ix_write(key, field, kept) end
end

-- delta_layout reads the counts encodeDelta put at ARGV[first] and
-- returns where each part of the delta starts, and where it ends: sets
-- (field, expected, value each), dels (field, expected), force (field,
-- value; '' deletes), incrs (field, by, max). Positions, not tables: a
-- table per field costs more of Redis' time than the write itself.
local function delta_layout(ARGV, first)
  local sets = first + 4
  local dels = sets + 3 * tonumber(ARGV[first])
  local force = dels + 2 * tonumber(ARGV[first + 1])
  local incrs = force + 2 * tonumber(ARGV[first + 2])
  return sets, dels, force, incrs, incrs + 3 * tonumber(ARGV[first + 3])
end

-- apply_delta applies the delta at ARGV[first] (see delta_layout) to key:
-- checks first, then writes. It returns nil and the counters' new values,
-- or an error reply.
local function apply_delta(key, ARGV, first)
  local sets, dels, force, incrs, stop = delta_layout(ARGV, first)
  local conflicts
  for i = sets, dels - 1, 3 do
    local field, expected, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    -- a compare-and-set holds when the field is as read, or already set
    local cur = redis.call('HGET', key, field) or ''
    if cur ~= expected and cur ~= value then
      conflicts = conflicts or {}
      conflicts[#conflicts + 1] = field
    end
  end
  for i = dels, force - 1, 2 do
    local field, expected = ARGV[i], ARGV[i + 1]
    local cur = redis.call('HGET', key, field)
    if cur and cur ~= expected then
      conflicts = conflicts or {}
      conflicts[#conflicts + 1] = field
    end
  end
  if conflicts then return reply(CONFLICT, unpack(conflicts)), nil end
  local results = {}
  for i = incrs, stop - 1, 3 do
    local field, by, max = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
    -- Integers up to MAXC are exact in Lua's numbers; a sum of two of
    -- them that is not exact is beyond MAXC, so refused either way.
    local n = (tonumber(redis.call('HGET', key, field) or '0') or 0) + by
    if n > max or n < -MAXC or n ~= math.floor(n) then return reply(LIMIT, field), nil end
    results[#results + 1] = n
  end
  -- the writes: one HSET and one HDEL at most, each only when needed
  local hset, hdel = {key}, nil
  local function del(field)
    hdel = hdel or {key}
    hdel[#hdel + 1] = field
  end
  for i = sets, dels - 1, 3 do hset[#hset + 1] = ARGV[i]; hset[#hset + 1] = ARGV[i + 2] end
  for i = dels, force - 1, 2 do del(ARGV[i]) end
  for i = force, incrs - 1, 2 do
    if ARGV[i + 1] == '' then del(ARGV[i]) else hset[#hset + 1] = ARGV[i]; hset[#hset + 1] = ARGV[i + 1] end
  end
  for j, n in ipairs(results) do
    local field = ARGV[incrs + 3 * (j - 1)]
    if n > 0 then
      hset[#hset + 1] = field; hset[#hset + 1] = string.format('%d', n)
    else
      del(field)
    end
  end
  if hdel then redis.call('HDEL', unpack(hdel)) end
  if #hset > 1 then redis.call('HSET', unpack(hset)) end
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

// deltaArgs is how many script arguments d takes.
func deltaArgs(d session.Delta) int {
	return 4 + 3*len(d.Sets) + 2*len(d.Dels) + 2*len(d.Force) + 3*len(d.Incrs)
}

// encodeDelta appends d in the layout delta_layout reads: #sets, #dels,
// #force, #incrs, then sets (field, expected, value)..., dels (field,
// expected)..., force (field, value)..., incrs (field, by, max)...
func encodeDelta(args []any, d session.Delta) []any {
	args = append(args, len(d.Sets), len(d.Dels), len(d.Force), len(d.Incrs))
	for _, f := range d.Sets {
		args = append(args, f.Field, f.Expected, f.Value)
	}
	for _, f := range d.Dels {
		args = append(args, f.Field, f.Expected)
	}
	for _, f := range d.Force {
		args = append(args, f.Field, f.Value)
	}
	for _, f := range d.Incrs {
		args = append(args, f.Field, f.By, f.Limit())
	}
	return args
}

// createScript stores a new session, and on one node its index entry.
var createScript = newScript("create", `
local session, index = KEYS[1], KEYS[2]
MK, FOREIGN = ARGV[1], ''
local idle, lifetime = ARGV[2], ARGV[3]
local ix_field, member, max = ARGV[4], ARGV[5], ARGV[6] -- ix_field '': no index here
local evict = ARGV[7]     -- the sessions' key prefix when they are on this node, or ''
local meta_rest = ARGV[8] -- "@" after its two stamps
local fields_at = 9       -- the other fields, as field, value pairs, to the end

if redis.call('EXISTS', session) == 1 then return reply(EXISTS) end
local now = now_ms()
local exp = expire_at(now, idle, 0, lifetime)
local s = stamp(now)
redis.call('HSET', session, '@', s .. s .. meta_rest, unpack(ARGV, fields_at))
redis.call('PEXPIREAT', session, exp)
local over = {}
if ix_field ~= '' then over = ix_put(index, ix_field, member, exp, now, max, '', false, evict) end
-- reply: OK, foreign, the store's now (ms), the members beyond max...
return reply(OK, now, unpack(over))
`)

// applyScript applies a delta to a session, following the forwards of
// renames that came after the caller read it.
var applyScript = newScript("apply", `
local session, index = KEYS[1], KEYS[2]
MK, FOREIGN = ARGV[1], ''
local touching = ARGV[2] == '1'
local idle, deadline = ARGV[3], ARGV[4]
local ix_field, member = ARGV[5], ARGV[6] -- ix_field '': no index here
local delta_at = 7                        -- the delta: see delta_layout

local key, hops = session, 0
while true do
  local state, _, to = session_state(key)
  if state == 'session' then break end
  -- a forward: a login of this browser renamed the session after the
  -- caller read it; the change goes where it went
  if state ~= 'forward' or hops == MAX_HOPS then return reply(GONE) end
  key, hops = to, hops + 1
end
local err, results = apply_delta(key, ARGV, delta_at)
if err then return err end
local now = 0
if touching and hops == 0 then
  local exp
  now, exp = touch(key, idle, deadline)
  if ix_field ~= '' then ix_put(index, ix_field, member, exp, now, 0, '', true, '') end
end
-- reply: OK, foreign, now (0 when not touched), 1 when it followed a
-- forward (else 0), the counters' new values...
local moved = 0
if hops > 0 then moved = 1 end
return reply(OK, now, moved, unpack(results))
`)

// renameScript moves a session to a new key (a regenerate), applying a
// delta and touching it on the way, and leaves a forward at the old key.
var renameScript = newScript("rename", `
local from, to = KEYS[1], KEYS[2]
MK, FOREIGN = ARGV[1], ''
local idle, deadline = ARGV[2], ARGV[3]
local member = ARGV[4]                   -- the new one (raw selector)
local forward_ms = ARGV[5]
local add_field, max = ARGV[6], ARGV[7]   -- add_field '': no index here
local evict = ARGV[8]                      -- the sessions' key prefix when they are on this node, or ''
local drop_field, drop = ARGV[9], ARGV[10] -- the old entry; drop_field '': none here
local delta_at = 11                        -- the delta: see delta_layout
local add_index = KEYS[3]                 -- add_field's index
local drop_index = KEYS[4] or KEYS[3]     -- drop_field's (KEYS[3] when nothing is added)
if add_field == '' then drop_index = KEYS[3] end

local state = session_state(from)
if state == 'forward' then return reply(MOVED) end -- a concurrent rename won
if state ~= 'session' then return reply(GONE) end
if redis.call('EXISTS', to) == 1 then return reply(EXISTS) end
local err, results = apply_delta(from, ARGV, delta_at)
if err then return err end
redis.call('RENAME', from, to)
redis.call('HSET', from, '@m', MK .. member .. to)
redis.call('PEXPIRE', from, forward_ms)
local now, exp = touch(to, idle, deadline)
local over = {}
if add_field ~= '' then
  if drop_field == add_field and drop_index == add_index then
    -- one user's index: the old entry goes in the same write, and does
    -- not count against max
    over = ix_put(add_index, add_field, member, exp, now, max, drop, false, evict)
    drop_field = ''
  else
    over = ix_put(add_index, add_field, member, exp, now, max, '', false, evict)
  end
end
if drop_field ~= '' then ix_del(drop_index, drop_field, {drop}) end
-- reply: OK, foreign, now, the number of counters, the counters...,
-- the members beyond max...
local out = reply(OK, now, #results)
for _, n in ipairs(results) do out[#out + 1] = n end
for _, m in ipairs(over) do out[#out + 1] = m end
return out
`)

// endScript ends sessions, following forwards (renames that raced).
var endScript = newScript("end", `
MK, FOREIGN = ARGV[1], ''
local n_index = tonumber(ARGV[2]) -- 0 or 1: KEYS[1] is the index
local index, ix_field = KEYS[1], ARGV[3]
local sessions, members = {}, {}  -- KEYS[n_index + 1...] and their members ARGV[4...], in order
for i = n_index + 1, #KEYS do
  sessions[#sessions + 1], members[#members + 1] = KEYS[i], ARGV[4 + i - n_index - 1]
end

local ended, removed = 0, {}
for i, key in ipairs(sessions) do
  if end_session(key, members[i]) then
    ended = ended + 1
    removed[#removed + 1] = members[i]
  end
end
-- Only the entries of sessions this ends go: a missing session's entry
-- may name a forward a later call must still follow.
if n_index == 1 then ix_del(index, ix_field, removed) end
-- reply: OK, foreign, how many sessions ended, the members removed...
return reply(OK, ended, unpack(removed))
`)

// ixPutScript is ix_put on its own (Redis Cluster: the index is in another
// slot than the session), run after the session's write for a new entry
// and before it for a touch. The deadline is this node's now plus the
// session's remaining time plus the tolerated skew between nodes' clocks.
var ixPutScript = newScript("ix_put", `
local index = KEYS[1]
MK, FOREIGN = ARGV[1], ''
local field, member = ARGV[2], ARGV[3]
local idle, deadline, lifetime, skew = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local max = ARGV[8]
local drop = ARGV[9]                 -- a member to remove in the same write, or ''
local only_move = ARGV[10] == '1'    -- a touch: never adds an entry

local now = now_ms()
local exp = expire_at(now, idle, deadline, lifetime) + tonumber(skew)
-- reply: OK, foreign, the members beyond max...
return reply(OK, unpack(ix_put(index, field, member, exp, now, max, drop, only_move, '')))
`)

// ixDelScript is ix_del on its own.
var ixDelScript = newScript("ix_del", `
local index = KEYS[1]
MK, FOREIGN = ARGV[1], ''
local field = ARGV[2]
local members = {unpack(ARGV, 3)}  -- the members to remove

ix_del(index, field, members)
-- reply: OK, foreign
return reply(OK)
`)

// scripts are every script of the store (tests load them ahead).
var scripts = []*luaScript{createScript, applyScript, renameScript, endScript, ixPutScript, ixDelScript}

// library is every script as a Redis Functions library: loaded once per
// server, each call then runs only its function, not the shared code
// before it (see functions.go).
var library = newLibrary(scripts)
