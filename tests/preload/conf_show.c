/*
 * conf_show.c - prints settings as the running library has them, read back
 * through buddymalloc_mallctl("opt.<key>"), one "key=value" line per
 * argument. An argument is TYPE:KEY with TYPE b (bool), z (size_t), u
 * (unsigned int) or s (a name, const char *). Linked with libbuddymalloc.la,
 * so the values are those its start-up read (tests/conf_file.sh). Exits 2
 * when a name is refused, 1 on a usage error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buddymalloc.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *key = argv[i] + 2;
		char name[128];
		union {
			bool b;
			size_t z;
			unsigned int u;
			const char *s;
		} v;
		size_t len;

		if (strlen(argv[i]) < 3 || argv[i][1] != ':')
			return 1;
		snprintf(name, sizeof(name), "opt.%s", key);
		switch (argv[i][0]) {
		case 'b': len = sizeof(v.b); break;
		case 'z': len = sizeof(v.z); break;
		case 'u': len = sizeof(v.u); break;
		case 's': len = sizeof(v.s); break;
		default: return 1;
		}
		if (buddymalloc_mallctl(name, &v, &len, NULL, 0) != 0) {
			fprintf(stderr, "conf_show: %s refused\n", name);
			return 2;
		}
		switch (argv[i][0]) {
		case 'b': printf("%s=%s\n", key, v.b ? "true" : "false"); break;
		case 'z': printf("%s=%zu\n", key, v.z); break;
		case 'u': printf("%s=%u\n", key, v.u); break;
		case 's': printf("%s=%s\n", key, v.s); break;
		}
	}
	return 0;
}
