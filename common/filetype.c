/* filetype.c — type/format detection by extension (see filetype.h). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "filetype.h"

static const struct {
	const char	*exts;		/* space-separated */
	uint8_t		 type;
	uint16_t	 format;
} ft_table[] = {
	{ "txt log ini json md", FT_TYPE_TEXT, FT_FMT_TEXT },
	{ "csv tsv", FT_TYPE_TEXT, FT_FMT_CSV },
	{ "html htm", FT_TYPE_TEXT, FT_FMT_HTML },
	{ "doc docx rtf odt", FT_TYPE_DOCUMENT, FT_FMT_WORD },
	{ "pdf", FT_TYPE_DOCUMENT, FT_FMT_PDF },
	{ "xls xlsx ods", FT_TYPE_DOCUMENT, FT_FMT_EXCEL },
	{ "ppt pptx odp", FT_TYPE_DOCUMENT, FT_FMT_POWERPOINT },
	{ "gif jpg jpeg png svg bmp tif tiff jfif webp", FT_TYPE_PICTURE, FT_FMT_PICTURE },
	{ "mp4 flv avi mov mpg mpeg h264 3g2 3gp mkv wmv webm ts", FT_TYPE_VIDEO, FT_FMT_VIDEO },
	{ "mp3 ogg flac", FT_TYPE_AUDIO, FT_FMT_AUDIO },
	{ "zip rar 7z tar", FT_TYPE_CONTAINER, FT_FMT_CONTAINER },
	{ "iso", FT_TYPE_CONTAINER, FT_FMT_ISO },
	{ "epub mobi prc", FT_TYPE_EBOOK, FT_FMT_EBOOK },
	{ "gz bz bz2 xz", FT_TYPE_COMPRESSED, FT_FMT_COMPRESSED },
	{ "sql", FT_TYPE_TEXT, FT_FMT_DATABASE },
	{ "eml mbox", FT_TYPE_TEXT, FT_FMT_EMAIL },
	{ "exe sys dll cmd bat", FT_TYPE_EXECUTABLE, FT_FMT_EXECUTABLE },
	{ "msi", FT_TYPE_EXECUTABLE, FT_FMT_INSTALLER },
	{ "apk", FT_TYPE_EXECUTABLE, FT_FMT_APK },
	{ "pnsearch", FT_TYPE_TEXT, FT_FMT_PNSEARCH },
};

static const char *const ft_type_names[] = {
	"binary", "text", "picture", "video", "audio", "document",
	"executable", "container", "compressed", "folder", "ebook"
};

static int
ft_in_list(const char *list, const char *ext, size_t n)
{
	const char *p = list, *e;

	while (*p != '\0') {
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == n && strncasecmp(p, ext, n) == 0)
			return 1;
		p = *e ? e + 1 : e;
	}
	return 0;
}

void
ft_detect(const char *name, uint8_t *type, uint16_t *format)
{
	const char *base = strrchr(name, '/'), *dot;
	size_t i, n;

	*type = FT_TYPE_BINARY;
	*format = FT_FMT_BINARY;
	base = base ? base + 1 : name;
	if ((dot = strrchr(base, '.')) == NULL)
		return;
	n = strlen(dot + 1);
	for (i = 0; i < sizeof(ft_table) / sizeof(ft_table[0]); i++)
		if (ft_in_list(ft_table[i].exts, dot + 1, n)) {
			*type = ft_table[i].type;
			*format = ft_table[i].format;
			return;
		}
}

const char *
ft_type_name(uint8_t type)
{
	return type < sizeof(ft_type_names) / sizeof(ft_type_names[0]) ?
	    ft_type_names[type] : "unknown";
}

int
ft_type_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(ft_type_names) / sizeof(ft_type_names[0]); i++)
		if (strcasecmp(s, ft_type_names[i]) == 0)
			return (int)i;
	return -1;
}
