/* Generated record values (values.h): the generators of `csb data load -ValueKind`, moved
 * here from cli/cmd_data.c so that the bench loads the very same kinds. */
#include "common/values.h"

#include <stdio.h>
#include <string.h>

bool csb_value_kind_parse(const char *name, csb_value_kind *out)
{
	if (name == NULL || strcmp(name, "random") == 0)
		*out = CSB_VALUE_RANDOM;
	else if (strcmp(name, "presence") == 0)
		*out = CSB_VALUE_PRESENCE;
	else if (strcmp(name, "conference") == 0)
		*out = CSB_VALUE_CONFERENCE;
	else
		return false;
	return true;
}

const char *csb_value_kind_name(csb_value_kind kind)
{
	switch (kind) {
	case CSB_VALUE_PRESENCE: return "presence";
	case CSB_VALUE_CONFERENCE: return "conference";
	default: return "random";
	}
}

uint64_t csb_values_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Appends text to v[*at..n) (cut at n). */
static void put_text(uint8_t *v, size_t n, size_t *at, const char *text)
{
	size_t len = strlen(text);

	if (len > n - *at)
		len = n - *at;
	memcpy(v + *at, text, len);
	*at += len;
}

/* Who, state, note, and endpoints with their ids and times; padded with more endpoints up
 * to n bytes. */
static void fill_presence(uint64_t *s, uint8_t *v, size_t n)
{
	static const char *const states[] = {"Available", "Busy", "InAMeeting", "Away",
	                                      "DoNotDisturb", "Offline"};
	static const char *const notes[] = {"Out of office until Monday",
	                                    "Working from the Berlin office",
	                                    "In workshops all day, reply tomorrow", ""};
	static const char *const devices[] = {"Skype for Business 2016 (Windows)",
	                                      "Skype for Business (iOS)", "Polycom VVX 411",
	                                      "Lync Web App"};
	char buf[512];
	size_t at = 0;
	uint64_t x = csb_values_next(s);

	snprintf(buf, sizeof(buf), "<presence uri=\"sip:user%06llu@csb.test\"><state avail=\"%llu"
	         "\" activity=\"%s\"/><note>%s</note><endpoints>",
	         (unsigned long long)(x % 1000000), (unsigned long long)(3000 + x % 7 * 1500),
	         states[x % 6], notes[(x >> 8) % 4]);
	put_text(v, n, &at, buf);
	while (at < n) {
		x = csb_values_next(s);
		snprintf(buf, sizeof(buf), "<endpoint id=\"%08llx-%04llx-%04llx\" device=\"%s\" "
		         "lastActive=\"2026-11-%02lluT%02llu:%02llu:%02lluZ\"/>",
		         (unsigned long long)(x >> 32), (unsigned long long)((x >> 16) & 0xffff),
		         (unsigned long long)(x & 0xffff), devices[x % 4],
		         (unsigned long long)(1 + x % 28), (unsigned long long)(x / 7 % 24),
		         (unsigned long long)(x / 11 % 60), (unsigned long long)(x / 13 % 60));
		put_text(v, n, &at, buf);
	}
}

/* Slides' text and markup, then image bytes (already compressed, so incompressible) for
 * about half of the value. */
static void fill_conference(uint64_t *s, uint8_t *v, size_t n)
{
	static const char *const lines[] = {
		"<slide><title>Quarterly results</title><bullet>Revenue up 12%</bullet></slide>",
		"<slide><title>Roadmap</title><bullet>Pool pairing in every site</bullet></slide>",
		"<slide><title>Questions</title><bullet>Thank you for joining</bullet></slide>"};
	size_t at = 0, text = n / 2;

	while (at < text)
		put_text(v, text, &at, lines[csb_values_next(s) % 3]);
	for (; at < n; at++)
		v[at] = (uint8_t)csb_values_next(s);
}

static void fill_random(uint64_t *s, uint8_t *v, size_t n)
{
	uint64_t x = csb_values_next(s) | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = (uint8_t)('a' + x % 26);
	}
}

void csb_values_fill(csb_value_kind kind, uint64_t *state, uint8_t *v, size_t n)
{
	switch (kind) {
	case CSB_VALUE_PRESENCE: fill_presence(state, v, n); break;
	case CSB_VALUE_CONFERENCE: fill_conference(state, v, n); break;
	default: fill_random(state, v, n); break;
	}
}
