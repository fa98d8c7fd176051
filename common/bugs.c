/* bugs.c — the planted-bug switchboard (see ipcfuzz/bugs.h).
 *
 * Definitions live in the "ipcf_bugs" linker section as pointers; the linker
 * provides __start_/__stop_ bounds. They are declared weak so a binary that
 * links no bug at all still links (the section is then absent).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ipcfuzz/bugs.h"

extern struct ipcf_bug *__start_ipcf_bugs[] __attribute__((weak));
extern struct ipcf_bug *__stop_ipcf_bugs[] __attribute__((weak));

static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static size_t bug_count(void)
{
    if (!__start_ipcf_bugs || !__stop_ipcf_bugs)
        return 0;
    return (size_t)(__stop_ipcf_bugs - __start_ipcf_bugs);
}

const struct ipcf_bug *ipcf_bugs_at(size_t index)
{
    return index < bug_count() ? __start_ipcf_bugs[index] : NULL;
}

static struct ipcf_bug *find(const char *name, size_t len)
{
    for (size_t i = 0; i < bug_count(); i++) {
        struct ipcf_bug *b = __start_ipcf_bugs[i];
        if (strlen(b->name) == len && strncmp(b->name, name, len) == 0)
            return b;
    }
    return NULL;
}

/* Apply list; with dry_run only check that every name exists. */
static int apply(const char *list, int dry_run)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len) {
            struct ipcf_bug *b = find(p, len);
            if (!b)
                return -ENOENT;
            if (!dry_run)
                b->enabled = 1;
        }
        p += len + (end ? 1 : 0);
    }
    return 0;
}

static void load_env(void)
{
    const char *env = getenv("IPCF_BUGS");
    /* Unknown names in the environment are ignored here: the binary that set
     * IPCF_BUGS validated them, and a child may link fewer targets. */
    if (env) {
        const char *p = env;
        while (*p) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            struct ipcf_bug *b = len ? find(p, len) : NULL;
            if (b)
                b->enabled = 1;
            p += len + (end ? 1 : 0);
        }
    }
}

bool ipcf__bug_on(struct ipcf_bug *bug)
{
    pthread_once(&env_once, load_env);
    return bug->enabled != 0;
}

int ipcf_bugs_set(const char *list)
{
    pthread_once(&env_once, load_env);
    if (!list)
        list = "";
    IPCF_TRY(apply(list, 1));
    for (size_t i = 0; i < bug_count(); i++)
        __start_ipcf_bugs[i]->enabled = 0;
    (void)apply(list, 0);
    if (*list ? setenv("IPCF_BUGS", list, 1) : unsetenv("IPCF_BUGS"))
        return -errno;
    return 0;
}
