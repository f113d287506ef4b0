-- wrk script for the session benchmark (driven by cmd/bench).
-- args: scenario cookiefile
--   scenario: index | login | loginone | cart | anon
--   cookiefile: one "name=value" cookie per line, or "-" for none
-- Every answer is judged (response below); done() prints one line
-- "BENCHJSON {...}" that the driver parses.

local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("id", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

local scenario
local cookies = {}
local ncookies = 0
local counter = 0
local items = {"apple", "pear", "plum", "fig", "kiwi", "lime", "date", "grape", "melon", "peach"}
local form = {["Content-Type"] = "application/x-www-form-urlencoded"}
unexpected = 0
signedout = 0

function init(args)
  scenario = args[1]
  if args[2] and args[2] ~= "-" then
    for line in io.lines(args[2]) do
      if line ~= "" then
        ncookies = ncookies + 1
        cookies[ncookies] = line
      end
    end
  end
  -- threads start at different places of the cookie list
  counter = id * 7919
end

function request()
  counter = counter + 1
  if scenario == "anon" then
    return wrk.format("GET", "/")
  end
  if scenario == "login" then
    -- a name each: 2 threads x 5,000 names, so within a run no name comes
    -- near SESSION_MAX_PER_NAME (50) live sessions
    return wrk.format("POST", "/login", form, "name=w" .. id .. "u" .. (counter % 5000))
  end
  if scenario == "loginone" then
    -- one name for all: past the 50th, every login of ours ends one
    return wrk.format("POST", "/login", form, "name=samename")
  end
  local hdr = {["Cookie"] = cookies[(counter % ncookies) + 1]}
  if scenario == "index" then
    return wrk.format("GET", "/", hdr)
  end
  -- cart: each pass over the cookies adds the next of 10 items, so adds
  -- spread evenly and no item reaches the service's quantity limit (99)
  hdr["Content-Type"] = "application/x-www-form-urlencoded"
  local item = items[(math.floor(counter / ncookies) % 10) + 1]
  return wrk.format("POST", "/cart/add", hdr, "item=" .. item .. "&qty=1")
end

-- header is a response header; every target is Go, whose net/http writes
-- names in canonical case.
local function header(headers, name)
  return headers[name] or headers[string.lower(name)]
end

-- expires tells whether a Set-Cookie value ends the session cookie.
local function expires(cookie)
  local c = string.lower(cookie)
  return string.find(c, "^session=") ~= nil and
    (string.find(c, "max%-age=0") ~= nil or string.find(c, "max%-age=%-") ~= nil or
     string.find(c, "expires=thu, 01 jan 1970", 1, true) ~= nil)
end

-- The answer each scenario wants:
--   index:          200, no expired session cookie
--   cart:           303 to / (not /login), no expired session cookie
--   login/loginone: 303 to / with a new session cookie
--   anon:           303 to /login
-- A logged-in scenario (index, cart) sent to /login or whose cookie is
-- expired counts as signed out; anything else unexpected is an error.
function response(status, headers, body)
  local location = header(headers, "Location") or ""
  local cookie = header(headers, "Set-Cookie") or ""
  if scenario == "index" or scenario == "cart" then
    if string.find(location, "/login", 1, true) or expires(cookie) then
      signedout = signedout + 1
    elseif (scenario == "index" and status ~= 200) or
           (scenario == "cart" and (status ~= 303 or location ~= "/")) then
      unexpected = unexpected + 1
    end
  elseif scenario == "anon" then
    if status ~= 303 or location ~= "/login" then unexpected = unexpected + 1 end
  elseif status ~= 303 or location ~= "/" or string.find(cookie, "^session=[^;]") == nil or expires(cookie) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad, out = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("unexpected")
    out = out + t:get("signedout")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"unexpected":%d,"signed_out":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, bad, out,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
