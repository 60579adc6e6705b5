/* Library-internal FFT pieces: the single lock around FFTW's planner, for modules that make
 * FFTW plans of their own (src/recon/fft3.c). Not part of the public API. */
#pragma once
void cg__fft_planner_lock(void);
void cg__fft_planner_unlock(void);
