/* plan_check.c — the smallest program built against ipcfuzz WITHOUT CMake:
 *
 *   cc plan_check.c $(pkg-config --cflags --libs ipcfuzz) -o plan_check
 *   ./plan_check 'read:short=1:when=1+1:peer=consumer; write:kill=after:when=5'
 *
 * Parses each argument as a fault plan with ipcf_plan_parse() and prints its
 * canonical text (ipcf_plan_format), or where parsing failed. It has its own
 * main(), so the harness's main() is not pulled from libipcf_harness.a.
 * Exit status: 0 every plan parsed, 1 one did not, 2 usage.
 */
#include <stdio.h>

#include "ipcfuzz/faults.h"

int main(int argc, char **argv)
{
    int status = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s PLAN...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct ipcf_plan plan = {0};
        struct ipcf_plan_error err = {0};
        int rc = ipcf_plan_parse(argv[i], &plan, &err);
        if (rc < 0) {
            printf("error: %s (%s)\n", err.msg, ipcf_strerror(rc));
            status = 1;
            continue;
        }
        char text[1024];
        ipcf_plan_format(&plan, text, sizeof text);
        printf("%zu rule(s): %s\n", plan.nrules, text);
        ipcf_plan_free(&plan);
    }
    return status;
}
