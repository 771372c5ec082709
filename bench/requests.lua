-- The requests of one `make bench` scenario, for wrk; bench/traffic.py runs it as
--
--   wrk -t20 -c20 -d5s -s bench/requests.lua -- URL kind=list seed=7 cookie=... ...
--
-- Every wrk thread drives one connection (bench/traffic.py starts as many threads as
-- connections) as one user: its own Cookie header, from the `cookie=` arguments in turn.
-- Unless `kind` is `fixed`, each request gets a URL of its own, drawn from the thread's
-- own random sequence (`seed` and the thread's number), after URL's path:
--
--   list    ?page=N&sort=F__asc|desc, N in 1..max_page, F one of the `sort=` arguments;
--           one request in four ?q=T&sort=F__... instead (a new search's first page)
--   search  ?q=T, T a new 5 or 6 digit number (either length as likely)
--   record  ?pk=N, N in low..high; with `origin=PATH` (a list's path), as a record is
--           opened from a row of a list: ?pk=N&_origin=PATH?page=M&sort=F__..., URL-encoded
--   urls    the query strings in the file `urls=` names, one a line: thread N of T
--           (`threads=T`) takes lines N, N + T, N + 2T, ... from a place drawn by its
--           seed, so no two requests of a run repeat one until the file is used up
--
-- `header=Name: value` arguments are sent like cookies: each thread its own, in turn
-- (an API token per user, say: header=Authorization: Bearer ...).
--
-- wrk counts a redirect (to the login page, say) as a success, so every answer that is
-- not a 200 is counted here, by status; done() prints one line for bench/traffic.py:
--
--   bench: answers=N errors=E other=302x5,500x1

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

local options, cookies, sorts, headers, lines = {}, {}, {}, {}, {}
local fixed, line

local function term()
  if math.random(2) == 1 then
    return tostring(math.random(10000, 99999))
  end
  return tostring(math.random(100000, 999999))
end

local function sort()
  local direction = math.random(2) == 1 and "__asc" or "__desc"
  return sorts[math.random(#sorts)] .. direction
end

local function encoded(text)
  return (text:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local paths = {
  list = function()
    if math.random(4) == 1 then
      return "?q=" .. term() .. "&sort=" .. sort()
    end
    return "?page=" .. math.random(tonumber(options.max_page)) .. "&sort=" .. sort()
  end,
  search = function()
    return "?q=" .. term()
  end,
  record = function()
    local pk = "?pk=" .. math.random(tonumber(options.low), tonumber(options.high))
    if options.origin == nil then
      return pk
    end
    local page = "?page=" .. math.random(tonumber(options.max_page)) .. "&sort=" .. sort()
    return pk .. "&_origin=" .. encoded(options.origin .. page)
  end,
  urls = function()
    line = line + tonumber(options.threads or "1")
    return lines[(line - 1) % #lines + 1]
  end,
}

function init(args)
  -- args[0] is the URL; the rest are name=value pairs.
  for _, arg in ipairs(args) do
    local name, value = arg:match("^([%w_]+)=(.*)$")
    if name == "cookie" then
      cookies[#cookies + 1] = value
    elseif name == "sort" then
      sorts[#sorts + 1] = value
    elseif name == "header" then
      headers[#headers + 1] = value
    elseif name then
      options[name] = value
    end
  end
  math.randomseed(tonumber(options.seed or "1") * 1000 + number)
  if #cookies > 0 then
    wrk.headers["Cookie"] = cookies[(number - 1) % #cookies + 1]
  end
  if #headers > 0 then
    local header = headers[(number - 1) % #headers + 1]
    local key, value = header:match("^([^:]+):%s*(.*)$")
    wrk.headers[key] = value
  end
  if options.kind == "urls" then
    for query in io.lines(options.urls) do
      lines[#lines + 1] = query
    end
    local threads = tonumber(options.threads or "1")
    line = number + threads * math.random(0, math.floor(#lines / threads))
  end
  if options.gzip == "1" then
    wrk.headers["Accept-Encoding"] = "gzip"
  end
  if options.kind ~= "fixed" and paths[options.kind] == nil then
    error("bench/requests.lua: unknown kind=" .. tostring(options.kind))
  end
  fixed = wrk.format(nil, wrk.path)
  answers, other = 0, {}
end

function request()
  local path = paths[options.kind]
  if path == nil then
    return fixed
  end
  return wrk.format(nil, wrk.path .. path())
end

function response(status, headers, body)
  answers = answers + 1
  if status ~= 200 then
    other[status] = (other[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total, counts = 0, {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("answers")
    for status, n in pairs(thread:get("other")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    parts[#parts + 1] = status .. "x" .. n
  end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format("bench: answers=%d errors=%d other=%s\n", total, errors,
    table.concat(parts, ",")))
end
