/* Test-only: checks that a page is the kind of HTML5 document csb writes (the Backup-CsPool
 * report): a doctype first, every element closed in order, quoted attributes, '&' only in
 * entities, no '<' in text, and nothing fetched from elsewhere. Used by cli/report_test.c
 * and the CLI integration tests. */
#ifndef CSB_TESTS_HTML_CHECK_H
#define CSB_TESTS_HTML_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* True when html passes; otherwise false and why (with the byte offset) in why. */
bool h_html_check(const char *html, char *why, size_t whylen);

/* How many times needle occurs in hay (non-overlapping). */
size_t h_count(const char *hay, const char *needle);

#endif
