/* pipe.c — the anonymous-pipe transport of the channel API: pipe2() before
 * fork, O_NONBLOCK|O_CLOEXEC on both ends, reads and writes through the io
 * helpers. No persistent name; no reopen (a pipe cannot be reconnected: make a
 * new one). Delivery semantics: targets/pipe/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ipcfuzz/channel.h"

static ssize_t pipe_read(struct ipcf_channel *ch, void *buf, size_t len,
                         const struct ipcf_deadline *dl)
{
    return ipcf_io_read_some_until(ch->fd, buf, len, dl);
}

static int pipe_write(struct ipcf_channel *ch, const void *buf, size_t len, size_t *done,
                      const struct ipcf_deadline *dl)
{
    return ipcf_io_write_all_until(ch->fd, buf, len, done, dl);
}

static const struct ipcf_channel_ops pipe_ops = {
    .name = "pipe",
    .read = pipe_read,
    .write = pipe_write,
    .reopen = NULL,
    .release = NULL,
};

int ipcf_pipe_open(struct ipcf_channel *rd, struct ipcf_channel *wr, size_t max_payload)
{
    int fds[2];
    int rc;

    if (!rd || !wr || rd == wr)
        return -EINVAL;
    memset(rd, 0, sizeof(*rd));
    memset(wr, 0, sizeof(*wr));
    rd->fd = wr->fd = -1;
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    rc = ipcf_channel_init(rd, &pipe_ops, fds[0], IPCF_CH_READ, max_payload);
    if (rc < 0) {
        (void)ipcf_io_close(fds[1]);
        return rc;
    }
    rc = ipcf_channel_init(wr, &pipe_ops, fds[1], IPCF_CH_WRITE, max_payload);
    if (rc < 0) {
        (void)ipcf_channel_close(rd);
        return rc;
    }
    return 0;
}
