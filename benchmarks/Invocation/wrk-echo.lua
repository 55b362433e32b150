-- The invocation benchmark's wrk script (README.md): POSTs the body in NVCF_BENCH_BODY, with the headers given on
-- wrk's command line (-H), and counts every answer that is not a 200 carrying that same body. At the end it prints
-- one "nvcf-bench ..." line for the harness and, when NVCF_BENCH_HISTOGRAM=1, the latency histogram
-- ("nvcf-bench-histogram us:count ..."), so that the harness can merge the rounds' latencies exactly.
local body = os.getenv("NVCF_BENCH_BODY") or error("NVCF_BENCH_BODY is not set")
wrk.method = "POST"
wrk.body = body

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

-- Per thread (each has its own Lua state); done() collects them with thread:get().
bad = 0
first_bad = ""

function response(status, headers, answer)
    if status ~= 200 or answer ~= body then
        bad = bad + 1
        if first_bad == "" then
            first_bad = "HTTP " .. status .. ", " .. #answer .. " bytes: " .. string.sub(answer, 1, 300)
        end
    end
end

function done(summary, latency, requests)
    local total_bad, first = 0, ""
    for _, thread in ipairs(threads) do
        total_bad = total_bad + thread:get("bad")
        if first == "" then
            first = thread:get("first_bad")
        end
    end

    local e = summary.errors
    io.write(string.format(
        "nvcf-bench requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d bad=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, total_bad,
        latency:percentile(50), latency:percentile(99)))
    if first ~= "" then
        io.write("nvcf-bench-first-bad ", (string.gsub(first, "[\r\n]+", " ")), "\n")
    end

    if os.getenv("NVCF_BENCH_HISTOGRAM") == "1" then
        local parts = {}
        for i = 1, #latency do
            local us, count = latency(i)
            parts[#parts + 1] = us .. ":" .. count
        end
        io.write("nvcf-bench-histogram ", table.concat(parts, " "), "\n")
    end
end
