-- wrk script: POST /register, each request a different pre-signed listing (see run.py).
local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS")) do
  tokens[#tokens + 1] = line
end
local counter = 0
local headers = { ["Content-Type"] = "application/jose" }

request = function()
  counter = counter + 1
  -- Past the end the server answers 409 (replayed), counted as failures, never as throughput.
  return wrk.format("POST", "/register", headers, tokens[((counter - 1) % #tokens) + 1])
end
