-- wrk script for bench/create-wrk.sh: POSTs the seed body with a unique configName per request.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Product-Name"] = "bench"
end

function request()
  counter = counter + 1
  local body = string.format([[{"configName":"wrk-%d-%d-%d","type":"POSTGRESQL","host":"db.example.com","port":5432,"databaseName":"mydatabase","userName":"dbuser","password":"secretpassword","schema":"public","ssl":{"mode":"require"},"metadata":{"team":"bench"}}]], os.time(), id, counter)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 201 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
