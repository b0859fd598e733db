/*
 * fuzz_conf.c — peernet.conf parsing over arbitrary text: the line reader,
 * section checks, value parsers and error formatting.  A listen/root value
 * that parses must print to canonical text that parses to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static struct conf	c;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_listen l, l2;
	struct conf_root r, r2;
	char err[256], *text;
	int i;

	if (size > 64 * 1024)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (conf_parse_string(&c, text, "/fuzz/peernet.conf", err,
	    sizeof(err)) == 0) {
		for (i = 0; i < c.nlisten; i++)
			if (conf_parse_listen(c.listen[i].text, &l2) != 0 ||
			    memcmp(&l2, &c.listen[i], sizeof(l2)) != 0)
				abort();
		for (i = 0; i < c.nroot; i++)
			if (conf_parse_root(c.root[i].text, &r2) != 0 ||
			    memcmp(&r2, &c.root[i], sizeof(r2)) != 0)
				abort();
	} else if (strncmp(err, "/fuzz/peernet.conf:", 19) != 0)
		abort();	/* every error names the file */

	if (conf_parse_listen(text, &l) == 0 &&
	    (conf_parse_listen(l.text, &l2) != 0 ||
	    memcmp(&l, &l2, sizeof(l)) != 0))
		abort();
	if (conf_parse_root(text, &r) == 0 &&
	    (conf_parse_root(r.text, &r2) != 0 ||
	    memcmp(&r, &r2, sizeof(r)) != 0))
		abort();
	free(text);
	return 0;
}
