/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The i8042 keyboard controller, reduced to what Linux's reboot path needs:
 * `reboot=k` waits for the input buffer to be empty (status bit 1 clear) and
 * writes the pulse-reset command 0xfe to port 0x64.  The VMM takes that as the
 * end of the VM.  There is no keyboard and no AUX port: the status register
 * always reads "nothing to read, ready to accept".
 */
#include "vmm/vmm-internal.h"

#define I8042_CMD_RESET 0xfe

uint8_t hull_i8042_read(uint16_t port)
{
	return 0;
}

bool hull_i8042_write(uint16_t port, uint8_t val)
{
	return port == HULL_I8042_CMD && val == I8042_CMD_RESET;
}
