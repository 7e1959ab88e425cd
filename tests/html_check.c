/* A small HTML5 well-formedness check for csb's reports (tests/html_check.h): a tag
 * tokenizer with an element stack, enough to catch an unescaped value or a missing close. */
#include "tests/html_check.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DEPTH_MAX 64
#define NAME_LEN 16

static const char *const void_elements[] = {"area", "base", "br", "col", "embed", "hr", "img",
                                            "input", "link", "meta", "source", "track", "wbr"};

struct scan {
	const char *doc, *p;
	char stack[DEPTH_MAX][NAME_LEN];
	size_t depth;
	char *why;
	size_t whylen;
};

static bool fail(struct scan *s, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(s->why, s->whylen, "at byte %zu: ", (size_t)(s->p - s->doc));

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < s->whylen)
		vsnprintf(s->why + n, s->whylen - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static bool is_void(const char *name)
{
	for (size_t i = 0; i < sizeof(void_elements) / sizeof(void_elements[0]); i++)
		if (strcmp(void_elements[i], name) == 0)
			return true;
	return false;
}

static bool take_name(struct scan *s, char *name)
{
	size_t n = 0;

	while (isalnum((unsigned char)*s->p)) {
		if (n + 1 >= NAME_LEN)
			return fail(s, "name too long");
		name[n++] = (char)tolower((unsigned char)*s->p++);
	}
	name[n] = '\0';
	return n > 0 ? true : fail(s, "expected a name");
}

/* An entity after '&': &name; or &#123; or &#x1F;. */
static bool take_entity(struct scan *s)
{
	const char *q = s->p + 1;

	if (*q == '#')
		q++;
	if (*q == 'x' && q[-1] == '#')
		q++;
	if (!isalnum((unsigned char)*q))
		return fail(s, "bare '&'");
	while (isalnum((unsigned char)*q))
		q++;
	if (*q != ';')
		return fail(s, "unterminated entity");
	s->p = q + 1;
	return true;
}

static bool take_attrs(struct scan *s, bool *self_closed)
{
	*self_closed = false;
	for (;;) {
		while (isspace((unsigned char)*s->p))
			s->p++;
		if (*s->p == '>') {
			s->p++;
			return true;
		}
		if (s->p[0] == '/' && s->p[1] == '>') {
			*self_closed = true;
			s->p += 2;
			return true;
		}
		if (*s->p == '\0')
			return fail(s, "unterminated tag");
		if (!isalpha((unsigned char)*s->p))
			return fail(s, "bad attribute name");
		while (isalnum((unsigned char)*s->p) || *s->p == '-')
			s->p++;
		if (*s->p != '=')
			continue; /* a boolean attribute */
		s->p++;
		if (*s->p != '"')
			return fail(s, "unquoted attribute value");
		s->p++;
		while (*s->p != '"') {
			if (*s->p == '\0' || *s->p == '<')
				return fail(s, "bad attribute value");
			if (*s->p == '&') {
				if (!take_entity(s))
					return false;
				continue;
			}
			s->p++;
		}
		s->p++;
	}
}

/* The raw text of <style> up to its close tag. */
static bool skip_raw(struct scan *s, const char *name)
{
	char close[NAME_LEN + 4];
	const char *end;

	snprintf(close, sizeof(close), "</%s>", name);
	if ((end = strcasestr(s->p, close)) == NULL)
		return fail(s, "<%s> is not closed", name);
	s->p = end;
	return true;
}

static bool take_tag(struct scan *s)
{
	char name[NAME_LEN];
	bool closing = s->p[1] == '/', self_closed;

	s->p += closing ? 2 : 1;
	if (!take_name(s, name))
		return false;
	if (closing) {
		if (*s->p++ != '>')
			return fail(s, "junk in </%s>", name);
		if (s->depth == 0 || strcmp(s->stack[s->depth - 1], name) != 0)
			return fail(s, "</%s> closes <%s>", name, s->depth ? s->stack[s->depth - 1] : "");
		s->depth--;
		return true;
	}
	if (strcmp(name, "script") == 0 || strcmp(name, "iframe") == 0 ||
	    strcmp(name, "object") == 0)
		return fail(s, "<%s> is not expected in a report", name);
	if (!take_attrs(s, &self_closed))
		return false;
	if (is_void(name) || self_closed)
		return true;
	if (s->depth == DEPTH_MAX)
		return fail(s, "nested too deep");
	snprintf(s->stack[s->depth++], NAME_LEN, "%s", name);
	return strcmp(name, "style") == 0 ? skip_raw(s, name) : true;
}

bool h_html_check(const char *html, char *why, size_t whylen)
{
	struct scan s = {.doc = html, .p = html, .why = why, .whylen = whylen};
	static const char *const external[] = {"src=", "href=", "url(", "@import", "http://",
	                                       "https://"};

	why[0] = '\0';
	if (strncasecmp(s.p, "<!DOCTYPE html>", 15) != 0)
		return fail(&s, "no <!DOCTYPE html> first");
	for (size_t i = 0; i < sizeof(external) / sizeof(external[0]); i++)
		if (strcasestr(html, external[i]) != NULL) {
			s.p = strcasestr(html, external[i]);
			return fail(&s, "refers to something outside (%s)", external[i]);
		}
	for (s.p += 15; *s.p != '\0';) {
		if (strncmp(s.p, "<!--", 4) == 0) {
			const char *end = strstr(s.p, "-->");

			if (end == NULL)
				return fail(&s, "unterminated comment");
			s.p = end + 3;
		} else if (*s.p == '<') {
			if (!take_tag(&s))
				return false;
		} else if (*s.p == '&') {
			if (!take_entity(&s))
				return false;
		} else if (*s.p == '>') {
			return fail(&s, "unescaped '>' in text");
		} else {
			s.p++;
		}
	}
	if (s.depth != 0)
		return fail(&s, "<%s> is not closed", s.stack[s.depth - 1]);
	if (strstr(html, "<html") == NULL || strstr(html, "<head>") == NULL ||
	    strstr(html, "<title>") == NULL || strstr(html, "<body>") == NULL ||
	    strstr(html, "<meta charset=\"utf-8\">") == NULL)
		return fail(&s, "html, head, title, body or the charset is missing");
	return true;
}

size_t h_count(const char *hay, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	for (const char *p = hay; len > 0 && (p = strstr(p, needle)) != NULL; p += len)
		n++;
	return n;
}
