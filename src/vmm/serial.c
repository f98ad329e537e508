/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An 8250/16550A UART at the register level: enough for Linux's 8250 driver
 * and its console.  Transmit is instant (THR is always empty again), so the
 * only interrupt sources are "THR empty" and "data ready".  The IRQ is
 * level-triggered: the caller sets the line to hull_serial_irq() after every
 * access.  The guest controls every register value, and nothing here indexes
 * with them beyond the 3-bit register offset.
 */
#include <string.h>

#include "vmm/vmm-internal.h"

enum {
	REG_RBR_THR = 0,
	REG_IER = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

void hull_serial_init(struct hull_serial *s, hull_serial_out_fn out, void *opaque)
{
	*s = (struct hull_serial){
		.mcr = MCR_OUT2,
		.out = out,
		.opaque = opaque,
	};
}

static uint8_t iir(const struct hull_serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_len > 0)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

bool hull_serial_irq(const struct hull_serial *s)
{
	return !(iir(s) & IIR_NO_INT);
}

static bool rx_push(struct hull_serial *s, uint8_t b)
{
	if (s->rx_len >= HULL_SERIAL_FIFO)
		return false;
	s->rx[(s->rx_head + s->rx_len) % HULL_SERIAL_FIFO] = b;
	s->rx_len++;
	return true;
}

static uint8_t rx_pop(struct hull_serial *s)
{
	uint8_t b;

	if (s->rx_len == 0)
		return 0;
	b = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % HULL_SERIAL_FIFO;
	s->rx_len--;
	return b;
}

bool hull_serial_read(struct hull_serial *s, unsigned off, uint8_t *ret)
{
	uint8_t v = 0;

	switch (off & 7) {
	case REG_RBR_THR:
		v = (s->lcr & LCR_DLAB) ? s->dll : rx_pop(s);
		break;
	case REG_IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case REG_IIR_FCR:
		v = iir(s);
		/* reading IIR while it reports THRE acknowledges that interrupt */
		if ((v & 0x0f) == IIR_THRI)
			s->thri_pending = false;
		break;
	case REG_LCR:
		v = s->lcr;
		break;
	case REG_MCR:
		v = s->mcr;
		break;
	case REG_LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_len > 0 ? LSR_DR : 0) | s->lsr_extra;
		s->lsr_extra = 0;
		break;
	case REG_MSR:
		if (s->mcr & MCR_LOOP) {
			/* loopback: the modem outputs come back as its inputs */
			v = ((s->mcr & MCR_RTS) ? MSR_CTS : 0) |
			    ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
			    ((s->mcr & MCR_OUT1) ? MSR_RI : 0) |
			    ((s->mcr & MCR_OUT2) ? MSR_DCD : 0);
		} else {
			v = MSR_DCD | MSR_DSR | MSR_CTS;
		}
		break;
	case REG_SCR:
		v = s->scr;
		break;
	}
	*ret = v;
	return hull_serial_irq(s);
}

bool hull_serial_write(struct hull_serial *s, unsigned off, uint8_t val)
{
	switch (off & 7) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = val;
			break;
		}
		if (s->mcr & MCR_LOOP) {
			if (!rx_push(s, val))
				s->lsr_extra |= 0x02; /* overrun */
		} else if (s->out) {
			s->out(s->opaque, val);
		}
		s->thri_pending = true;
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = val;
			break;
		}
		/* enabling THRI with the transmitter empty raises it at once (as the 16550 does) */
		if ((val & IER_THRI) && !(s->ier & IER_THRI))
			s->thri_pending = true;
		s->ier = val & 0x0f;
		break;
	case REG_IIR_FCR:
		s->fcr = val & 0xc9;
		if (val & FCR_CLEAR_RX) {
			s->rx_head = 0;
			s->rx_len = 0;
		}
		break;
	case REG_LCR:
		s->lcr = val;
		break;
	case REG_MCR:
		s->mcr = val & 0x1f;
		break;
	case REG_LSR:
	case REG_MSR:
		break; /* read-only (factory test) */
	case REG_SCR:
		s->scr = val;
		break;
	}
	return hull_serial_irq(s);
}

size_t hull_serial_input(struct hull_serial *s, const uint8_t *buf, size_t len)
{
	size_t i;

	/*
	 * In loopback the line is disconnected from the outside.  And until the
	 * driver enables the receive interrupt it is not listening: Linux clears
	 * the FIFO when it opens the port, so input that came earlier stays with
	 * the caller (offered again later) instead of being lost.
	 */
	if ((s->mcr & MCR_LOOP) || !(s->ier & IER_RDI))
		return 0;
	for (i = 0; i < len; i++)
		if (!rx_push(s, buf[i]))
			break;
	return i;
}
