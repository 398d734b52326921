/*
 * ctl_mqtt.c — `sluice-ctl mqtt passwd`: add, update or delete a user in
 * an MQTT password file (format in docs/mqtt.md; Mosquitto's files work).
 * New passwords are hashed with argon2id.  The file is rewritten whole
 * (tmp + fsync + rename) with mode 0600; comments are not kept.
 */
#include "ctl_impl.h"
#include "mq_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int
read_file(const char *path, sl_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if ((rc = sl_buf_append(out, buf, (size_t)n)) != 0)
            break;
    if (n < 0)
        rc = -errno;
    close(fd);
    return rc;
}

static int
write_file(const char *path, const sl_buf *b)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (write(fd, b->p, b->n) != (ssize_t)b->n || fsync(fd) != 0)
        rc = errno ? -errno : SL_E_IO;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* One line from stdin, without echo when it is a terminal. */
static int
read_password(sl_buf *out)
{
    struct termios old, quiet;
    int tty = isatty(0) && tcgetattr(0, &old) == 0;
    if (tty) {
        fprintf(stderr, "Password: ");
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(0, TCSANOW, &quiet);
    }
    char line[1024];
    char *r = fgets(line, sizeof(line), stdin);
    if (tty) {
        tcsetattr(0, TCSANOW, &old);
        fputc('\n', stderr);
    }
    if (r == NULL)
        return SL_E_INVAL;
    size_t n = strcspn(line, "\r\n");
    return sl_buf_append(out, line, n);
}

int
ctl_mqtt(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "passwd") != 0)
        return die_usage("mqtt passwd [-c] FILE USER [--password P|--delete]");
    int create = 0, del = 0;
    const char *file = NULL, *user = NULL, *pw = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0)
            create = 1;
        else if (strcmp(argv[i], "--delete") == 0)
            del = 1;
        else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
            pw = argv[++i];
        else if (file == NULL)
            file = argv[i];
        else if (user == NULL)
            user = argv[i];
        else
            return die_usage("mqtt passwd [-c] FILE USER [--password P]");
    }
    if (file == NULL || user == NULL)
        return die_usage("mqtt passwd: FILE and USER are required");
    sl_buf text, out, pass, hash;
    sl_buf_init(&text);
    sl_buf_init(&out);
    sl_buf_init(&pass);
    sl_buf_init(&hash);
    mq_passwd *p = NULL;
    char err[256] = "";
    int rc = read_file(file, &text);
    if (rc == -ENOENT && create)
        rc = 0;
    else if (rc == -ENOENT) {
        fprintf(stderr, "sluice-ctl: %s: no such file (use -c to create it)\n",
                file);
        rc = 1;
        goto out;
    }
    if (rc != 0) {
        fprintf(stderr, "sluice-ctl: %s: %s\n", file, sl_strerror(rc));
        rc = 1;
        goto out;
    }
    if (mq_passwd_parse(sl_slice_make(text.p, text.n), &p, err, sizeof(err)) !=
        0) {
        fprintf(stderr, "sluice-ctl: %s: %s\n", file, err);
        rc = 1;
        goto out;
    }
    if (del) {
        if (mq_passwd_delete(p, sl_slice_str(user)) != 0) {
            fprintf(stderr, "sluice-ctl: %s: no user %s\n", file, user);
            rc = 1;
            goto out;
        }
    } else {
        rc = pw ? sl_buf_append(&pass, pw, strlen(pw)) : read_password(&pass);
        if (rc == 0)
            rc = mq_passwd_hash(sl_slice_make(pass.p, pass.n), &hash);
        if (rc == 0)
            rc = mq_passwd_set(p, sl_slice_str(user),
                               sl_slice_make(hash.p, hash.n));
        if (rc != 0) {
            fprintf(stderr, "sluice-ctl: cannot set user %s: %s\n", user,
                    rc == SL_E_INVAL ? "user names cannot contain ':'"
                                     : sl_strerror(rc));
            rc = 1;
            goto out;
        }
    }
    rc = mq_passwd_format(p, &out);
    if (rc == 0)
        rc = write_file(file, &out);
    if (rc != 0) {
        fprintf(stderr, "sluice-ctl: %s: %s\n", file, sl_strerror(rc));
        rc = 1;
    }
out:
    mq_passwd_free(p);
    if (pass.p)
        memset(pass.p, 0, pass.n);
    sl_buf_fini(&text);
    sl_buf_fini(&out);
    sl_buf_fini(&pass);
    sl_buf_fini(&hash);
    return rc;
}
