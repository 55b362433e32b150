// The invocation benchmark's native echo function (benchmarks/Invocation/README.md): as little work per request as an
// HTTP server can do, so that the benchmark measures the path to it, not the function. HTTP/1.1 keep-alive on port
// 8000, one thread per connection. `POST /echo` answers 200 with the request's body (Content-Length or chunked),
// `GET /v2/health/ready` 200 with none, anything else 404. Built static by eng/bench.sh into a FROM scratch image.
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum { CAP = 1 << 20 }; // the largest request (head and body) a connection takes

static int fill(int fd, char *buf, size_t *len) { // reads more of the request: 0 at EOF, on error or when full
    ssize_t n = *len < CAP ? read(fd, buf + *len, CAP - *len) : 0;
    return n > 0 ? (*len += (size_t)n, 1) : 0;
}

static const char *value(const char *head, const char *name) { // a header's value, or NULL
    const char *at = strcasestr(head, name);
    return at ? at + strlen(name) + strspn(at + strlen(name), " \t") : NULL;
}

static int put(int fd, struct iovec *v, int count) { // writes everything: 0 on error
    while (count > 0) {
        ssize_t w = writev(fd, v, count);
        if (w <= 0) return 0;
        for (; count > 0 && (size_t)w >= v->iov_len; w -= (ssize_t)v->iov_len, v++, count--) {}
        if (count > 0) v->iov_base = (char *)v->iov_base + w, v->iov_len -= (size_t)w;
    }
    return 1;
}

static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg, one = 1;
    char *buf = malloc(CAP), *chunks = malloc(CAP), *end, head[160];
    size_t len = 0;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (buf && chunks) {
        while (!(end = memmem(buf, len, "\r\n\r\n", 4))) if (!fill(fd, buf, &len)) goto out;
        end[2] = 0; // the head is a string from here on; its last header line still ends with "\r\n"
        size_t at = (size_t)(end + 4 - buf), size = 0;
        const char *te = value(buf, "\ntransfer-encoding:"), *cl = value(buf, "\ncontent-length:"), *body = buf + at;
        if (te && !strncasecmp(te, "chunked", 7)) { // decoded into `chunks`; trailers are not supported
            for (body = chunks;;) {
                char *eol;
                while (!(eol = memmem(buf + at, len - at, "\r\n", 2))) if (!fill(fd, buf, &len)) goto out;
                size_t n = strtoul(buf + at, NULL, 16);
                at = (size_t)(eol + 2 - buf);
                if (n > CAP - size) goto out;
                while (len - at < n + 2) if (!fill(fd, buf, &len)) goto out;
                memcpy(chunks + size, buf + at, n), size += n, at += n + 2;
                if (n == 0) break;
            }
        } else if (cl) {
            size = strtoul(cl, NULL, 10);
            if (size > CAP - at) goto out;
            while (len - at < size) if (!fill(fd, buf, &len)) goto out;
            at += size;
        }
        int echo = !strncmp(buf, "POST /echo", 10) && (buf[10] == ' ' || buf[10] == '?');
        int ready = !strncmp(buf, "GET /v2/health/ready ", 21);
        struct iovec v[2] = {{head, 0}, {(void *)body, echo ? size : 0}};
        v[0].iov_len = (size_t)snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                                        echo || ready ? "200 OK" : "404 Not Found", v[1].iov_len);
        if (!put(fd, v, 2)) break;
        memmove(buf, buf + at, len - at), len -= at;
    }
out:
    free(buf), free(chunks), close(fd);
    return NULL;
}

static void quit(int sig) { _exit(sig == SIGTERM ? 0 : 128 + sig); } // PID 1 has no default action for SIGTERM

int main(void) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(8000), .sin_addr.s_addr = htonl(INADDR_ANY)};
    int server = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    signal(SIGPIPE, SIG_IGN), signal(SIGTERM, quit), signal(SIGINT, quit);
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (server < 0 || bind(server, (struct sockaddr *)&addr, sizeof addr) || listen(server, 1024)) return perror("listen on :8000"), 1;
    fprintf(stderr, "native echo listening on :8000\n");
    for (pthread_t thread;;) {
        int fd = accept(server, NULL, NULL);
        if (fd >= 0 && pthread_create(&thread, NULL, serve, (void *)(intptr_t)fd) == 0) pthread_detach(thread);
        else if (fd >= 0) close(fd);
    }
}
