/* Minimal PNG writer for 8-bit greyscale images (montages, previews), with no dependency:
 * the image data are zlib streams of STORED (uncompressed) deflate blocks, so files are about
 * w*h bytes; CRC-32 (PNG chunks) and Adler-32 (zlib) are computed here. Written under a
 * temporary name and renamed (cg_outfile). Reference: PNG specification (ISO/IEC 15948),
 * RFC 1950 (zlib), RFC 1951 section 3.2.4 (stored blocks). */
#pragma once
#include <stdint.h>

#include "cryogen/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* pix[h][w], row-major, 0 = black. Errors: CG_ERR_ARG (size), CG_ERR_IO. */
cg_status cg_png_write_gray8(const char *path, const uint8_t *pix, int w, int h);

#ifdef __cplusplus
}
#endif
