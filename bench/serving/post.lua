-- wrk script (bench/run-serving): POSTs request bodies taken at random from a file, to the
-- URL's path; optionally paced to a fixed aggregate rate. Needs wrk's LuaJIT (Debian's wrk 4.1).
--
--   KILN_BENCH_BODIES=FILE   one JSON body per line (bench/serving/make_bodies.py); each request
--                            takes a random line (a random user of the 100,000, or a random
--                            1,000-row batch)
--   KILN_BENCH_RATE=R        optional: pace to R requests/s in all (wrk has no rate option; wrk2
--                            is not in Debian). With KILN_BENCH_THREADS=T (wrk's -t), each
--                            thread keeps its own schedule of R/T requests/s: request k of a
--                            thread is due at start + k·T/R, and delay() holds each request
--                            until its due time (wrk's delay is in whole ms, but the schedule
--                            is absolute, so the rounding does not accumulate). A request
--                            whose due time has passed goes at once and counts as "late"
--                            (more than 1 ms behind); wrk times latency from the SEND, not the
--                            due time, so when requests are late the latency figures flatter the
--                            server (coordinated omission): look at late_fraction, and at the
--                            open-loop generator's figure (kiln_bench_features_http) beside it.
-- At the end prints one line "WRK_JSON {...}" (latencies in µs; rate = requests/s over the
-- whole run, errors_status = wrk's "Non-2xx or 3xx responses").
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } kiln_timespec;
  int clock_gettime(int clock, kiln_timespec *ts);
]]
local timespec = ffi.new("kiln_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, timespec)  -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local threads = {}
setup = function(thread)
  thread:set("seed", #threads + 1)
  table.insert(threads, thread)
end

-- The bodies file is read whole and a request picks a random byte, then the line after it
-- (lines are alike in length, so nearly uniform); each request is formatted once, on first
-- use. init() must stay cheap: wrk starts thread 1 before it runs thread 2's init(), and
-- times the run from after the last init, so a slow init() (splitting 100,000 lines takes
-- ~0.3 s) lets the first thread's extra requests inflate the rate.
local text = nil
local formatted = {}
local interval_ms = nil
local next_due = nil
late = 0
sent = 0

init = function(args)
  math.randomseed(seed or 1)
  local path = os.getenv("KILN_BENCH_BODIES")
  if not path then error("post.lua: set KILN_BENCH_BODIES to a file of request bodies") end
  local file = assert(io.open(path, "rb"))
  text = file:read("*a")
  file:close()
  if #text == 0 then error("post.lua: no bodies in " .. path) end
  if text:sub(-1) ~= "\n" then text = text .. "\n" end
  local rate = tonumber(os.getenv("KILN_BENCH_RATE") or "0")
  if rate > 0 then
    local per_thread = rate / tonumber(os.getenv("KILN_BENCH_THREADS") or "1")
    interval_ms = 1000 / per_thread
  end
end

local function pick()
  -- the line after a random byte (wrapping to the first); string.find is C's memchr speed
  local newline = text:find("\n", math.random(1, #text), true)
  local start = newline + 1
  if start > #text then start = 1 end
  local cached = formatted[start]
  if cached then return cached end
  local stop = text:find("\n", start, true)
  cached = wrk.format(nil, nil, nil, text:sub(start, stop - 1))
  formatted[start] = cached
  return cached
end

if os.getenv("KILN_BENCH_RATE") and tonumber(os.getenv("KILN_BENCH_RATE")) > 0 then
  delay = function()
    local now = now_ms()
    if next_due == nil then next_due = now end
    local due = next_due
    next_due = next_due + interval_ms
    sent = sent + 1
    if due >= now then return math.floor(due - now + 0.5) end
    if now - due > 1 then late = late + 1 end
    return 0
  end
end

request = function()
  return pick()
end

done = function(summary, latency, requests)
  local late_total, sent_total = 0, 0
  for _, thread in ipairs(threads) do
    late_total = late_total + (thread:get("late") or 0)
    sent_total = sent_total + (thread:get("sent") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "rate": %.1f, "bytes": %d, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d, ' ..
    '"mean_us": %.1f, "stdev_us": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, ' ..
    '"max_us": %d, "paced_sends": %d, "late_sends": %d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, sent_total, late_total))
end
