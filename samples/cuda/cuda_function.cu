// cuda-function: an NVCF function container whose invocation runs a small CUDA kernel and answers with the
// device's name and a checksum of the result.
//
//   CUDA build: nvcc -O2 -cudart static -o cuda-function cuda_function.cu
//   CPU build:  g++ -O2 -static -x c++ -o cuda-function cuda_function.cu
//               (no __CUDACC__: the same computation runs on the CPU, device "CPU (built without CUDA)")
//
// HTTP/1.1 on 0.0.0.0:8000 ($PORT overrides the port), a thread per connection, one request per connection
// (Connection: close); invocations run one at a time:
//   POST /v1/cuda          {"n": 1048576} (optional) -> 200 {"device":...,"checksum":...,"ok":true,...}
//                          no usable GPU -> 500 {"error":"<cudaGetErrorString>","hint":...} (a CUDA error on a
//                          GPU it found names the "device" instead); the process keeps running and /health stays
//                          200, so the platform can show the error on invocation
//   GET  /health           -> 200 {"status":"ok"}   (also /v2/health/ready, NVCF's default health path)
//   anything else          -> 404
//
// The kernel computes c[i] = a[i] * b[i] with a[i] = i % 1000 and b[i] = 2 (every value exact in a float); the
// host sums c as a 64-bit integer (the checksum) and compares it with the closed form (the expected value).

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef __CUDACC__
#include <cuda_runtime.h>
#endif

static const int kDefaultN = 1 << 20;
static const int kMaxN = 1 << 26;
static const size_t kMaxHeaderBytes = 32 * 1024;
static const size_t kMaxBodyKept = 64 * 1024; // a larger body is read and discarded past this
static const char kGpuHint[] =
    "the container sees no usable NVIDIA GPU: is the GPU passed through (see the emulator's GPU mode)?";

static pthread_mutex_t g_compute_lock = PTHREAD_MUTEX_INITIALIZER; // one invocation on the device at a time

static double now_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1.0e6;
}

// ------------------------------------------------------------------------------------------------ signals

static void on_stop_signal(int)
{
    static const char message[] = "cuda-function: stopping\n";
    ssize_t written = write(STDOUT_FILENO, message, sizeof message - 1);
    (void)written;
    _exit(0);
}

static void install_signal_handlers()
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, NULL);
}

// ------------------------------------------------------------------------------------------------ JSON

static std::string json_string(const std::string &text)
{
    std::string out = "\"";
    for (size_t i = 0; i < text.size(); i++) {
        unsigned char ch = (unsigned char)text[i];
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (ch < 0x20) {
                char escaped[8];
                snprintf(escaped, sizeof escaped, "\\u%04x", (unsigned int)ch);
                out += escaped;
            } else {
                out += (char)ch;
            }
        }
    }
    out += "\"";
    return out;
}

static bool is_json_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

// Finds "n" in a JSON object with a simple scan (no JSON library). Returns false when "n" is there but is not
// an integer; n keeps its default when the key is absent or null, and is clamped to 1..kMaxN.
static bool parse_n(const std::string &body, int &n)
{
    n = kDefaultN;
    size_t from = 0;
    for (;;) {
        size_t key = body.find("\"n\"", from);
        if (key == std::string::npos) {
            return true;
        }
        size_t i = key + 3;
        while (i < body.size() && is_json_space(body[i])) {
            i++;
        }
        if (i >= body.size() || body[i] != ':') {
            from = key + 3; // "n" was a value, not a key
            continue;
        }
        i++;
        while (i < body.size() && is_json_space(body[i])) {
            i++;
        }
        if (body.compare(i, 4, "null") == 0) {
            return true;
        }
        bool negative = false;
        if (i < body.size() && body[i] == '-') {
            negative = true;
            i++;
        }
        size_t digits_from = i;
        long long value = 0;
        while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
            if (value <= (long long)kMaxN) {
                value = value * 10 + (body[i] - '0');
            }
            i++;
        }
        if (i == digits_from) {
            return false;
        }
        while (i < body.size() && is_json_space(body[i])) {
            i++;
        }
        if (i < body.size() && body[i] != ',' && body[i] != '}') {
            return false; // 1.5, 1e6, 12abc
        }
        if (negative || value < 1) {
            n = 1;
        } else if (value > (long long)kMaxN) {
            n = kMaxN;
        } else {
            n = (int)value;
        }
        return true;
    }
}

// ------------------------------------------------------------------------------------------------ compute

struct Result {
    int status;             // 200, or 500
    bool cuda_failure;      // a 500 caused by CUDA
    std::string error;      // for a 500
    std::string device;     // empty: no usable device was found
    std::string capability; // "9.0"; empty: null (CPU build)
    int driver_version;
    int runtime_version;
    long long checksum;
    long long expected;
    bool ok;
    double elapsed_ms;
};

// Sum of c[i] = 2 * (i % 1000) for i in [0, n): q = n / 1000 whole cycles of 2 * (0 + 1 + ... + 999) = 999000,
// then r = n % 1000 more terms, 2 * (0 + 1 + ... + (r - 1)) = r * (r - 1).
static long long expected_checksum(long long n)
{
    long long q = n / 1000;
    long long r = n % 1000;
    return q * 999000LL + r * (r - 1);
}

#ifdef __CUDACC__

__global__ void multiply_kernel(const float *a, const float *b, float *c, int n)
{
    int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i < n) {
        c[i] = a[i] * b[i];
    }
}

static bool cuda_check(cudaError_t status, const char *call, Result &result)
{
    if (status == cudaSuccess) {
        return true;
    }
    result.status = 500;
    result.cuda_failure = true;
    result.error = cudaGetErrorString(status);
    fprintf(stderr, "cuda-function: %s failed: %s (error %d; driver %d, runtime %d)%s%s\n", call,
            result.error.c_str(), (int)status, result.driver_version, result.runtime_version,
            result.device.empty() ? "; " : "", result.device.empty() ? kGpuHint : "");
    fflush(stderr);
    return false;
}

// Fills in the versions and the current device's name and compute capability, or the error.
static bool find_device(Result &result)
{
    int driver = 0;
    int runtime = 0;
    (void)cudaDriverGetVersion(&driver); // 0 when there is no driver
    (void)cudaRuntimeGetVersion(&runtime);
    result.driver_version = driver;
    result.runtime_version = runtime;
    (void)cudaGetLastError(); // forget an error a previous request left behind (unless it is sticky)

    int count = 0;
    if (!cuda_check(cudaGetDeviceCount(&count), "cudaGetDeviceCount", result)) {
        return false;
    }
    if (count < 1) {
        return cuda_check(cudaErrorNoDevice, "cudaGetDeviceCount", result);
    }
    int device = 0;
    if (!cuda_check(cudaGetDevice(&device), "cudaGetDevice", result)) {
        return false;
    }
    cudaDeviceProp properties;
    memset(&properties, 0, sizeof properties);
    if (!cuda_check(cudaGetDeviceProperties(&properties, device), "cudaGetDeviceProperties", result)) {
        return false;
    }
    properties.name[sizeof properties.name - 1] = '\0';
    result.device = properties.name;
    char capability[32];
    snprintf(capability, sizeof capability, "%d.%d", properties.major, properties.minor);
    result.capability = capability;
    return true;
}

// c = a * b on the device: copies a and b there, runs the kernel, copies c back.
static bool run_multiply(int n, const float *h_a, const float *h_b, float *h_c, Result &result)
{
    size_t bytes = (size_t)n * sizeof(float);
    float *d_a = NULL;
    float *d_b = NULL;
    float *d_c = NULL;
    bool ok = cuda_check(cudaMalloc((void **)&d_a, bytes), "cudaMalloc", result)
        && cuda_check(cudaMalloc((void **)&d_b, bytes), "cudaMalloc", result)
        && cuda_check(cudaMalloc((void **)&d_c, bytes), "cudaMalloc", result)
        && cuda_check(cudaMemcpy(d_a, h_a, bytes, cudaMemcpyHostToDevice), "cudaMemcpy", result)
        && cuda_check(cudaMemcpy(d_b, h_b, bytes, cudaMemcpyHostToDevice), "cudaMemcpy", result);
    if (ok) {
        unsigned int threads = 256;
        unsigned int blocks = (unsigned int)((n + 255) / 256);
        multiply_kernel<<<blocks, threads>>>(d_a, d_b, d_c, n);
        ok = cuda_check(cudaGetLastError(), "kernel launch", result)
            && cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize", result)
            && cuda_check(cudaMemcpy(h_c, d_c, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy", result);
    }
    (void)cudaFree(d_a); // cudaFree(NULL) does nothing
    (void)cudaFree(d_b);
    (void)cudaFree(d_c);
    return ok;
}

#else

static bool find_device(Result &result)
{
    result.device = "CPU (built without CUDA)";
    return true;
}

// c = a * b on the CPU, as the kernel would.
static bool run_multiply(int n, const float *h_a, const float *h_b, float *h_c, Result &)
{
    for (int i = 0; i < n; i++) {
        h_c[i] = h_a[i] * h_b[i];
    }
    return true;
}

#endif

static Result compute(int n)
{
    Result result;
    result.status = 200;
    result.cuda_failure = false;
    result.driver_version = 0;
    result.runtime_version = 0;
    result.checksum = 0;
    result.expected = expected_checksum(n);
    result.ok = false;

    double started = now_ms();
    if (!find_device(result)) {
        result.elapsed_ms = now_ms() - started;
        return result;
    }
    size_t bytes = (size_t)n * sizeof(float);
    float *h_a = (float *)malloc(bytes);
    float *h_b = (float *)malloc(bytes);
    float *h_c = (float *)malloc(bytes);
    if (h_a == NULL || h_b == NULL || h_c == NULL) {
        result.status = 500;
        result.error = "out of host memory for n = " + std::to_string(n);
        fprintf(stderr, "cuda-function: %s\n", result.error.c_str());
    } else {
        for (int i = 0; i < n; i++) {
            h_a[i] = (float)(i % 1000);
            h_b[i] = 2.0f;
            h_c[i] = -1.0f;
        }
        if (run_multiply(n, h_a, h_b, h_c, result)) {
            long long sum = 0;
            bool in_range = true;
            for (int i = 0; i < n; i++) {
                float value = h_c[i];
                if (value >= 0.0f && value <= 1998.0f) {
                    sum += (long long)value; // exact: every c[i] is an integer
                } else {
                    in_range = false; // also NaN
                }
            }
            result.checksum = sum;
            result.ok = in_range && sum == result.expected;
        }
    }
    free(h_a);
    free(h_b);
    free(h_c);
    result.elapsed_ms = now_ms() - started;
    return result;
}

// ------------------------------------------------------------------------------------------------ HTTP

struct Reader {
    int fd;
    char buffer[16 * 1024];
    size_t position;
    size_t length;
};

// The next byte of the connection, or -1 at its end (or on an error or the receive timeout).
static int next_byte(Reader &reader)
{
    if (reader.position == reader.length) {
        ssize_t got;
        do {
            got = recv(reader.fd, reader.buffer, sizeof reader.buffer, 0);
        } while (got < 0 && errno == EINTR);
        if (got <= 0) {
            return -1;
        }
        reader.position = 0;
        reader.length = (size_t)got;
    }
    return (unsigned char)reader.buffer[reader.position++];
}

// Reads a line without its CR LF; false at the connection's end or past max bytes.
static bool read_line(Reader &reader, std::string &line, size_t max)
{
    line.clear();
    for (;;) {
        int ch = next_byte(reader);
        if (ch < 0) {
            return false;
        }
        if (ch == '\n') {
            if (!line.empty() && line[line.size() - 1] == '\r') {
                line.erase(line.size() - 1);
            }
            return true;
        }
        if (line.size() >= max) {
            return false;
        }
        line += (char)ch;
    }
}

// Reads count bytes, keeping up to kMaxBodyKept of the body; false if the connection ends first.
static bool read_body_bytes(Reader &reader, unsigned long long count, std::string &body)
{
    for (unsigned long long i = 0; i < count; i++) {
        int ch = next_byte(reader);
        if (ch < 0) {
            return false;
        }
        if (body.size() < kMaxBodyKept) {
            body += (char)ch;
        }
    }
    return true;
}

static bool read_chunked_body(Reader &reader, std::string &body)
{
    std::string line;
    for (;;) {
        if (!read_line(reader, line, 1024)) {
            return false;
        }
        char *end = NULL;
        errno = 0;
        unsigned long long size = strtoull(line.c_str(), &end, 16);
        if (end == line.c_str() || errno != 0) {
            return false;
        }
        if (size == 0) {
            break;
        }
        if (!read_body_bytes(reader, size, body) || !read_line(reader, line, 1024) || !line.empty()) {
            return false;
        }
    }
    for (;;) { // trailers, up to the empty line
        if (!read_line(reader, line, kMaxHeaderBytes)) {
            return false;
        }
        if (line.empty()) {
            return true;
        }
    }
}

static bool equals_ignoring_case(const std::string &a, const char *b)
{
    size_t length = strlen(b);
    if (a.size() != length) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') {
            x = (char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (char)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

static bool contains_ignoring_case(const std::string &text, const char *word)
{
    std::string lower = text;
    for (size_t i = 0; i < lower.size(); i++) {
        if (lower[i] >= 'A' && lower[i] <= 'Z') {
            lower[i] = (char)(lower[i] - 'A' + 'a');
        }
    }
    return lower.find(word) != std::string::npos;
}

static std::string trim(const std::string &text)
{
    size_t from = 0;
    size_t to = text.size();
    while (from < to && (text[from] == ' ' || text[from] == '\t')) {
        from++;
    }
    while (to > from && (text[to - 1] == ' ' || text[to - 1] == '\t')) {
        to--;
    }
    return text.substr(from, to - from);
}

static bool send_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t sent = send(fd, data, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent <= 0) {
            return false;
        }
        data += sent;
        length -= (size_t)sent;
    }
    return true;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    default: return "Unknown";
    }
}

static void send_response(int fd, int status, const std::string &body, bool head_only)
{
    char header[256];
    int length = snprintf(header, sizeof header,
                          "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                          "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                          status, reason_phrase(status), body.size());
    if (length > 0 && send_all(fd, header, (size_t)length) && !head_only) {
        send_all(fd, body.data(), body.size());
    }
}

// Closes after the client has read the answer: half-close, then read what is left (briefly), so that unread
// input does not turn the close into a reset that could cut the response short.
static void close_gracefully(int fd)
{
    shutdown(fd, SHUT_WR);
    char scratch[4096];
    for (int rounds = 0; rounds < 10; rounds++) {
        struct pollfd waiting;
        waiting.fd = fd;
        waiting.events = POLLIN;
        waiting.revents = 0;
        if (poll(&waiting, 1, 100) <= 0) {
            break;
        }
        ssize_t got = recv(fd, scratch, sizeof scratch, 0);
        if (got <= 0) {
            break;
        }
    }
    close(fd);
}

// The path for the log line: at most 200 characters, control characters replaced.
static std::string printable(const std::string &text)
{
    std::string out = text.substr(0, 200);
    for (size_t i = 0; i < out.size(); i++) {
        unsigned char ch = (unsigned char)out[i];
        if (ch < 0x20 || ch == 0x7f) {
            out[i] = '?';
        }
    }
    return out;
}

static std::string error_json(const std::string &message)
{
    return "{\"error\":" + json_string(message) + "}";
}

static std::string cuda_json(const Result &result, int n)
{
    if (result.status != 200) {
        std::string body = "{\"error\":" + json_string(result.error);
        if (result.cuda_failure && result.device.empty()) {
            body += ",\"hint\":" + json_string(kGpuHint); // no device, no driver, or a driver too old
        } else if (!result.device.empty()) {
            body += ",\"device\":" + json_string(result.device); // failed on a device it found (e.g. out of memory)
        }
        return body + "}";
    }
    const char *version_id = getenv("NVCF_FUNCTION_VERSION_ID");
    char numbers[512];
    snprintf(numbers, sizeof numbers,
             ",\"driverVersion\":%d,\"runtimeVersion\":%d,\"n\":%d,\"checksum\":%lld,\"expected\":%lld,\"ok\":%s,"
             "\"elapsedMs\":%.3f,",
             result.driver_version, result.runtime_version, n, result.checksum, result.expected,
             result.ok ? "true" : "false", result.elapsed_ms);
    return "{\"device\":" + json_string(result.device) + ",\"computeCapability\":"
        + (result.capability.empty() ? std::string("null") : json_string(result.capability)) + numbers
        + "\"functionVersionId\":" + json_string(version_id != NULL ? version_id : "") + "}";
}

static void handle_connection(int fd)
{
    struct timeval timeout;
    timeout.tv_sec = 10;
    timeout.tv_usec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);

    Reader reader;
    reader.fd = fd;
    reader.position = 0;
    reader.length = 0;

    std::string request_line;
    do { // RFC 9112 2.2: ignore empty lines before the request line
        if (!read_line(reader, request_line, 8192)) {
            close(fd); // a probe that only connects, or a client that went away
            return;
        }
    } while (request_line.empty());
    double started = now_ms();

    std::string method;
    std::string path;
    size_t space1 = request_line.find(' ');
    size_t space2 = space1 == std::string::npos ? std::string::npos : request_line.find(' ', space1 + 1);
    bool bad_request = space2 == std::string::npos;
    if (!bad_request) {
        method = request_line.substr(0, space1);
        path = request_line.substr(space1 + 1, space2 - space1 - 1);
        size_t query = path.find('?');
        if (query != std::string::npos) {
            path.erase(query);
        }
    }

    unsigned long long content_length = 0;
    bool chunked = false;
    bool expect_continue = false;
    size_t header_bytes = request_line.size();
    std::string line;
    int status = 0;
    for (;;) {
        if (!read_line(reader, line, kMaxHeaderBytes)) {
            close(fd);
            return;
        }
        if (line.empty()) {
            break;
        }
        header_bytes += line.size() + 2;
        if (header_bytes > kMaxHeaderBytes) {
            status = 431;
            break;
        }
        size_t colon = line.find(':');
        if (colon == std::string::npos) {
            bad_request = true;
            continue;
        }
        std::string name = line.substr(0, colon);
        std::string value = trim(line.substr(colon + 1));
        if (equals_ignoring_case(name, "Content-Length")) {
            char *end = NULL;
            errno = 0;
            content_length = strtoull(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || errno != 0 || value[0] == '-') {
                bad_request = true;
            }
        } else if (equals_ignoring_case(name, "Transfer-Encoding")) {
            if (contains_ignoring_case(value, "chunked")) {
                chunked = true;
            } else {
                status = 501;
            }
        } else if (equals_ignoring_case(name, "Expect")) {
            expect_continue = contains_ignoring_case(value, "100-continue");
        }
    }

    std::string body;
    std::string response;
    std::string note;
    if (status == 0 && bad_request) {
        status = 400;
    }
    if (status == 0) {
        if (expect_continue) {
            static const char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";
            send_all(fd, go_on, sizeof go_on - 1);
        }
        bool complete = chunked ? read_chunked_body(reader, body) : read_body_bytes(reader, content_length, body);
        if (!complete) {
            close(fd);
            return;
        }
    }

    if (status != 0) {
        response = error_json(reason_phrase(status));
    } else if ((path == "/health" || path == "/v2/health/ready") && (method == "GET" || method == "HEAD")) {
        status = 200;
        response = "{\"status\":\"ok\"}";
    } else if (path == "/v1/cuda" && method == "POST") {
        int n = kDefaultN;
        if (!parse_n(body, n)) {
            status = 400;
            response = error_json("\"n\" must be an integer (the vector length, 1.." + std::to_string(kMaxN) + ")");
        } else {
            pthread_mutex_lock(&g_compute_lock);
            Result result = compute(n);
            pthread_mutex_unlock(&g_compute_lock);
            status = result.status;
            response = cuda_json(result, n);
            note = status == 200 ? result.device : result.error;
        }
    } else {
        status = 404;
        response = error_json("no route for " + method + " " + path);
    }

    send_response(fd, status, response, method == "HEAD");
    double elapsed = now_ms() - started;
    close_gracefully(fd);

    std::string shown = bad_request ? std::string("(bad request)") : method + " " + printable(path);
    printf("%s -> %d in %.1f ms%s%s%s\n", shown.c_str(), status, elapsed, note.empty() ? "" : " (", note.c_str(),
           note.empty() ? "" : ")");
    fflush(stdout);
}

static void *connection_thread(void *argument)
{
    handle_connection((int)(intptr_t)argument);
    return NULL;
}

static int listen_port()
{
    const char *text = getenv("PORT");
    if (text == NULL || *text == '\0') {
        return 8000;
    }
    char *end = NULL;
    long port = strtol(text, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "cuda-function: PORT=%s is not a port number; using 8000\n", text);
        return 8000;
    }
    return (int)port;
}

int main()
{
    install_signal_handlers();
    int port = listen_port();

    int server = socket(AF_INET, SOCK_STREAM, 0);
    if (server < 0) {
        perror("cuda-function: socket");
        return 1;
    }
    int yes = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons((unsigned short)port);
    if (bind(server, (struct sockaddr *)&address, sizeof address) != 0) {
        fprintf(stderr, "cuda-function: cannot listen on :%d: %s\n", port, strerror(errno));
        return 1;
    }
    if (listen(server, 128) != 0) {
        perror("cuda-function: listen");
        return 1;
    }

#ifdef __CUDACC__
    const char *build = "CUDA build";
#else
    const char *build = "CPU build";
#endif
    printf("cuda-function listening on :%d (%s)\n", port, build);
    fflush(stdout);

    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int client = accept(server, NULL, NULL);
        if (client < 0) {
            if (errno != EINTR && errno != ECONNABORTED) {
                fprintf(stderr, "cuda-function: accept: %s\n", strerror(errno));
                usleep(100 * 1000); // e.g. out of file descriptors: don't spin
            }
            continue;
        }
        pthread_t thread;
        if (pthread_create(&thread, &detached, connection_thread, (void *)(intptr_t)client) != 0) {
            handle_connection(client); // no thread to be had: serve it here
        }
    }
}
