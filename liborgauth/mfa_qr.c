/* QR codes of enrolment URIs for terminals (see mfa_qr.h). */
#include "config.h"

#include <string.h>

#include <sodium.h>
#ifdef HAVE_QRENCODE
#include <qrencode.h>
#endif

#include "mfa_qr.h"

bool
oa_mfa_qr_available(void)
{
#ifdef HAVE_QRENCODE
	return true;
#else
	return false;
#endif
}

#ifdef HAVE_QRENCODE
/* Light (drawn) modules: the quiet zone, and the code's light ones. */
static bool
light(const QRcode *qr, int x, int y)
{
	int w = qr->width;

	x -= OA_MFA_QR_MARGIN;
	y -= OA_MFA_QR_MARGIN;
	if (x < 0 || y < 0 || x >= w || y >= w)
		return true;
	return (qr->data[y * w + x] & 1) == 0;
}

int
oa_mfa_qr(const char *text, char *buf, size_t size)
{
	/* indexed by top light * 2 + bottom light */
	static const char *const cell[4] = {" ", "\u2584", "\u2580", "\u2588"};
	QRcode *qr;
	size_t o = 0, n;
	int x, y, side, ret = -1;

	/* The error correction of the smallest code a phone reads well. */
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (qr == NULL)
		return -1;
	side = qr->width + 2 * OA_MFA_QR_MARGIN;
	for (y = 0; y < side; y += 2) {
		for (x = 0; x < side; x++) {
			/* past the last row is the terminal, not the code */
			bool bottom = y + 1 < side && light(qr, x, y + 1);
			const char *c = cell[light(qr, x, y) * 2 + bottom];

			n = strlen(c);
			if (o + n + 2 > size)
				goto out;
			memcpy(buf + o, c, n);
			o += n;
		}
		buf[o++] = '\n';
	}
	buf[o] = '\0';
	ret = 0;
out:
	sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
	return ret;
}
#else
int
oa_mfa_qr(const char *text, char *buf, size_t size)
{
	(void)text;
	(void)buf;
	(void)size;
	return -1;
}
#endif
