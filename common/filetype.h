/*
 * filetype.h — a shared file's type and format (docs/data.md §3.2-3.4), detected
 * from its name's extension exactly as the reference's table.  The
 * reference sniffs the content of extension-less names; we do not yet, and
 * such files are Binary/Binary (the reference's answer for most of them).
 */
#ifndef PEERNET_FILETYPE_H
#define PEERNET_FILETYPE_H

#include <stdint.h>

enum ft_type {
	FT_TYPE_BINARY = 0, FT_TYPE_TEXT = 1, FT_TYPE_PICTURE = 2, FT_TYPE_VIDEO = 3,
	FT_TYPE_AUDIO = 4, FT_TYPE_DOCUMENT = 5, FT_TYPE_EXECUTABLE = 6,
	FT_TYPE_CONTAINER = 7, FT_TYPE_COMPRESSED = 8, FT_TYPE_FOLDER = 9,
	FT_TYPE_EBOOK = 10
};

enum ft_format {
	FT_FMT_BINARY = 0, FT_FMT_PDF = 1, FT_FMT_WORD = 2, FT_FMT_EXCEL = 3,
	FT_FMT_POWERPOINT = 4, FT_FMT_PICTURE = 5, FT_FMT_AUDIO = 6, FT_FMT_VIDEO = 7,
	FT_FMT_CONTAINER = 8, FT_FMT_HTML = 9, FT_FMT_TEXT = 10, FT_FMT_EBOOK = 11,
	FT_FMT_COMPRESSED = 12, FT_FMT_DATABASE = 13, FT_FMT_EMAIL = 14, FT_FMT_CSV = 15,
	FT_FMT_FOLDER = 16, FT_FMT_EXECUTABLE = 17, FT_FMT_INSTALLER = 18,
	FT_FMT_APK = 19, FT_FMT_ISO = 20, FT_FMT_PNSEARCH = 21
};

/* Type and format from the name (part after the last '/', text after the last '.'). */
void	ft_detect(const char *name, uint8_t *type, uint16_t *format);
const char *ft_type_name(uint8_t type);
/* "video" etc. -> type; -1 if unknown.  For search filters. */
int	ft_type_parse(const char *s);

#endif
