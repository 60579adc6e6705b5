/* The command-line tool's shared pieces: the subcommand record, a table-driven option parser
 * that gives every command --help, and helpers to report a library error and exit code.
 *
 * A subcommand lives in tools/cmd_<name>.c (name with '_' for '-') and defines
 *     const cg_cli_command cg_cmd_<name> = {"name", "one-line summary", run};
 * CMake finds it and adds it to the dispatch table; nothing else needs editing. */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"

typedef struct {
    const char *name;    /* as typed: "simulate" */
    const char *summary; /* one line for `cryogen --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name; returns exit code */
} cg_cli_command;

typedef enum {
    CG_OPT_FLAG,   /* int*, set to 1 */
    CG_OPT_INT,    /* int* */
    CG_OPT_INT64,  /* int64_t* */
    CG_OPT_U64,    /* uint64_t* (seeds) */
    CG_OPT_DOUBLE, /* double* */
    CG_OPT_STRING, /* const char** */
    CG_OPT_RANGE,  /* double[2]: "MIN:MAX" or a single value for both */
} cg_opt_type;

typedef struct {
    const char *name;    /* long name without dashes: "snr" */
    char short_name;     /* 'j' or 0 */
    cg_opt_type type;
    void *value;         /* where to store; holds the default on entry */
    const char *metavar; /* "SNR", "MIN:MAX" ... (NULL for flags) */
    const char *help;    /* one line; the default is printed after it */
} cg_opt;

typedef struct {
    const char *usage;       /* "cryogen simulate --volume V.mrc --n N --out DIR [options]" */
    const char *description; /* paragraph printed under usage */
    const cg_opt *opts;      /* terminated by {0} */
    int min_positional, max_positional;
    const char *examples;    /* optional lines printed at the end of --help */
} cg_cli_spec;

/* Exit codes: 0 ok, 1 runtime failure, 2 usage error, 130 interrupted. */
enum { CG_EXIT_OK = 0, CG_EXIT_FAIL = 1, CG_EXIT_USAGE = 2, CG_EXIT_INTERRUPTED = 130 };

/* Parse argv[1..] against the spec. Global options are always accepted: -h/--help,
 * -j/--threads N, -q/--quiet, -v/--verbose. Positional arguments are returned in
 * positional[] (pointers into argv), their count in *npos.
 * Returns -1 to go on, or an exit code to return at once (0 after --help, 2 on a usage error,
 * with the message printed). */
int cg_cli_parse(const cg_cli_spec *spec, int argc, char **argv, const char **positional, int *npos);
/* 1 when the long option --NAME was typed (as "--NAME V" or "--NAME=V") before any "--", else 0:
 * for commands where an option given explicitly must agree with a value read from a file. */
int cg_cli_given(int argc, char **argv, const char *name);
/* Index of word in the NULL-terminated names (an option's value words), or -1. */
int cg_cli_word_index(const char *word, const char *const *names);
/* A model option that a resumed run takes from its checkpoint: the value typed (or its default)
 * and the value stored. */
typedef struct {
    const char *opt;            /* long option name without "--" */
    double asked, stored;
    const char *const *names;   /* NULL, or the option's word for each integer value (NULL-terminated;
                                   a value outside the list is printed as a number) */
} cg_cli_stored;
/* For each option typed on the command line whose value differs from the stored one, print a
 * usage error naming the option, both values and `ckpt`, and return 2 (first mismatch only);
 * -1 when everything typed agrees. */
int cg_cli_check_stored(const char *cmd, int argc, char **argv, const char *ckpt, const cg_cli_stored *tab, size_t n);
/* Print "cryogen <cmd>: error: <library message>" and map the status to an exit code. */
int cg_cli_fail(const char *cmd, cg_status s);
/* Print a usage error ("cryogen <cmd>: error: ...; see 'cryogen <cmd> --help'") and return 2. */
int cg_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
