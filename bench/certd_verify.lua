-- wrk script: POST /v1/verify with a licence PDF (application/pdf) or a QR text (JSON)
-- (bench/certd_wrk.sh). Usage: wrk -s certd_verify.lua URL -- pdf FILE | qr FILE
-- Counts answers whose status is not 200 or whose verdict is not VALID, printed at the end.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[2], "rb"))
  local data = f:read("*a")
  f:close()
  if args[1] == "pdf" then
    req = wrk.format("POST", "/v1/verify", { ["Content-Type"] = "application/pdf" }, data)
  else
    req = wrk.format("POST", "/v1/verify", { ["Content-Type"] = "application/json" }, data)
  end
  bad = 0
  notvalid = 0
end

function request()
  return req
end

function response(status, hdrs, resp)
  if status ~= 200 then
    bad = bad + 1
  elseif not string.find(resp, '"result":"VALID"', 1, true) then
    notvalid = notvalid + 1
  end
end

function done(summary, latency, requests)
  local b, nv = 0, 0
  for _, t in ipairs(threads) do
    b = b + (t:get("bad") or 0)
    nv = nv + (t:get("notvalid") or 0)
  end
  io.write(string.format("non-200 responses: %d; 200 but not VALID: %d\n", b, nv))
end
