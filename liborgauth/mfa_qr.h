/*
 * Enrolment URIs as QR codes for a terminal: libqrencode (when orgauth is
 * built with it) and Unicode half blocks, two module rows per text line.
 * Light modules are drawn, as for the usual light-on-dark terminal, with a
 * quiet zone of OA_MFA_QR_MARGIN drawn modules around the code.
 */
#ifndef ORGAUTH_MFA_QR_H
#define ORGAUTH_MFA_QR_H

#include <stdbool.h>
#include <stddef.h>

#define OA_MFA_QR_MARGIN 2
/* Holds the QR code of any otpauth URI oa_mfa_uri() makes. */
#define OA_MFA_QR_SIZE 16384

/* Whether this build can draw QR codes. */
bool oa_mfa_qr_available(void);

/*
 * Draws text into buf, lines ended by '\n'.  The result encodes the text,
 * so a secret in it is a secret in buf: give it a wiped buffer.  Returns
 * 0, or -1 (no QR support, no memory, or buf too small).
 */
int oa_mfa_qr(const char *text, char *buf, size_t size);

#endif
