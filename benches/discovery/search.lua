-- wrk script: GET /search over a fixed mix of queries (see run.py, QUERIES).
-- WRK_DELAY_MS > 0 throttles each connection (the "half of the peak rate" run).
local queries = {}
for line in io.lines(os.getenv("WRK_QUERIES")) do
  queries[#queries + 1] = line
end
local counter = 0
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")

request = function()
  counter = counter + 1
  return wrk.format("GET", queries[(counter % #queries) + 1])
end

if pause > 0 then
  delay = function()
    return pause
  end
end
