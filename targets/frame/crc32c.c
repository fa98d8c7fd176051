/* crc32c.c — CRC32C (Castagnoli), reflected polynomial 0x82F63B78, one table
 * lookup per byte. The 256-entry table is computed once, thread-safely, on
 * first use. Initial value and final xor are 0xFFFFFFFF, applied inside so the
 * function chains: ipcf_crc32c(ipcf_crc32c(0, a, n), b, m) == CRC(a || b).
 */
#include <pthread.h>
#include <stdint.h>

#include "ipcfuzz/frame.h"

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t ipcf_crc32c(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    pthread_once(&crc_once, crc_table_init);
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}
