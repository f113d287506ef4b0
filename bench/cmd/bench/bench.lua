-- wrk script for the session benchmark (driven by cmd/bench).
-- args: scenario cookiefile expect
--   scenario: index | anon | login | cart
--   cookiefile: one "name=value" cookie per line, or "-" for none
--   expect: "200" (exactly) or "3xx" (any redirect)
-- Each response whose status is not the expected one is counted; done()
-- prints one line "BENCHJSON {...}" that the driver parses.

local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("id", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

local scenario, expect
local cookies = {}
local ncookies = 0
local counter = 0
local items = {"apple", "pear", "plum", "fig", "kiwi", "lime", "date", "grape", "melon", "peach"}
local form = {["Content-Type"] = "application/x-www-form-urlencoded"}
unexpected = 0

function init(args)
  scenario = args[1]
  expect = args[3] or "200"
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
    return wrk.format("POST", "/login", form, "name=w" .. id .. "u" .. (counter % 5000))
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

function response(status, headers, body)
  if expect == "3xx" then
    if status < 300 or status > 399 then unexpected = unexpected + 1 end
  elseif status ~= 200 then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"unexpected":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
