/* bench_cycle.c — minimal scenarios for measuring the harness's kill-and-restart
 * cycle (bench/harness/run). Each worker writes one byte to /dev/null and
 * exits 0; the plan `write:kill=after:when=1` SIGKILLs every worker right
 * after that write, and the supervisor restarts it once (.restarts = 1); the
 * restarted incarnation runs without kill rules and exits 0. So one iteration
 * of `cycle1` is exactly one kill-and-restart cycle of one peer plus the
 * harness's per-iteration work (ledger, oracle, names audit).
 */
#include <fcntl.h>
#include <unistd.h>

#include "ipcfuzz/ipcfuzz.h"

static int worker(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t n = write(fd, "x", 1);
    close(fd);
    return n == 1 ? 0 : 1;
}

IPCF_SCENARIO(cycle1, .description = "bench: one worker, killed after its write, restarted once",
              .peers = {{"worker", worker, .restarts = 1}}, .calls = "write");

/* Kill chains: with the plan `write:kill=after:when=1:inc=0..15` every
 * incarnation up to the 15th restart is killed after its write and restarted;
 * the 17th runs to completion. One iteration = 16 kill-and-restart cycles per
 * worker, one fork per cycle (each restart is the next victim). */
IPCF_SCENARIO(chain1, .description = "bench: one worker killed and restarted 16 times",
              .peers = {{"worker", worker, .restarts = 16}}, .calls = "write");

IPCF_SCENARIO(chain4, .description = "bench: four workers, each killed and restarted 16 times",
              .peers = {{"w1", worker, .restarts = 16},
                        {"w2", worker, .restarts = 16},
                        {"w3", worker, .restarts = 16},
                        {"w4", worker, .restarts = 16}},
              .calls = "write");
