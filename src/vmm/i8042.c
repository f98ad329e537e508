/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The i8042 keyboard controller, reduced to what Linux needs: `reboot=k`
 * waits for the input buffer to be empty (status bit 1 clear) and writes the
 * pulse-reset command 0xfe to port 0x64, which the VMM takes as the end of
 * the VM.  A kernel with the i8042 driver also reads and writes the
 * controller's configuration byte (CTR) and runs its self-test: those are
 * answered, so the probe finishes at once instead of timing out.  No
 * keyboard or mouse is attached: device commands get no answer, and no IRQ
 * is ever raised (Linux polls the status register for controller commands).
 */
#include <string.h>

#include "vmm/vmm-internal.h"

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04
#define STATUS_UNLOCKED 0x10 /* keyboard not inhibited (the keylock) */
#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_DISABLE_AUX 0xa7
#define CMD_ENABLE_AUX 0xa8
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_DISABLE_KBD 0xad
#define CMD_ENABLE_KBD 0xae
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_RESET 0xfe
#define CTR_KBD_DISABLED 0x10
#define CTR_AUX_DISABLED 0x20

void hull_i8042_init(struct hull_i8042 *k)
{
	*k = (struct hull_i8042){ .ctr = 0x01 | 0x04 | CTR_AUX_DISABLED };
}

static void put(struct hull_i8042 *k, uint8_t v)
{
	k->out = v;
	k->out_full = true;
}

uint8_t hull_i8042_read(struct hull_i8042 *k, uint16_t port)
{
	if (port == HULL_I8042_CMD)
		return STATUS_SYS | STATUS_UNLOCKED | (k->out_full ? STATUS_OBF : 0);
	if (port == HULL_I8042_DATA && k->out_full) {
		k->out_full = false;
		return k->out;
	}
	return 0;
}

bool hull_i8042_write(struct hull_i8042 *k, uint16_t port, uint8_t val)
{
	if (port == HULL_I8042_DATA) {
		if (k->pending == CMD_WRITE_CTR)
			k->ctr = val;
		/* CMD_WRITE_OUTPORT and keyboard commands: nothing attached to act */
		k->pending = 0;
		return false;
	}
	if (port != HULL_I8042_CMD)
		return false;
	k->pending = 0;
	switch (val) {
	case CMD_READ_CTR:
		put(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
		k->pending = val;
		break;
	case CMD_DISABLE_AUX:
		k->ctr |= CTR_AUX_DISABLED;
		break;
	case CMD_ENABLE_AUX:
		k->ctr &= (uint8_t)~CTR_AUX_DISABLED;
		break;
	case CMD_DISABLE_KBD:
		k->ctr |= CTR_KBD_DISABLED;
		break;
	case CMD_ENABLE_KBD:
		k->ctr &= (uint8_t)~CTR_KBD_DISABLED;
		break;
	case CMD_SELF_TEST:
		put(k, 0x55);
		break;
	case CMD_KBD_TEST:
		put(k, 0x00);
		break;
	case CMD_READ_OUTPORT:
		put(k, 0x01); /* the CPU is not held in reset */
		break;
	case CMD_RESET:
		return true;
	default:
		break;
	}
	return false;
}
