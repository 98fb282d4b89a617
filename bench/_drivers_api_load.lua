-- wrk script for bench_drivers_api.py: each request goes to the next target of the file
-- given after "--" (lines "path<TAB>bearer token"); prints one JSON line like the Python
-- client (bench/_drivers_api_load.py), which is used when wrk is not installed.
local targets = {}
local at = 0

function init(args)
  for line in io.lines(args[1]) do
    local path, token = line:match("^([^\t]+)\t(.+)$")
    if path then
      targets[#targets + 1] = wrk.format("GET", path, {
        ["Authorization"] = "Bearer " .. token,
        ["Accept"] = "application/json",
      })
    end
  end
end

function request()
  at = at % #targets + 1
  return targets[at]
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local bad = e.status + e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, ' ..
    '"max_ms": %.2f, "errors": %d, "statuses": {"2xx/3xx": %d, "other": %d, ' ..
    '"socket errors": %d}}\n',
    summary.requests, seconds, (summary.requests - bad) / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, bad,
    summary.requests - e.status, e.status, e.connect + e.read + e.write + e.timeout))
end
