-- wrk script (bench/run-features): POST /api/features/online for one random
-- customer of the synthetic repository × the `scoring` service (50 features).
-- KILN_BENCH_ENTITIES: customers 0..N-1 (default 10000). At the end prints
-- one line "WRK_JSON {...}" with the figures (latencies in µs).
wrk.method = "POST"
wrk.path = "/api/features/online"
wrk.headers["Content-Type"] = "application/json"

local entities = tonumber(os.getenv("KILN_BENCH_ENTITIES") or "10000")
local template = '{"feature_service":"scoring","entities":{"customer":[%d]}}'

setup = function(thread)
  thread:set("seed", math.random(1, 1000000))
end

init = function(args)
  math.randomseed(seed or 1)
end

request = function()
  return wrk.format(nil, nil, nil, string.format(template, math.random(0, entities - 1)))
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "rate": %.1f, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d, ' ..
    '"mean_us": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    e.connect, e.read, e.write, e.status, e.timeout, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
