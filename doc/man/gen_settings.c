/*
 * gen_settings.c - the settings' documentation from preload/conf.c's table
 * (conf_options[]), so that it is written once:
 *
 *   gen_settings man       the SETTINGS section of buddymalloc(3) (roff)
 *   gen_settings markdown  the README's settings table
 *
 * Each row gives the key, the values it takes, its default and its help
 * text, the same pieces BUDDYMALLOC_CONF=help prints (conf_print_help).
 * Run at build time (doc/man/local.mk); tests/readme_settings.sh checks the
 * README's copy of the table against this program's output.
 */
#include <stdio.h>
#include <string.h>

#include "preload.h"
#include "seq_buf.h"

/* The values and the default of opt, as conf_print_help shows them. */
static void describe(const struct conf_option *opt, char *values,
		     size_t values_size, char *deflt, size_t deflt_size)
{
	struct seq_buf s;

	seq_buf_init(&s, values, values_size, NULL, NULL);
	conf_expected_show(&s, opt);
	seq_buf_str(&s);
	seq_buf_init(&s, deflt, deflt_size, NULL, NULL);
	conf_value_show(&s, opt, conf_default(opt));
	seq_buf_str(&s);
}

/* Text in roff: a backslash is \e, and a line may not start with a dot or
 * an apostrophe (a request). */
static void roff_puts(const char *text)
{
	if (*text == '.' || *text == '\'')
		fputs("\\&", stdout);
	for (; *text; text++) {
		if (*text == '\\')
			fputs("\\e", stdout);
		else if (*text == '-')
			fputs("\\-", stdout);
		else
			putchar(*text);
	}
}

static void print_man(void)
{
	puts(".SH SETTINGS");
	puts("Each key below is set as");
	puts(".IB key : value");
	puts("in");
	puts(".B BUDDYMALLOC_CONF");
	puts("(entries separated by commas) or in the settings file");
	puts("(see");
	puts(".BR FILES ),");
	puts("and read and written as");
	puts(".BI opt. key");
	puts("through");
	puts(".BR buddymalloc_mallctl ().");
	puts("Keys marked start-up only take effect before the first allocation"
	     " and are read-only afterwards.");
	for (size_t i = 0; i < nr_conf_options; i++) {
		const struct conf_option *opt = &conf_options[i];
		char values[256], deflt[64];

		describe(opt, values, sizeof(values), deflt, sizeof(deflt));
		puts(".TP");
		printf(".B ");
		roff_puts(opt->name);
		putchar('\n');
		roff_puts(opt->help);
		if (opt->flags & CONF_BOOT)
			fputs(" (start-up only)", stdout);
		puts(".");
		puts(".br");
		fputs("Values: ", stdout);
		roff_puts(values);
		fputs("; default ", stdout);
		roff_puts(deflt);
		puts(".");
	}
}

static void md_puts(const char *text)
{
	for (; *text; text++) {
		/* GitHub's tables: no emphasis inside words, so '_' stays. */
		if (*text == '|' || *text == '*' || *text == '<' ||
		    *text == '`')
			putchar('\\');
		putchar(*text);
	}
}

static void print_markdown(void)
{
	puts("| key | values | default | what it does |");
	puts("|---|---|---|---|");
	for (size_t i = 0; i < nr_conf_options; i++) {
		const struct conf_option *opt = &conf_options[i];
		char values[256], deflt[64];

		describe(opt, values, sizeof(values), deflt, sizeof(deflt));
		printf("| `%s` | ", opt->name);
		md_puts(values);
		printf(" | `%s` | ", deflt);
		md_puts(opt->help);
		if (opt->flags & CONF_BOOT)
			fputs(" (start-up only)", stdout);
		puts(" |");
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "man") == 0)
		print_man();
	else if (argc == 2 && strcmp(argv[1], "markdown") == 0)
		print_markdown();
	else {
		fprintf(stderr, "usage: %s man|markdown\n", argv[0]);
		return 2;
	}
	return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
