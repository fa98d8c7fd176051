/* scenario.c — the scenario registry: every IPCF_SCENARIO linked into the
 * binary, found through the "ipcf_scenarios" linker section (the linker
 * provides __start_/__stop_ bounds; weak, so a binary without any scenario
 * still links and simply lists none).
 */
#include <string.h>

#include "ipcfuzz/ipcfuzz.h"

extern const struct ipcf_scenario *__start_ipcf_scenarios[] __attribute__((weak));
extern const struct ipcf_scenario *__stop_ipcf_scenarios[] __attribute__((weak));

static size_t scenario_count(void)
{
    if (!__start_ipcf_scenarios || !__stop_ipcf_scenarios)
        return 0;
    return (size_t)(__stop_ipcf_scenarios - __start_ipcf_scenarios);
}

const struct ipcf_scenario *ipcf_scenario_at(size_t index)
{
    return index < scenario_count() ? __start_ipcf_scenarios[index] : NULL;
}

const struct ipcf_scenario *ipcf_scenario_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < scenario_count(); i++)
        if (!strcmp(__start_ipcf_scenarios[i]->name, name))
            return __start_ipcf_scenarios[i];
    return NULL;
}

unsigned ipcf_scenario_npeers(const struct ipcf_scenario *s)
{
    unsigned n = 0;
    while (n < IPCF_MAX_PEERS && s->peers[n].name && s->peers[n].run)
        n++;
    return n;
}
