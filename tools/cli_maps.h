/* Helpers shared by the map-comparison commands (fsc, fsc-matrix, backproject): reading a
 * cubic volume with its pixel size, building a mask from options, writing small JSON values. */
#pragma once
#include <stdio.h>

#include "cryogen/core.h"

/* Read a cubic map (N^3) and its pixel size (A, from the header; 0 if the header has none).
 * Errors name the file: not cubic, unreadable. *v is malloc'd. */
cg_status cli_read_volume(const char *path, float **v, int *N, double *pixel_size_A);

/* Mask for an N^3 box: from a file (must be N^3, values clamped to [0, 1]) or a soft sphere of
 * radius_A with a cosine edge edge_A (both in A; edge 0 means 3 px). *mask = NULL when neither
 * is given. Errors: both given, size mismatch, radius <= 0. */
cg_status cli_make_mask(const char *mask_path, double radius_A, double edge_A, int N, double pixel_size_A,
                        float **mask);

/* JSON string with escapes. */
void cli_json_str(FILE *f, const char *s);
/* cli_json_str, or the JSON literal null when s is NULL (an optional file name not given). */
void cli_json_str_or_null(FILE *f, const char *s);
