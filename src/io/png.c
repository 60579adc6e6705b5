/* Minimal 8-bit greyscale PNG writer with stored deflate blocks (see png.h). Chunks: IHDR
 * (bit depth 8, colour type 0), one IDAT with the zlib stream, IEND. Each row is prefixed
 * by filter type 0; the filtered bytes are cut into stored blocks of at most 65535 bytes. */
#include <stdlib.h>
#include <string.h>

#include "cryogen/png.h"

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
    crc_ready = 1;
}

static uint32_t crc_update(uint32_t c, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c;
}

static void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v; }

static int chunk(FILE *f, const char *type, const uint8_t *data, size_t n) {
    uint8_t len[4], crc[4];
    put32(len, (uint32_t)n);
    uint32_t c = crc_update(0xFFFFFFFFu, (const uint8_t *)type, 4);
    c = crc_update(c, data, n) ^ 0xFFFFFFFFu;
    put32(crc, c);
    return fwrite(len, 1, 4, f) == 4 && fwrite(type, 1, 4, f) == 4 && (n == 0 || fwrite(data, 1, n, f) == n) &&
           fwrite(crc, 1, 4, f) == 4;
}

cg_status cg_png_write_gray8(const char *path, const uint8_t *pix, int w, int h) {
    if (w < 1 || h < 1 || w > 1 << 15 || h > 1 << 15)
        return cg_error(CG_ERR_ARG, "%s: PNG size %d x %d outside 1..32768", path, w, h);
    if (!crc_ready) crc_init(); /* idempotent: a race writes the same table */
    size_t raw = (size_t)h * ((size_t)w + 1), nblk = (raw + 65534) / 65535;
    size_t zn = 2 + raw + 5 * nblk + 4;
    uint8_t *z = malloc(zn), *filt = malloc(raw);
    if (!z || !filt) {
        free(z), free(filt);
        return cg_error(CG_ERR_NOMEM, "%s: PNG buffer of %zu bytes", path, zn);
    }
    for (int y = 0; y < h; y++) {
        filt[(size_t)y * (w + 1)] = 0;
        memcpy(filt + (size_t)y * (w + 1) + 1, pix + (size_t)y * w, (size_t)w);
    }
    size_t o = 0;
    z[o++] = 0x78, z[o++] = 0x01; /* zlib header: deflate, 32K window, check bits */
    for (size_t i = 0; i < raw; i += 65535) {
        size_t len = raw - i < 65535 ? raw - i : 65535;
        z[o++] = (uint8_t)(i + len == raw); /* BFINAL, BTYPE = 00 (stored) */
        z[o++] = (uint8_t)len, z[o++] = (uint8_t)(len >> 8);
        z[o++] = (uint8_t)~len, z[o++] = (uint8_t)(~len >> 8);
        memcpy(z + o, filt + i, len);
        o += len;
    }
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < raw; i++) a = (a + filt[i]) % 65521u, b = (b + a) % 65521u;
    put32(z + o, (b << 16) | a);
    o += 4;
    uint8_t ihdr[13];
    put32(ihdr, (uint32_t)w), put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8, ihdr[9] = 0, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = 0;
    cg_outfile of;
    cg_status s = cg_outfile_open(&of, path);
    if (!s) {
        static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        int ok = fwrite(sig, 1, 8, of.fp) == 8 && chunk(of.fp, "IHDR", ihdr, 13) && chunk(of.fp, "IDAT", z, o) &&
                 chunk(of.fp, "IEND", NULL, 0);
        if (!ok) {
            cg_outfile_abort(&of);
            s = cg_error(CG_ERR_IO, "%s: write failed", path);
        } else
            s = cg_outfile_commit(&of);
    }
    free(z), free(filt);
    return s;
}
