/* hex.h — lowercase hex encoding and strict decoding of byte strings. */
#ifndef PEERNET_HEX_H
#define PEERNET_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*n hex digits and a NUL into out (which holds 2*n+1 bytes). */
void	hex_encode(char *out, const uint8_t *in, size_t n);
/*
 * Decodes exactly strlen(in)/2 bytes into out; fails (-1) on odd length, a
 * non-hex digit, or more than cap bytes.  Returns the byte count.
 */
long	hex_decode(uint8_t *out, size_t cap, const char *in);
/* The value of one hex digit (either case), -1 for any other character. */
int	hex_nibble(char c);

#endif
