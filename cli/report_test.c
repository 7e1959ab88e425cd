/* The Backup-CsPool report: escaping, time and path formats, a well-formed self-contained
 * page that names every module and check, and writing it over an existing file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/internal/report.h"
#include "tests/html_check.h"

#define PRESENCE "UserServices.PresenceFocus"
#define DATACONF "ConfServices.DataConf"

static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cli_html_escape(f, s);
	fclose(f);
	return buf;
}

static char *render(const cli_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(cli_report_html(r, f), CSB_OK);
	fclose(f);
	return buf;
}

static void test_escape(void **state)
{
	char *s;

	(void)state;
	s = escaped("<a href=\"x\">Tom & 'Jerry'</a>");
	assert_string_equal(s, "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
	free(s);
	s = escaped("a\x01" "b\tc\nd\x7f");
	assert_string_equal(s, "a&#xFFFD;b\tc\nd&#xFFFD;");
	free(s);
	s = escaped("pool01.csb.test \xc3\xa9");
	assert_string_equal(s, "pool01.csb.test \xc3\xa9"); /* UTF-8 passes through */
	free(s);
}

static void test_time_and_default_path(void **state)
{
	char t[40], path[1024];

	(void)state;
	cli_time_rfc3339(0, t, sizeof(t));
	assert_string_equal(t, "1970-01-01T00:00:00.000Z");
	cli_time_rfc3339(1700000000123ull, t, sizeof(t));
	assert_string_equal(t, "2023-11-14T22:13:20.123Z");

	setenv("TZ", "UTC", 1);
	setenv("TMPDIR", "/var/reports/", 1);
	cli_report_default_path("pool01.csb.test", 1700000000123ull, path, sizeof(path));
	assert_string_equal(path, "/var/reports/Backup-CsPool-pool01.csb.test-20231114T221320.html");
	setenv("TMPDIR", "/x", 1);
	cli_report_default_path("pool02.csb.test", 0, path, sizeof(path));
	assert_string_equal(path, "/x/Backup-CsPool-pool02.csb.test-19700101T000000.html");
	unsetenv("TMPDIR");
	cli_report_default_path("pool01.csb.test", 0, path, sizeof(path));
	assert_string_equal(path, "/tmp/Backup-CsPool-pool01.csb.test-19700101T000000.html");
}

static cli_report *sample(void)
{
	cli_report *r = cli_report_new("pool01.csb.test");
	const char *ids[2] = {PRESENCE, DATACONF};
	const char *s1[2] = {"NonSteadyState", "SteadyState"};
	const char *s2[2] = {"SteadyState", "SteadyState"};

	assert_non_null(r);
	cli_report_set_backup(r, "pool02.csb.test");
	cli_report_set_wait(r, "FinalState", 3, 1000);
	assert_int_equal(cli_report_add_module(r, PRESENCE, false, 0, 0, 0), CSB_OK);
	assert_int_equal(cli_report_add_module(r, DATACONF, false, 0, 0, 0), CSB_OK);
	assert_int_equal(cli_report_module_sent(r, PRESENCE, 1000, 123456, 12), CSB_OK);
	assert_int_equal(cli_report_module_sent(r, DATACONF, 7, 70000, 3), CSB_OK);
	assert_int_equal(cli_report_add_check(r, 1700000000123ull, 2, ids, s1, false), CSB_OK);
	assert_int_equal(cli_report_add_check(r, 1700000001123ull, 2, ids, s2, false), CSB_OK);
	assert_int_equal(cli_report_add_check(r, 1700000002123ull, 2, ids, s2, false), CSB_OK);
	cli_report_note(r, "a note with <markup> & \"quotes\"");
	cli_report_finish(r, CLI_REPORT_FAILED, "pool01.csb.test did not reach FinalState after 3 "
	                                        "checks");
	return r;
}

/* Nothing left to send after continuous replication: the report says so, and how much the
 * backup copy holds, instead of a bare 0. */
static void test_already_replicated(void **state)
{
	cli_report *r = cli_report_new("pool01.csb.test");
	char *html;

	(void)state;
	assert_non_null(r);
	assert_int_equal(cli_report_add_module(r, PRESENCE, false, 0, 0, 0), CSB_OK);
	assert_int_equal(cli_report_module_sent(r, PRESENCE, 0, 0, 4), CSB_OK);
	cli_report_module_held(r, PRESENCE, 10000);
	cli_report_finish(r, CLI_REPORT_SUCCEEDED, "done");
	html = render(r);
	assert_non_null(strstr(html, "<td colspan=\"3\" class=\"note\">already replicated: the "
	                             "backup copy holds 10000 records</td>"));
	free(html);
	cli_report_free(r);
}

static void test_page_names_every_check(void **state)
{
	cli_report *r = sample();
	char *html = render(r), why[256];

	(void)state;
	assert_int_equal(cli_report_checks(r), 3);
	if (!h_html_check(html, why, sizeof(why)))
		fail_msg("not well-formed: %s\n%s", why, html);
	assert_non_null(strstr(html, "<title>Backup-CsPool pool01.csb.test</title>"));
	assert_non_null(strstr(html, "<td>pool02.csb.test</td>"));
	assert_non_null(strstr(html, "<td>" PRESENCE "</td><td class=\"num\">1000</td>"
	                             "<td class=\"num\">123456</td><td class=\"num\">12</td>"));
	assert_non_null(strstr(html, "<td>" DATACONF "</td><td class=\"num\">7</td>"
	                             "<td class=\"num\">70000</td><td class=\"num\">3</td>"));
	assert_non_null(strstr(html, "<th>Total</th><td class=\"num\">1007</td>"
	                             "<td class=\"num\">193456</td>"));
	assert_non_null(strstr(html, "<td>2023-11-14T22:13:20.123Z</td>"));
	assert_non_null(strstr(html, "<td>2023-11-14T22:13:21.123Z</td>"));
	assert_non_null(strstr(html, "<td>2023-11-14T22:13:22.123Z</td>"));
	/* The target is FinalState: SteadyState has not met it, so it is not green. */
	assert_int_equal(h_count(html, "<td class=\"st-notyet\">SteadyState</td>"), 5);
	assert_int_equal(h_count(html, "<td class=\"st-notyet\">NonSteadyState</td>"), 1);
	assert_int_equal(h_count(html, "st-met"), 1); /* the stylesheet's rule only */
	assert_non_null(strstr(html, "FinalState (at most 3 checks, 00:00:01 apart)"));
	assert_non_null(strstr(html, "<span class=\"failed\">Failed</span>: pool01.csb.test did "
	                             "not reach FinalState after 3 checks"));
	assert_non_null(strstr(html, "a note with &lt;markup&gt; &amp; &quot;quotes&quot;"));
	assert_null(strstr(html, "<markup>"));
	free(html);
	cli_report_free(r);
}

/* Whatever a pool or a module is called, the page stays well-formed. */
static void test_hostile_names_are_escaped(void **state)
{
	cli_report *r = cli_report_new("<script>alert(1)</script>");
	const char *ids[1] = {"x\"><b>"};
	const char *st[1] = {"Err&State<"};
	char *html, why[256];

	(void)state;
	cli_report_set_backup(r, "'&amp;'");
	cli_report_set_wait(r, "Steady<State>", 1, 5000);
	cli_report_add_module(r, "<td>", true, 1, 2, 3);
	cli_report_add_check(r, 5, 1, ids, st, true);
	cli_report_finish(r, CLI_REPORT_SUCCEEDED, "</table>");
	html = render(r);
	if (!h_html_check(html, why, sizeof(why)))
		fail_msg("not well-formed: %s\n%s", why, html);
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html, "&#39;&amp;amp;&#39;"));
	/* An unknown state under a target is "not yet" (never green). */
	assert_non_null(strstr(html, "<td class=\"st-notyet\">Err&amp;State&lt;</td>"));
	free(html);
	cli_report_free(r);
}

/* No checks: the page says so (or, without a target, has no checks section). */
static void test_no_checks(void **state)
{
	cli_report *r = cli_report_new("pool01.csb.test");
	char *html, why[256];

	(void)state;
	html = render(r); /* not finished, nothing known */
	assert_true(h_html_check(html, why, sizeof(why)));
	assert_null(strstr(html, "<h2>Checks</h2>"));
	assert_non_null(strstr(html, "(unknown)"));
	assert_non_null(strstr(html, "Not finished"));
	free(html);
	cli_report_set_wait(r, "SteadyState", 10, 5000);
	cli_report_finish(r, CLI_REPORT_SKIPPED, "pool01.csb.test is not failed over (Normal)");
	html = render(r);
	assert_true(h_html_check(html, why, sizeof(why)));
	assert_non_null(strstr(html, "<p>No check was made.</p>"));
	assert_non_null(strstr(html, "<span class=\"skipped\">Skipped</span>"));
	free(html);
	cli_report_free(r);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_write_overwrites(void **state)
{
	const char *base = getenv("TEST_TMPDIR");
	char dir[512], path[600], bad[600], *got, *want;
	cli_report *r = sample();
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/reportXXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.html", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("an older, longer report that must be replaced entirely ......................", f);
	fclose(f);
	assert_int_equal(cli_report_write(r, path), CSB_OK);
	got = slurp(path);
	want = render(r);
	/* The footer's time may differ by a second; everything before it is the same. */
	assert_memory_equal(got, want, (size_t)(strstr(want, "<footer>") - want));
	assert_null(strstr(got, "older"));
	free(got);
	free(want);

	snprintf(bad, sizeof(bad), "%s/no/such/dir/r.html", dir);
	errno = 0;
	assert_int_equal(cli_report_write(r, bad), CSB_EIO);
	assert_int_equal(errno, ENOENT);
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* nothing else (no temporary file) was left */
	cli_report_free(r);
}

/* The checker the tests rely on does reject what it should. */
static void test_checker_rejects_broken_pages(void **state)
{
	static const char head[] = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                           "<title>t</title></head><body>";
	static const char *const bad[] = {
		"<p>unclosed</body></html>",
		"<p>a & b</p></body></html>",
		"<p>a < b</p></body></html>",
		"<p class=x>unquoted</p></body></html>",
		"<p class=\"a\"b\">quote</p></body></html>",
		"<img src=\"http://example.com/x.png\"></body></html>",
		"<script>1</script></body></html>",
		"</div></body></html>",
	};
	char doc[512], why[256];

	(void)state;
	snprintf(doc, sizeof(doc), "%s<p>fine &amp; dandy &#39;x&#39;</p><br></body></html>", head);
	assert_true(h_html_check(doc, why, sizeof(why)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc), "%s%s", head, bad[i]);
		if (h_html_check(doc, why, sizeof(why)))
			fail_msg("accepted: %s", bad[i]);
	}
	assert_false(h_html_check("<html></html>", why, sizeof(why)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_time_and_default_path),
		cmocka_unit_test(test_page_names_every_check),
		cmocka_unit_test(test_already_replicated),
		cmocka_unit_test(test_hostile_names_are_escaped),
		cmocka_unit_test(test_no_checks),
		cmocka_unit_test(test_write_overwrites),
		cmocka_unit_test(test_checker_rejects_broken_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
