/*
 * badinput_test.c — bad input against a real sluice-segstore: every
 * malformed request gets an error reply with the request's op (or 0 when
 * the header itself is bad), the process keeps serving, and bytes that are
 * not nng's protocol at all only cost their own connection.
 *
 *   badinput_test SEGSTORE_BIN WORKDIR
 */
#include "ipc_client.h"
#include "sl_batch.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static pid_t pid;
static int checks;

static void
fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "badinput_test: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (pid > 0)
        kill(pid, SIGKILL);
    exit(1);
}

static nng_socket raw;

static int
rm_cb(const char *p, const struct stat *sb, int f, struct FTW *w)
{
    (void)sb;
    (void)f;
    (void)w;
    return remove(p);
}

/* Send raw bytes as one nng message on a plain REQ socket (the client
 * library refuses to send what is not a message); expect an error reply
 * whose header carries `op` and a non-zero status, with a text. */
static void
expect_error(ipc_client *cl, const char *what, const void *p, size_t n, int op)
{
    (void)cl;
    nng_msg *m;
    if (nng_msg_alloc(&m, n) != 0)
        fail("alloc");
    if (n)
        memcpy(nng_msg_body(m), p, n);
    int rv = nng_sendmsg(raw, m, 0);
    if (rv == 0)
        rv = nng_recvmsg(raw, &m, 0);
    if (rv != 0)
        fail("%s: no reply: %s", what, nng_strerror(rv));
    ipc_hdr h;
    sl_slice body;
    int rc = ipc_hdr_decode(sl_slice_make(nng_msg_body(m), nng_msg_len(m)), &h,
                            &body);
    if (rc != 0)
        fail("%s: reply header does not decode: %s", what, sl_strerror(rc));
    if (h.status == 0 || h.op != op)
        fail("%s: expected an error reply with op %d, got op %d status %d",
             what, op, h.op, h.status);
    sl_slice text;
    if (ipc_err_decode(body, &text) != 0 || text.n == 0)
        fail("%s: error reply without text", what);
    nng_msg_free(m);
    checks++;
}

static void
expect_alive(ipc_client *cl)
{
    sl_buf req, body;
    sl_buf_init(&req);
    sl_buf_init(&body);
    ipc_topic_list_req_encode(&req);
    ipc_hdr h;
    int rc = ipc_client_call(cl, sl_slice_make(req.p, req.n), &h, &body);
    if (rc != 0)
        fail("segstore stopped answering: %s", sl_strerror(rc));
    if (waitpid(pid, NULL, WNOHANG) != 0)
        fail("segstore exited");
    sl_buf_fini(&req);
    sl_buf_fini(&body);
    checks++;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: badinput_test SEGSTORE_BIN WORKDIR\n");
        return 2;
    }
    mkdir(argv[2], 0755);
    char work[PATH_MAX], data[PATH_MAX + 8], url[PATH_MAX + 64],
        sock[PATH_MAX + 32];
    if (realpath(argv[2], work) == NULL)
        fail("workdir");
    snprintf(data, sizeof(data), "%s/data", work);
    nftw(data, rm_cb, 16, FTW_DEPTH | FTW_PHYS); /* start afresh */
    snprintf(sock, sizeof(sock), "%s/bad.sock", work);
    snprintf(url, sizeof(url), "ipc://%s", sock);
    signal(SIGPIPE, SIG_IGN);
    pid = fork();
    if (pid == 0) {
        execl(argv[1], argv[1], "--data", data, "--ipc", url, (char *)NULL);
        _exit(127);
    }
    ipc_client_opts o = {0};
    o.url = url;
    o.timeout_ms = 5000;
    ipc_client *cl;
    if (ipc_client_new(&o, &cl) != 0)
        fail("client");
    for (int i = 0; i < 100; i++) {
        struct stat st;
        if (stat(sock, &st) == 0)
            break;
        usleep(50000);
    }
    expect_alive(cl);
    if (nng_req0_open(&raw) != 0 || nng_dial(raw, url, NULL, 0) != 0)
        fail("raw socket");
    nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, 5000);

    /* Headers. */
    expect_error(cl, "empty message", "", 0, 0);
    expect_error(cl, "short header", "SL\x01", 3, 0);
    expect_error(cl, "bad magic", "XX\x01\x04\0\0\0\0", 8, 0);
    expect_error(cl, "version 9", "SL\x09\x04\0\0\0\0", 8, 4);
    expect_error(cl, "no body", "SL\x01\x06\0\0\0\0", 8, IPC_OP_APPEND);
    expect_error(cl, "unknown op", "SL\x01\x63\0\0\0\0", 8, 0x63);

    /* Bodies: a valid request of each kind, truncated at every length. */
    sl_buf m;
    sl_buf_init(&m);
    sl_buf batch;
    sl_buf_init(&batch);
    sl_batch_builder bb;
    sl_batch_builder_init(&bb, &batch, 1000);
    sl_slice v = sl_slice_str("value");
    sl_batch_builder_add(&bb, 1000, NULL, &v, NULL, 0);
    sl_batch_builder_finish(&bb);
    ipc_kv kv = {sl_slice_str("retention.ms"), sl_slice_str("1000")};
    ipc_append_entry ae = {sl_slice_str("t"), 0,
                           sl_slice_make(batch.p, batch.n)};
    ipc_read_entry re = {sl_slice_str("t"), 0, 0, 1000};
    ipc_offsets_entry oe = {sl_slice_str("t"), 0, IPC_OFFSET_LATEST};
    for (int kind = 0; kind < 5; kind++) {
        int op;
        switch (kind) {
        case 0:
            ipc_topic_create_req_encode(&m, sl_slice_str("t"), 1, &kv, 1);
            op = IPC_OP_TOPIC_CREATE;
            break;
        case 1:
            ipc_append_req_encode(&m, 0, &ae, 1);
            op = IPC_OP_APPEND;
            break;
        case 2:
            ipc_read_req_encode(&m, 0, &re, 1);
            op = IPC_OP_READ;
            break;
        case 3:
            ipc_offsets_req_encode(&m, &oe, 1);
            op = IPC_OP_LIST_OFFSETS;
            break;
        default:
            ipc_topic_describe_req_encode(&m, sl_slice_str("t"));
            op = IPC_OP_TOPIC_DESCRIBE;
            break;
        }
        for (size_t n = IPC_HDR_LEN; n < m.n; n++) {
            char what[64];
            snprintf(what, sizeof(what), "%s truncated to %zu bytes",
                     ipc_op_name(op), n);
            expect_error(cl, what, m.p, n, op);
        }
        /* Trailing garbage. */
        sl_buf_put_u8(&m, 0x55);
        expect_error(cl, "trailing byte", m.p, m.n, op);
    }
    /* An array count far past the bytes that follow. */
    ipc_append_req_encode(&m, 0, &ae, 1);
    sl_put_u32be(m.p + IPC_HDR_LEN + 4, 0xFFFFFFFFu);
    expect_error(cl, "absurd append count", m.p, m.n, IPC_OP_APPEND);
    expect_alive(cl);

    /* A well-formed append whose batch is bad is answered per entry. */
    ipc_topic_create_req_encode(&m, sl_slice_str("t"), 1, NULL, 0);
    ipc_hdr h;
    sl_buf body;
    sl_buf_init(&body);
    if (ipc_client_call(cl, sl_slice_make(m.p, m.n), &h, &body) != 0)
        fail("create topic");
    batch.p[batch.n - 1] ^= 1;
    ipc_append_req_encode(&m, 0, &ae, 1);
    if (ipc_client_call(cl, sl_slice_make(m.p, m.n), &h, &body) != 0)
        fail("append call");
    ipc_append_rep ar;
    ipc_append_result res;
    if (ipc_append_rep_decode(sl_slice_make(body.p, body.n), &ar) != 0 ||
        ipc_append_rep_next(&ar, &res) != 1 || res.status != SL_E_CRC)
        fail("bad CRC append: expected SL_E_CRC per entry");
    checks++;

    /* Not nng at all: garbage straight into the unix socket. */
    for (int i = 0; i < 20; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(sock) >= sizeof(sa.sun_path))
            fail("socket path too long");
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            fail("connect: %s", strerror(errno));
        char junk[4096];
        for (size_t k = 0; k < sizeof(junk); k++)
            junk[k] = (char)(k * 31 + i);
        if (write(fd, junk, sizeof(junk)) < 0 && errno != EPIPE &&
            errno != ECONNRESET)
            fail("write: %s", strerror(errno));
        close(fd);
    }
    expect_alive(cl);

    nng_close(raw);
    ipc_client_close(cl);
    ipc_client_free(cl);
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("segstore did not exit cleanly after the bad input");
    sl_buf_fini(&m);
    sl_buf_fini(&batch);
    sl_buf_fini(&body);
    printf("badinput_test: %d checks passed; segstore kept serving and "
           "exited cleanly\n",
           checks);
    return 0;
}
