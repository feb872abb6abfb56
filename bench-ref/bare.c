/*
 * bare: the smallest program that moves files to a loopback TCP socket the way one
 * `zc bench` mode does, so zc's own cost can be compared with the system calls' cost.
 *
 * Same rules as `zc bench`: the files are read once before timing (warm page cache);
 * the receiver is a forked process that accepts one connection and either recv()s into
 * a buffer (-r, 256 KiB by default) or splice()s through a pipe of that size to
 * /dev/null, and after EOF answers with
 * its own CPU time (8 bytes), which is the acknowledgement; the sender's clock and
 * getrusage(RUSAGE_THREAD) run from just before the first data call to that answer.
 * Congestion control is set on the connecting and on the listening socket before the
 * connection exists, unless -L asks for the old order (after connect()/accept()).
 *
 * Build: gcc -O2 -Wall -o target/bare bench-ref/bare.c   (scripts/vs-bare does it)
 * Usage: bare -m read-write|mmap|sendfile|splice -c CHUNK -s recv|splice
 *             [-r RECV_BYTES] [-C cubic] [-L] [-T] [-p SENDER_CPU,RECEIVER_CPU] FILE...
 * -L sets congestion control after connect()/accept(); -T makes the receiver a thread.
 * Prints one JSON line: bytes, wall seconds, sender and receiver CPU seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static void die(const char *what) {
    perror(what);
    exit(1);
}

static void set_cc(int fd, const char *cc) {
    if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, strlen(cc)) < 0) die("TCP_CONGESTION");
}

static void pin(int cpu) {
    cpu_set_t set;
    if (cpu < 0) return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
}

static double thread_cpu(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) < 0) die("getrusage");
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_all(int sock, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(sock, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            die("write");
        }
        p += w;
        n -= (size_t)w;
    }
}

/* The receiver: one connection, drained, then its CPU time as the acknowledgement. */
static void receive(int listener, int splice_sink, size_t recv_buf, const char *late_cc,
                    int cpu) {
    pin(cpu);
    int s = accept(listener, NULL, NULL);
    if (s < 0) die("accept");
    if (late_cc) set_cc(s, late_cc);
    double start = thread_cpu();
    if (splice_sink) {
        int p[2], null = open("/dev/null", O_WRONLY);
        if (null < 0 || pipe(p) < 0) die("pipe");
        fcntl(p[1], F_SETPIPE_SZ, (int)recv_buf);
        for (;;) {
            ssize_t n = splice(s, NULL, p[1], NULL, recv_buf, SPLICE_F_MOVE);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) die("splice from socket");
            if (n == 0) break;
            while (n > 0) {
                ssize_t m = splice(p[0], NULL, null, NULL, (size_t)n, SPLICE_F_MOVE);
                if (m < 0 && errno == EINTR) continue;
                if (m <= 0) die("splice to /dev/null");
                n -= m;
            }
        }
    } else {
        char *buf = malloc(recv_buf);
        if (!buf) die("malloc");
        memset(buf, 0, recv_buf);
        for (;;) {
            ssize_t n = recv(s, buf, recv_buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) die("recv");
            if (n == 0) break;
        }
    }
    uint64_t cpu_ns = (uint64_t)((thread_cpu() - start) * 1e9);
    write_all(s, (const char *)&cpu_ns, sizeof cpu_ns);
    close(s);
}

/* -T: the receiver as a thread of the sending process instead of a forked process. */
struct receiver_args {
    int listener, splice_sink, cpu;
    size_t recv_buf;
    const char *late_cc;
};

static void *receiver_thread(void *p) {
    struct receiver_args *a = p;
    receive(a->listener, a->splice_sink, a->recv_buf, a->late_cc, a->cpu);
    return NULL;
}

static void send_file(const char *mode, int fd, size_t len, int sock, size_t chunk,
                      char *buf, int pipefd[2]) {
    off_t off = 0;
    if (!strcmp(mode, "read-write")) {
        while ((size_t)off < len) {
            size_t want = len - off < chunk ? len - off : chunk;
            ssize_t n = pread(fd, buf, want, off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) die("pread");
            write_all(sock, buf, (size_t)n);
            off += n;
        }
    } else if (!strcmp(mode, "mmap")) {
        char *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) die("mmap");
        madvise(map, len, MADV_SEQUENTIAL);
        for (size_t at = 0; at < len; at += chunk)
            write_all(sock, map + at, len - at < chunk ? len - at : chunk);
        munmap(map, len);
    } else if (!strcmp(mode, "sendfile")) {
        while ((size_t)off < len) {
            size_t want = len - off < chunk ? len - off : chunk;
            ssize_t n = sendfile(sock, fd, &off, want);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) die("sendfile");
        }
    } else { /* splice: file -> pipe -> socket */
        while ((size_t)off < len) {
            size_t want = len - off < chunk ? len - off : chunk;
            ssize_t n = splice(fd, &off, pipefd[1], NULL, want, SPLICE_F_MOVE | SPLICE_F_MORE);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) die("splice from file");
            while (n > 0) {
                ssize_t m = splice(pipefd[0], NULL, sock, NULL, (size_t)n,
                                   SPLICE_F_MOVE | SPLICE_F_MORE);
                if (m < 0 && errno == EINTR) continue;
                if (m <= 0) die("splice to socket");
                n -= m;
            }
        }
    }
}

int main(int argc, char **argv) {
    const char *mode = NULL, *sink = "recv", *cc = "cubic";
    size_t chunk = 64 << 10, recv_buf = 256 << 10;
    int late = 0, thread = 0, send_cpu = -1, recv_cpu = -1, opt;
    while ((opt = getopt(argc, argv, "m:c:r:s:C:LTp:")) != -1) {
        switch (opt) {
        case 'm': mode = optarg; break;
        case 'c': chunk = strtoull(optarg, NULL, 0); break;
        case 'r': recv_buf = strtoull(optarg, NULL, 0); break;
        case 's': sink = optarg; break;
        case 'C': cc = optarg; break;
        case 'L': late = 1; break;
        case 'T': thread = 1; break;
        case 'p': sscanf(optarg, "%d,%d", &send_cpu, &recv_cpu); break;
        default: return 2;
        }
    }
    if (!mode || optind >= argc || chunk == 0 || recv_buf == 0 ||
        (strcmp(mode, "read-write") && strcmp(mode, "mmap") && strcmp(mode, "sendfile") &&
         strcmp(mode, "splice")) ||
        (strcmp(sink, "recv") && strcmp(sink, "splice"))) {
        fprintf(stderr, "usage: bare -m read-write|mmap|sendfile|splice -c CHUNK "
                        "-s recv|splice [-r RECV] [-C CC] [-L] [-T] [-p S,R] FILE...\n");
        return 2;
    }
    int nfiles = argc - optind, *fds = calloc(nfiles, sizeof *fds);
    size_t *lens = calloc(nfiles, sizeof *lens), total = 0;
    char *buf = malloc(chunk);
    if (!fds || !lens || !buf) die("calloc");
    memset(buf, 0, chunk);
    for (int i = 0; i < nfiles; i++) {
        struct stat st;
        if ((fds[i] = open(argv[optind + i], O_RDONLY)) < 0 || fstat(fds[i], &st) < 0)
            die(argv[optind + i]);
        lens[i] = (size_t)st.st_size;
        total += lens[i];
        for (off_t off = 0; pread(fds[i], buf, chunk, off) > 0; off += chunk) {
        } /* warm */
    }

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    if (listener < 0) die("socket");
    if (!late) set_cc(listener, cc);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 1) < 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &alen) < 0)
        die("listen");
    struct receiver_args args = {listener, !strcmp(sink, "splice"), recv_cpu, recv_buf,
                                 late ? cc : NULL};
    pthread_t receiver;
    pid_t child = 0;
    if (thread) {
        if (pthread_create(&receiver, NULL, receiver_thread, &args) != 0) die("pthread_create");
    } else {
        if ((child = fork()) < 0) die("fork");
        if (child == 0) {
            receiver_thread(&args);
            _exit(0);
        }
        close(listener);
    }
    pin(send_cpu);

    int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), pipefd[2] = {-1, -1};
    if (sock < 0) die("socket");
    if (!late) set_cc(sock, cc);
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    if (late) set_cc(sock, cc);
    if (!strcmp(mode, "splice")) {
        if (pipe(pipefd) < 0) die("pipe");
        if (fcntl(pipefd[1], F_SETPIPE_SZ, (int)chunk) < 0) die("F_SETPIPE_SZ");
    }

    double t0 = now(), c0 = thread_cpu();
    for (int i = 0; i < nfiles; i++) send_file(mode, fds[i], lens[i], sock, chunk, buf, pipefd);
    shutdown(sock, SHUT_WR);
    uint64_t recv_ns = 0;
    size_t got = 0;
    while (got < sizeof recv_ns) {
        ssize_t n = read(sock, (char *)&recv_ns + got, sizeof recv_ns - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("acknowledgement");
        got += (size_t)n;
    }
    double wall = now() - t0, cpu = thread_cpu() - c0;
    if (thread)
        pthread_join(receiver, NULL);
    else
        waitpid(child, NULL, 0);
    printf("{\"mode\":\"%s\",\"chunk\":%zu,\"sink\":\"%s\",\"cc\":\"%s\",\"cc_late\":%s,"
           "\"receiver\":\"%s\",\"bytes\":%zu,\"wall_s\":%.6f,\"sender_cpu_s\":%.6f,\"receiver_cpu_s\":%.6f}\n",
           mode, chunk, sink, cc, late ? "true" : "false", thread ? "thread" : "process", total, wall, cpu, recv_ns / 1e9);
    return 0;
}
