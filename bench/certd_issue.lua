-- wrk script: POST /v1/licences with a department key and a distinct Idempotency-Key per request
-- (bench/certd_wrk.sh). Usage: wrk -s certd_issue.lua URL -- API_KEY BODY_FILE RUN_ID
-- Every request issues a new licence (no replays); responses other than 201 are counted per
-- status and printed at the end (wrk itself only counts "non-2xx or 3xx").
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  key = args[1]
  local f = assert(io.open(args[2], "rb"))
  body = f:read("*a")
  f:close()
  run = args[3] or "run"
  n = 0
  bad = {}
  headers = {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }
end

function request()
  n = n + 1
  headers["Idempotency-Key"] = string.format("wrk-%s-%d-%d", run, tid, n)
  return wrk.format("POST", "/v1/licences", headers, body)
end

function response(status, hdrs, resp)
  if status ~= 201 then
    bad[status] = (bad[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local b = t:get("bad")
    for s, c in pairs(b or {}) do total[s] = (total[s] or 0) + c end
  end
  local any = false
  for s, c in pairs(total) do
    io.write(string.format("status %d: %d responses\n", s, c))
    any = true
  end
  if not any then io.write("every response was 201 Created\n") end
end
