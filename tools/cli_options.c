/* Table-driven option parser shared by every subcommand. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cg_opt g_global[] = {
    {"threads", 'j', CG_OPT_INT, NULL, "N", "number of threads (default: all cores, or OMP_NUM_THREADS)"},
    {"quiet", 'q', CG_OPT_FLAG, NULL, NULL, "no progress line, warnings and errors only"},
    {"verbose", 'v', CG_OPT_FLAG, NULL, NULL, "debug messages"},
    {"help", 'h', CG_OPT_FLAG, NULL, NULL, "show this help"},
    {0},
};

int cg_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "cryogen %s: error: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'cryogen %s --help')\n", cmd);
    return CG_EXIT_USAGE;
}

int cg_cli_fail(const char *cmd, cg_status s) {
    const char *msg = cg_last_error();
    fprintf(stderr, "cryogen %s: error: %s\n", cmd, msg && *msg ? msg : cg_status_str(s));
    if (s == CG_ERR_INTERRUPTED) return CG_EXIT_INTERRUPTED;
    return s == CG_ERR_ARG ? CG_EXIT_USAGE : CG_EXIT_FAIL;
}

int cg_cli_given(int argc, char **argv, const char *name) {
    size_t n = strlen(name);
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (argv[i][0] == '-' && argv[i][1] == '-' && !strncmp(argv[i] + 2, name, n) &&
            (argv[i][2 + n] == '\0' || argv[i][2 + n] == '='))
            return 1;
    return 0;
}

int cg_cli_word_index(const char *word, const char *const *names) {
    for (int i = 0; names[i]; i++)
        if (!strcmp(word, names[i])) return i;
    return -1;
}

/* The word for value v in the NULL-terminated names, or v as a number (no names, or v not one
 * of their indices). */
static void value_word(char *buf, size_t size, double v, const char *const *names) {
    int n = 0;
    while (names && names[n]) n++;
    if (v >= 0 && v < n && v == (int)v) snprintf(buf, size, "%s", names[(int)v]);
    else snprintf(buf, size, "%g", v);
}

int cg_cli_check_stored(const char *cmd, int argc, char **argv, const char *ckpt, const cg_cli_stored *tab, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const cg_cli_stored *t = &tab[i];
        if (!cg_cli_given(argc, argv, t->opt) || t->asked == t->stored) continue;
        char a[64], s[64];
        value_word(a, sizeof a, t->asked, t->names);
        value_word(s, sizeof s, t->stored, t->names); /* read from a file: may be outside the list */
        return cg_cli_usage_error(cmd,
                                  "--%s %s, but the run resumes %s, which has %s %s; drop --%s to resume it, "
                                  "or train a new model in another output folder",
                                  t->opt, a, ckpt, t->opt, s, t->opt);
    }
    return -1;
}

static void print_default(const cg_opt *o) {
    if (!o->value) return;
    switch (o->type) {
    case CG_OPT_INT: printf(" [%d]", *(int *)o->value); break;
    case CG_OPT_INT64: printf(" [%lld]", (long long)*(int64_t *)o->value); break;
    case CG_OPT_U64: printf(" [%llu]", (unsigned long long)*(uint64_t *)o->value); break;
    case CG_OPT_DOUBLE: printf(" [%g]", *(double *)o->value); break;
    case CG_OPT_STRING:
        if (*(const char **)o->value) printf(" [%s]", *(const char **)o->value);
        break;
    case CG_OPT_RANGE: {
        double *r = o->value;
        if (r[0] == r[1]) printf(" [%g]", r[0]);
        else printf(" [%g:%g]", r[0], r[1]);
        break;
    }
    case CG_OPT_FLAG: break;
    }
}

static void print_opts(const cg_opt *opts) {
    for (const cg_opt *o = opts; o->name; o++) {
        char lhs[96];
        if (o->short_name)
            snprintf(lhs, sizeof lhs, "-%c, --%s%s%s", o->short_name, o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        else
            snprintf(lhs, sizeof lhs, "    --%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        printf("  %-30s %s", lhs, o->help ? o->help : "");
        print_default(o);
        printf("\n");
    }
}

static void print_help(const char *cmd, const cg_cli_spec *spec) {
    printf("usage: %s\n\n", spec->usage);
    if (spec->description) printf("%s\n\n", spec->description);
    if (spec->opts && spec->opts[0].name) {
        printf("options:\n");
        print_opts(spec->opts);
    }
    printf("common options:\n");
    print_opts(g_global);
    if (spec->examples) printf("\nexamples:\n%s\n", spec->examples);
    (void)cmd;
}

static const cg_opt *find_opt(const cg_opt *opts, const char *name, char short_name) {
    for (const cg_opt *o = opts; o && o->name; o++)
        if ((name && strcmp(o->name, name) == 0) || (short_name && o->short_name == short_name)) return o;
    return NULL;
}

static int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno) return -1;
    *out = v;
    return 0;
}

static int store(const char *cmd, const cg_opt *o, const char *flag, const char *arg) {
    char *end;
    errno = 0;
    switch (o->type) {
    case CG_OPT_FLAG: *(int *)o->value = 1; return 0;
    case CG_OPT_INT: {
        long v = strtol(arg, &end, 10);
        if (end == arg || *end || errno || v < -2147483647L || v > 2147483647L)
            return cg_cli_usage_error(cmd, "%s expects an integer, got '%s'", flag, arg);
        *(int *)o->value = (int)v;
        return 0;
    }
    case CG_OPT_INT64: {
        long long v = strtoll(arg, &end, 10);
        if (end == arg || *end || errno) return cg_cli_usage_error(cmd, "%s expects an integer, got '%s'", flag, arg);
        *(int64_t *)o->value = v;
        return 0;
    }
    case CG_OPT_U64: {
        if (arg[0] == '-') return cg_cli_usage_error(cmd, "%s expects a non-negative integer, got '%s'", flag, arg);
        unsigned long long v = strtoull(arg, &end, 10);
        if (end == arg || *end || errno)
            return cg_cli_usage_error(cmd, "%s expects a non-negative integer, got '%s'", flag, arg);
        *(uint64_t *)o->value = v;
        return 0;
    }
    case CG_OPT_DOUBLE:
        if (parse_double(arg, (double *)o->value))
            return cg_cli_usage_error(cmd, "%s expects a number, got '%s'", flag, arg);
        return 0;
    case CG_OPT_STRING: *(const char **)o->value = arg; return 0;
    case CG_OPT_RANGE: {
        double *r = o->value;
        const char *colon = strchr(arg, ':');
        if (!colon) {
            if (parse_double(arg, &r[0])) return cg_cli_usage_error(cmd, "%s expects MIN:MAX or a number, got '%s'", flag, arg);
            r[1] = r[0];
            return 0;
        }
        char a[128], b[128];
        size_t la = (size_t)(colon - arg);
        if (la >= sizeof a || strlen(colon + 1) >= sizeof b)
            return cg_cli_usage_error(cmd, "%s: value too long", flag);
        memcpy(a, arg, la);
        a[la] = '\0';
        strcpy(b, colon + 1);
        if (parse_double(a, &r[0]) || parse_double(b, &r[1]))
            return cg_cli_usage_error(cmd, "%s expects MIN:MAX, got '%s'", flag, arg);
        if (r[0] > r[1]) return cg_cli_usage_error(cmd, "%s: MIN %g is larger than MAX %g", flag, r[0], r[1]);
        return 0;
    }
    }
    return 0;
}

int cg_cli_parse(const cg_cli_spec *spec, int argc, char **argv, const char **positional, int *npos) {
    const char *cmd = argv[0];
    int threads = 0, quiet = 0, verbose = 0, help = 0, only_pos = 0;
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0' || (a[1] >= '0' && a[1] <= '9')) {
            if (*npos >= spec->max_positional)
                return cg_cli_usage_error(cmd, "unexpected argument '%s'", a);
            positional[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        char namebuf[128];
        const char *name = NULL, *inline_val = NULL;
        char sh = 0;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            if (n >= sizeof namebuf) return cg_cli_usage_error(cmd, "unknown option '%s'", a);
            memcpy(namebuf, a + 2, n);
            namebuf[n] = '\0';
            name = namebuf;
            inline_val = eq ? eq + 1 : NULL;
        } else {
            sh = a[1];
            if (a[2]) inline_val = a + 2; /* "-j2": a short option with its value attached */
        }
        const cg_opt *o = find_opt(spec->opts, name, sh);
        cg_opt g;
        if (!o) {
            const cg_opt *go = find_opt(g_global, name, sh);
            if (!go && sh && a[2]) return cg_cli_usage_error(cmd, "unknown option '%s' (long options take two dashes)", a);
            if (!go) return cg_cli_usage_error(cmd, "unknown option '%s'", a);
            g = *go;
            g.value = go->short_name == 'j' ? (void *)&threads
                      : go->short_name == 'q' ? (void *)&quiet
                      : go->short_name == 'v' ? (void *)&verbose
                                              : (void *)&help;
            o = &g;
        }
        const char *arg = NULL;
        if (o->type != CG_OPT_FLAG) {
            if (inline_val) arg = inline_val;
            else if (i + 1 < argc) arg = argv[++i];
            else return cg_cli_usage_error(cmd, "%s needs a value (%s)", a, o->metavar ? o->metavar : "VALUE");
        } else if (inline_val) {
            return cg_cli_usage_error(cmd, "%s takes no value", a);
        }
        int rc = store(cmd, o, a, arg);
        if (rc) return rc;
    }
    if (help) {
        print_help(cmd, spec);
        return CG_EXIT_OK;
    }
    if (*npos < spec->min_positional)
        return cg_cli_usage_error(cmd, "expected %d positional argument%s, got %d", spec->min_positional,
                                  spec->min_positional == 1 ? "" : "s", *npos);
    if (threads < 0) return cg_cli_usage_error(cmd, "--threads must be positive");
    if (threads > 0) cg_set_threads(threads);
    if (quiet) {
        cg_progress_set_quiet(1);
        cg_log_set_level(CG_LOG_WARN);
    }
    if (verbose) cg_log_set_level(CG_LOG_DEBUG);
    return -1;
}
