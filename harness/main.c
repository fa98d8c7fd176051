/* main.c — main() of every scenario binary linked with ipcf_harness (and of
 * the built-in `ipcfuzz`): the whole command line is ipcf_main(). A program
 * with its own main() calls ipcf_main() itself; this object is then not
 * pulled from the archive. */
#include "ipcfuzz/ipcfuzz.h"

int main(int argc, char **argv)
{
    return ipcf_main(argc, argv);
}
