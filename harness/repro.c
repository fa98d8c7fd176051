/* repro.c — reproducer files: format, parse, write, read (see repro.h and
 * docs/reproducers.md).
 *
 * The parser works on (buffer, length) and treats the input as hostile: every
 * read is bounds-checked against len, every field has a size limit, and every
 * failure is an error with a line number, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oracle.h"
#include "repro.h"

#define FIELD_MAX (64u * 1024u) /* any one decoded text value */

void ipcf_repro_init(struct ipcf_repro *r)
{
    memset(r, 0, sizeof(*r));
}

void ipcf_repro_free(struct ipcf_repro *r)
{
    if (!r)
        return;
    free(r->scenario);
    free(r->plan);
    free(r->bugs);
    free(r->verdicts);
    free(r->detail);
    free(r->replay);
    free(r->input);
    free(r->created_by);
    memset(r, 0, sizeof(*r));
}

int ipcf_repro_set(char **field, const char *value)
{
    char *c = NULL;
    if (value) {
        c = strdup(value);
        if (!c)
            return -ENOMEM;
    }
    free(*field);
    *field = c;
    return 0;
}

int ipcf_repro_set_input(struct ipcf_repro *r, const void *data, size_t len)
{
    if (len > IPCF_REPRO_INPUT_MAX)
        return -EINVAL;
    unsigned char *c = malloc(len ? len : 1);
    if (!c)
        return -ENOMEM;
    if (len)
        memcpy(c, data, len);
    free(r->input);
    r->input = c;
    r->input_len = len;
    r->has_input = 1;
    return 0;
}

/* ---- growable text buffer ------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void b_put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void b_str(struct buf *b, const char *s)
{
    b_put(b, s, strlen(s));
}

/* Escape a value onto one line: \\ \n \r \t and \xHH for other control bytes. */
static void b_escaped(struct buf *b, const char *s)
{
    char tmp[8];
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\':
            b_str(b, "\\\\");
            break;
        case '\n':
            b_str(b, "\\n");
            break;
        case '\r':
            b_str(b, "\\r");
            break;
        case '\t':
            b_str(b, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
                b_str(b, tmp);
            } else {
                b_put(b, (const char *)p, 1);
            }
        }
    }
}

static void b_kv(struct buf *b, const char *key, const char *val)
{
    b_str(b, key);
    b_str(b, ": ");
    b_escaped(b, val);
    b_str(b, "\n");
}

/* Quote a path for a shell command line when it needs it. */
static void b_shell_word(struct buf *b, const char *s)
{
    int plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                strchr("_./-+,=:@", *p) != NULL;
    if (plain) {
        b_str(b, s);
        return;
    }
    b_str(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            b_str(b, "'\\''");
        else
            b_put(b, p, 1);
    }
    b_str(b, "'");
}

int ipcf_repro_format(const struct ipcf_repro *r, const char *replay_path, char **text, size_t *len)
{
    struct buf b = {0};
    char tmp[64];
    if (!r || !text || !r->scenario || !*r->scenario || !r->plan || !r->verdicts)
        return -EINVAL;
    if (r->has_input && r->input_len > IPCF_REPRO_INPUT_MAX)
        return -EINVAL;
    snprintf(tmp, sizeof(tmp), IPCF_REPRO_MAGIC " %d\n", IPCF_REPRO_VERSION);
    b_str(&b, tmp);
    b_kv(&b, "scenario", r->scenario);
    b_kv(&b, "plan", r->plan);
    snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)r->seed);
    b_kv(&b, "seed", tmp);
    if (r->bugs && *r->bugs)
        b_kv(&b, "bugs", r->bugs);
    b_kv(&b, "verdict", r->verdicts);
    if (r->confirmations) {
        if (r->reproduced > r->confirmations || r->confirmations > IPCF_REPRO_CONFIRM_MAX) {
            free(b.p);
            return -EINVAL;
        }
        snprintf(tmp, sizeof(tmp), "%u/%u", r->reproduced, r->confirmations);
        b_kv(&b, "reproduced", tmp);
    }
    if (r->detail)
        b_kv(&b, "detail", r->detail);
    if (r->replay) {
        b_kv(&b, "replay", r->replay);
    } else if (replay_path) {
        struct buf cmd = {0};
        b_str(&cmd, "ipcfuzz replay ");
        b_shell_word(&cmd, replay_path);
        if (cmd.oom)
            b.oom = 1;
        else
            b_kv(&b, "replay", cmd.p);
        free(cmd.p);
    }
    if (r->has_input) {
        static const char hex[] = "0123456789abcdef";
        b_str(&b, "input: hex:");
        for (size_t i = 0; i < r->input_len; i++) {
            char h[2] = {hex[r->input[i] >> 4], hex[r->input[i] & 15]};
            b_put(&b, h, 2);
        }
        b_str(&b, "\n");
    }
    if (r->created_by)
        b_kv(&b, "created-by", r->created_by);
    if (b.oom) {
        free(b.p);
        return -ENOMEM;
    }
    *text = b.p;
    if (len)
        *len = b.len;
    return 0;
}

/* ---- parser ------------------------------------------------------------------------ */

static int perr(struct ipcf_repro_error *e, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct ipcf_repro_error *e, unsigned line, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->line = line;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return -IPCF_EPARSE;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Unescape v[0..n) into a new NUL-terminated string. 0, -EINVAL (bad escape,
 * raw control byte, NUL), -ENOMEM. */
static int unescape(const char *v, size_t n, char **out)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    if (!o)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c != '\\') {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                goto bad;
            o[k++] = (char)c;
            continue;
        }
        if (++i >= n)
            goto bad;
        switch (v[i]) {
        case '\\':
            o[k++] = '\\';
            break;
        case 'n':
            o[k++] = '\n';
            break;
        case 'r':
            o[k++] = '\r';
            break;
        case 't':
            o[k++] = '\t';
            break;
        case 'x': {
            if (i + 2 >= n)
                goto bad;
            int h = hexval((unsigned char)v[i + 1]), l = hexval((unsigned char)v[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                goto bad;
            o[k++] = (char)(h * 16 + l);
            i += 2;
            break;
        }
        default:
            goto bad;
        }
    }
    o[k] = '\0';
    *out = o;
    return 0;
bad:
    free(o);
    return -EINVAL;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* "hex:..." or "base64:..." -> bytes. 0, -EINVAL, -ENOMEM, -EFBIG. */
static int parse_input(const char *v, unsigned char **out, size_t *outlen)
{
    size_t n = strlen(v);
    unsigned char *o;
    size_t k = 0;
    if (!strncmp(v, "hex:", 4)) {
        v += 4;
        n -= 4;
        if (n % 2)
            return -EINVAL;
        if (n / 2 > IPCF_REPRO_INPUT_MAX)
            return -EFBIG;
        o = malloc(n / 2 + 1);
        if (!o)
            return -ENOMEM;
        for (size_t i = 0; i < n; i += 2) {
            int h = hexval((unsigned char)v[i]), l = hexval((unsigned char)v[i + 1]);
            if (h < 0 || l < 0) {
                free(o);
                return -EINVAL;
            }
            o[k++] = (unsigned char)(h * 16 + l);
        }
    } else if (!strncmp(v, "base64:", 7)) {
        v += 7;
        n -= 7;
        if (n % 4)
            return -EINVAL;
        if (n / 4 * 3 > IPCF_REPRO_INPUT_MAX)
            return -EFBIG;
        o = malloc(n / 4 * 3 + 1);
        if (!o)
            return -ENOMEM;
        for (size_t i = 0; i < n; i += 4) {
            int q[4], pad = 0;
            for (int t = 0; t < 4; t++) {
                unsigned char c = (unsigned char)v[i + t];
                if (c == '=' && i + 4 == n && t >= 2) {
                    q[t] = 0;
                    pad++;
                    continue;
                }
                q[t] = pad ? -1 : b64val(c);
                if (q[t] < 0) {
                    free(o);
                    return -EINVAL;
                }
            }
            uint32_t w =
                (uint32_t)q[0] << 18 | (uint32_t)q[1] << 12 | (uint32_t)q[2] << 6 | (uint32_t)q[3];
            o[k++] = (unsigned char)(w >> 16);
            if (pad < 2)
                o[k++] = (unsigned char)(w >> 8);
            if (pad < 1)
                o[k++] = (unsigned char)w;
        }
    } else {
        return -EINVAL;
    }
    *out = o;
    *outlen = k;
    return 0;
}

enum key_id {
    K_SCENARIO,
    K_PLAN,
    K_SEED,
    K_BUGS,
    K_VERDICT,
    K_DETAIL,
    K_REPLAY,
    K_INPUT,
    K_CREATED_BY,
    K_REPRODUCED,
    K_COUNT
};
static const char *const key_names[K_COUNT] = {
    "scenario", "plan",   "seed",  "bugs",       "verdict",
    "detail",   "replay", "input", "created-by", "reproduced",
};
static const int key_required[K_COUNT] = {1, 1, 1, 0, 1, 0, 0, 0, 0, 0};
static const unsigned key_since[K_COUNT] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 2}; /* format version */

/* "n/K" with 1 <= K <= IPCF_REPRO_CONFIRM_MAX and n <= K. 0 or -EINVAL. */
static int parse_reproduced(const char *s, unsigned *n, unsigned *k)
{
    const char *slash = strchr(s, '/');
    char a[16], b[16];
    uint64_t x, y;
    if (!slash || (size_t)(slash - s) >= sizeof(a) || strlen(slash + 1) >= sizeof(b))
        return -EINVAL;
    memcpy(a, s, (size_t)(slash - s));
    a[slash - s] = '\0';
    snprintf(b, sizeof(b), "%s", slash + 1);
    if (parse_u64(a, &x) || parse_u64(b, &y) || y == 0 || y > IPCF_REPRO_CONFIRM_MAX || x > y)
        return -EINVAL;
    *n = (unsigned)x;
    *k = (unsigned)y;
    return 0;
}

int ipcf_repro_is_flaky(const struct ipcf_repro *r)
{
    return r && r->confirmations && r->reproduced < r->confirmations;
}

/* Check a verdict list "a,b": each a known verdict name. */
static int verdicts_valid(const char *s, char *bad, size_t cap)
{
    if (!*s) {
        snprintf(bad, cap, "(empty)");
        return 0;
    }
    const char *p = s;
    while (1) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char name[40];
        enum ipcf_verdict v;
        if (n == 0 || n >= sizeof(name)) {
            snprintf(bad, cap, "%.*s", (int)(n < 32 ? n : 32), p);
            return 0;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        if (ipcf_verdict_parse(name, &v) != 0) {
            snprintf(bad, cap, "%s", name);
            return 0;
        }
        if (!c)
            return 1;
        p = c + 1;
    }
}

int ipcf_repro_parse(const char *buf, size_t len, struct ipcf_repro *out,
                     struct ipcf_repro_error *err)
{
    int seen[K_COUNT] = {0};
    unsigned line = 0;
    size_t pos = 0;
    int rc = 0;

    ipcf_repro_init(out);
    if (err) {
        err->line = 0;
        err->msg[0] = '\0';
    }
    if (!buf && len)
        return perr(err, 0, "no input");
    if (len > IPCF_REPRO_MAX_BYTES)
        return perr(err, 0, "file larger than %u bytes", IPCF_REPRO_MAX_BYTES);

    while (pos < len) {
        const char *l = buf + pos;
        const char *nl = memchr(l, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - l) : len - pos;
        pos += n + (nl ? 1 : 0);
        line++;
        if (n && l[n - 1] == '\r')
            n--;
        if (memchr(l, '\0', n)) {
            rc = perr(err, line, "NUL byte in line");
            goto fail;
        }
        if (line == 1) {
            const size_t ml = sizeof(IPCF_REPRO_MAGIC) - 1;
            if (n < ml + 2 || memcmp(l, IPCF_REPRO_MAGIC " ", ml + 1) != 0) {
                rc = perr(err, line, "not a reproducer: expected '" IPCF_REPRO_MAGIC " %d'",
                          IPCF_REPRO_VERSION);
                goto fail;
            }
            char ver[16];
            size_t vl = n - ml - 1;
            if (vl >= sizeof(ver)) {
                rc = perr(err, line, "bad format version");
                goto fail;
            }
            memcpy(ver, l + ml + 1, vl);
            ver[vl] = '\0';
            uint64_t v;
            if (parse_u64(ver, &v) != 0 || v == 0) {
                rc = perr(err, line, "bad format version '%s'", ver);
                goto fail;
            }
            if (v > IPCF_REPRO_VERSION) {
                rc = perr(err, line, "format version %llu is newer than supported (%d)",
                          (unsigned long long)v, IPCF_REPRO_VERSION);
                goto fail;
            }
            out->version = (unsigned)v;
            continue;
        }
        if (n == 0 || l[0] == '#')
            continue;
        const char *colon = memchr(l, ':', n);
        if (!colon) {
            rc = perr(err, line, "expected 'key: value'");
            goto fail;
        }
        size_t kl = (size_t)(colon - l);
        if (kl == 0 || kl > 64) {
            rc = perr(err, line, "bad key");
            goto fail;
        }
        for (size_t i = 0; i < kl; i++) {
            char c = l[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                rc = perr(err, line, "bad character in key");
                goto fail;
            }
        }
        const char *v = colon + 1;
        size_t vn = n - kl - 1;
        if (vn && *v == ' ') {
            v++;
            vn--;
        }
        if (kl > 2 && l[0] == 'x' && l[1] == '-')
            continue; /* extension: ignored */
        int k;
        for (k = 0; k < K_COUNT; k++)
            if (strlen(key_names[k]) == kl && !memcmp(key_names[k], l, kl))
                break;
        if (k == K_COUNT) {
            rc = perr(err, line, "unknown key '%.*s' (prefix extensions with x-)", (int)kl, l);
            goto fail;
        }
        if (seen[k]) {
            rc = perr(err, line, "duplicate key '%s'", key_names[k]);
            goto fail;
        }
        if (key_since[k] > out->version) {
            rc = perr(err, line, "key '%s' needs format version %u (file says %u)", key_names[k],
                      key_since[k], out->version);
            goto fail;
        }
        seen[k] = 1;
        if (vn > FIELD_MAX && k != K_INPUT) {
            rc = perr(err, line, "value of '%s' too long", key_names[k]);
            goto fail;
        }
        char *val = NULL;
        int u = unescape(v, vn, &val);
        if (u == -ENOMEM) {
            rc = -ENOMEM;
            goto fail;
        }
        if (u < 0) {
            rc = perr(err, line, "bad escape or control character in '%s'", key_names[k]);
            goto fail;
        }
        char bad[48];
        switch (k) {
        case K_SCENARIO:
            if (!*val) {
                free(val);
                rc = perr(err, line, "empty scenario");
                goto fail;
            }
            out->scenario = val;
            break;
        case K_PLAN:
            out->plan = val;
            break;
        case K_SEED:
            u = parse_u64(val, &out->seed);
            free(val);
            if (u) {
                rc = perr(err, line, "seed is not an unsigned 64-bit decimal");
                goto fail;
            }
            break;
        case K_BUGS:
            out->bugs = val;
            break;
        case K_VERDICT:
            if (!verdicts_valid(val, bad, sizeof(bad))) {
                free(val);
                rc = perr(err, line, "unknown verdict '%s'", bad);
                goto fail;
            }
            out->verdicts = val;
            break;
        case K_DETAIL:
            out->detail = val;
            break;
        case K_REPLAY:
            out->replay = val;
            break;
        case K_INPUT:
            u = parse_input(val, &out->input, &out->input_len);
            free(val);
            if (u == -ENOMEM) {
                rc = -ENOMEM;
                goto fail;
            }
            if (u) {
                rc = perr(err, line, "input must be hex:<even hex digits> or base64:<base64>%s",
                          u == -EFBIG ? " (too large)" : "");
                goto fail;
            }
            out->has_input = 1;
            break;
        case K_CREATED_BY:
            out->created_by = val;
            break;
        case K_REPRODUCED:
            u = parse_reproduced(val, &out->reproduced, &out->confirmations);
            free(val);
            if (u) {
                rc = perr(err, line, "reproduced must be n/K with 1 <= K <= %u and n <= K",
                          IPCF_REPRO_CONFIRM_MAX);
                goto fail;
            }
            break;
        default:
            free(val);
        }
    }
    if (line == 0) {
        rc = perr(err, 0, "empty file");
        goto fail;
    }
    for (int k = 0; k < K_COUNT; k++)
        if (key_required[k] && !seen[k]) {
            rc = perr(err, 0, "missing required key '%s'", key_names[k]);
            goto fail;
        }
    return 0;
fail:
    ipcf_repro_free(out);
    return rc;
}

/* ---- files ----------------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ipcf_repro_write_file(const struct ipcf_repro *r, const char *path)
{
    char *text = NULL, tmp[4096];
    size_t len = 0;
    if (!path || !*path)
        return -EINVAL;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -ENAMETOOLONG;
    IPCF_TRY(ipcf_repro_format(r, path, &text, &len));
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    rc = write_all(fd, text, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
out:
    free(text);
    return rc;
}

int ipcf_repro_read_file(const char *path, struct ipcf_repro *out, struct ipcf_repro_error *err)
{
    struct stat st;
    int rc = 0;
    ipcf_repro_init(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if (st.st_size > (off_t)IPCF_REPRO_MAX_BYTES) {
        close(fd);
        return -EFBIG;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    while (len < cap) {
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (rc == 0 && len > IPCF_REPRO_MAX_BYTES)
        rc = -EFBIG;
    if (rc == 0)
        rc = ipcf_repro_parse(buf, len, out, err);
    free(buf);
    return rc;
}
