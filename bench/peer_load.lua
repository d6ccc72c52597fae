-- wrk 4.1 script for bench/ejabberd_peer.py: the same script drives ejabberd and Townhall,
-- so both servers see the same request shapes and the same load.
--
-- Environment (set by ejabberd_peer.py):
--   METHOD    GET or POST
--   PATH_FMT  request path ("" = the URL's own path); BODY_FMT request body ("" = none).
--             In both, "{i}" becomes the request's index and "{t}" the thread's tag.
--   PICK      how the index is chosen: "rand" (uniform in 0..N-1) or "count" (1, 2, 3...
--             per thread, so that every create names a new object)
--   N         for PICK=rand
--   MAXREQ    stop the thread after this many responses (caps creates so that both servers
--             end with about as many new objects); the rate is then taken over the time from
--             the first request to the last response, since wrk divides by the whole -d.
--   AUTH      "Basic ..." for the Authorization header (Townhall), or empty.
-- Prints one line "RESULT key=value ..." that ejabberd_peer.py parses.

local method = os.getenv("METHOD") or "GET"
local path_fmt = os.getenv("PATH_FMT") or ""
local body_fmt = os.getenv("BODY_FMT") or ""
local pick = os.getenv("PICK") or "count"
local n = tonumber(os.getenv("N") or "1")
local maxreq = tonumber(os.getenv("MAXREQ") or "0")
local auth = os.getenv("AUTH") or ""

local threads = {}
local next_tag = 0

function setup(thread)
  next_tag = next_tag + 1
  thread:set("tag", next_tag)
  table.insert(threads, thread)
end

local function now_s()
  -- Wall clock with sub-second resolution (os.time has whole seconds); called twice a thread.
  local f = io.popen("date +%s.%N")
  local s = f:read("*l")
  f:close()
  return tonumber(s)
end

sent, answered, failed, started, finished = 0, 0, 0, nil, nil

function init(args)
  math.randomseed(os.time() * 1000 + (tag or 0))
  wrk.headers["Content-Type"] = "application/json"
  if auth ~= "" then
    wrk.headers["Authorization"] = auth
    wrk.headers["Accept"] = "application/json"
  end
end

local function fill(fmt, i)
  return (fmt:gsub("{i}", tostring(i)):gsub("{t}", tostring(tag)))
end

function request()
  sent = sent + 1
  if sent == 1 then started = now_s() end
  local i = sent
  if pick == "rand" then i = math.random(0, n - 1) end
  local path, body = nil, nil
  if path_fmt ~= "" then path = fill(path_fmt, i) end
  if body_fmt ~= "" then body = fill(body_fmt, i) end
  return wrk.format(method, path, nil, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 300 then
    failed = failed + 1
    if first_failure == nil then
      first_failure = tostring(status) .. " " .. (body or ""):sub(1, 160):gsub("%s+", " ")
    end
  end
  if maxreq > 0 and answered == maxreq then
    finished = now_s()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total, bad, capped, elapsed, why = 0, 0, true, 0, nil
  for _, t in ipairs(threads) do
    total = total + (t:get("answered") or 0)
    bad = bad + (t:get("failed") or 0)
    why = why or t:get("first_failure")
    local a, b = t:get("started"), t:get("finished")
    if b == nil then capped = false else elapsed = math.max(elapsed, b - a) end
  end
  if not capped then elapsed = summary.duration / 1e6 end
  local e = summary.errors
  io.write(string.format(
    "RESULT responses=%d non2xx=%d elapsed=%.3f rps=%.1f capped=%s p50=%.2f p99=%.2f sockerr=%d\n",
    total, bad, elapsed, total / elapsed, tostring(capped),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout))
  if why then io.write("FIRST_FAILURE " .. why .. "\n") end
end
