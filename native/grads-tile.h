/*
 * One form of the convolution gradients, included by conv-grads.c once per instruction set with:
 *   SUFFIX  the names' suffix                   TARGET  the function attribute selecting the ISA
 *   VT      the vector type, LANES floats       FB16    vectors per 16 channels (16 / LANES)
 *   F_ROWS, F_COLS  the one-channel filter gradient's tile: filter rows × columns of taps, each
 *                   tap FB16 accumulators (F_ROWS × F_COLS × FB16 ≤ MAX_ACC)
 *   S_ROWS, S_VECS  the sparse gradients' tile: filter rows × vectors of a row's run
 *                   (S_ROWS × S_VECS ≤ MAX_ACC)
 * The accumulators of a tile stay in registers for the whole sum. Each tile also comes in the
 * narrower shapes (rows or columns of one) that the edges of other filter sizes need. Every sum
 * adds its terms in the wasm routine's order (conv-grads.c), one rounded product and one rounded
 * sum per term. The parameters are undefined at the end, ready for the next inclusion.
 */
#define PASTE_(a, b) a##b
#define PASTE(a, b) PASTE_(a, b)
#define ALWAYS_INLINE static inline __attribute__((always_inline)) TARGET
#include "ordered-ops.h"

/*
 * The one-channel filter gradient for filter rows r0 .. r0+rows-1, columns t0 .. t0+cols-1 and
 * output channels c0 .. c0+15: out[r, t, c] = Σ_{b, oy, ox} x[b, oy + r, ox + t] · dy[b, oy, ox, c]
 * from +0, over (b, oy, ox) in order, as wasm-filter-pixels.ts sums each lane.
 */
ALWAYS_INLINE void PASTE(filter1_tile_, SUFFIX)(const filter1_args *a, int64_t r0, int64_t t0, int64_t c0, const int rows,
                                                const int cols) {
  const int64_t oh = a->h - a->kh + 1, ow = a->w - a->kw + 1;
  VT acc[MAX_ACC];
  _Pragma("GCC unroll 32")
  for (int i = 0; i < rows * cols * FB16; i++) acc[i] = (VT){0};
  for (int64_t b = 0; b < a->n; b++)
    for (int64_t oy = 0; oy < oh; oy++) {
      const float *xr[MAX_ACC];
      _Pragma("GCC unroll 32")
      for (int r = 0; r < rows; r++) xr[r] = a->x + ((b * a->h + oy + r0 + r) * a->w + t0);
      const float *yr = a->dy + (b * oh + oy) * ow * a->co + c0;
      for (int64_t ox = 0; ox < ow; ox++) {
        VT y[FB16];
        _Pragma("GCC unroll 16")
        for (int f = 0; f < FB16; f++) y[f] = *(const VT *)(yr + ox * a->co + f * LANES);
        _Pragma("GCC unroll 32")
        for (int r = 0; r < rows; r++) {
          _Pragma("GCC unroll 32")
          for (int t = 0; t < cols; t++) {
            const VT xv = SPLAT(xr[r][ox + t]);
            _Pragma("GCC unroll 16")
            for (int f = 0; f < FB16; f++) {
              /* f32x4.add(acc, f32x4.mul(x, dy)), as wasm-filter-pixels.ts */
              acc[(r * cols + t) * FB16 + f] = ADD(acc[(r * cols + t) * FB16 + f], MUL(xv, y[f]));
            }
          }
        }
      }
    }
  _Pragma("GCC unroll 32")
  for (int r = 0; r < rows; r++) {
    _Pragma("GCC unroll 32")
    for (int t = 0; t < cols; t++) {
      float *o = a->out + ((r0 + r) * a->kw + t0 + t) * a->co + c0;
      _Pragma("GCC unroll 16")
      for (int f = 0; f < FB16; f++) *(VT *)(o + f * LANES) = acc[(r * cols + t) * FB16 + f];
    }
  }
}

static TARGET void PASTE(filter1_, SUFFIX)(const filter1_args *a) {
  for (int64_t c0 = 0; c0 < a->co; c0 += 16)
    for (int64_t r0 = 0; r0 < a->kh;) {
      const bool full_rows = a->kh - r0 >= F_ROWS;
      for (int64_t t0 = 0; t0 < a->kw;) {
        const bool full_cols = a->kw - t0 >= F_COLS;
        if (full_rows && full_cols) PASTE(filter1_tile_, SUFFIX)(a, r0, t0, c0, F_ROWS, F_COLS);
        else if (full_rows) PASTE(filter1_tile_, SUFFIX)(a, r0, t0, c0, F_ROWS, 1);
        else if (full_cols) PASTE(filter1_tile_, SUFFIX)(a, r0, t0, c0, 1, F_COLS);
        else PASTE(filter1_tile_, SUFFIX)(a, r0, t0, c0, 1, 1);
        t0 += full_cols ? F_COLS : 1;
      }
      r0 += full_rows ? F_ROWS : 1;
    }
}

/*
 * The sparse filter gradient of one output channel for filter rows r0 .. r0+rows-1 and vectors
 * v0 .. v0+vecs-1 of each row's run (kw · ci floats): the sums start at +0 and take v · x-run for
 * each listed non-zero v of dy, in dy's order (wasm-sparse-runs.ts, adding into the filter).
 * `at` holds each non-zero's x offset (floats, the window's first element), `value` its value.
 */
ALWAYS_INLINE void PASTE(sparse_filter_tile_, SUFFIX)(const sparse_args *a, const int32_t *at, const float *value, int64_t count,
                                                      int64_t r0, int64_t v0, float *sums, const int rows, const int vecs) {
  const int64_t row_stride = a->w * a->ci, run = a->kw * a->ci;
  VT acc[MAX_ACC];
  _Pragma("GCC unroll 32")
  for (int i = 0; i < rows * vecs; i++) acc[i] = (VT){0};
  const float *x0 = a->x + r0 * row_stride + v0 * LANES;
  for (int64_t i = 0; i < count; i++) {
    const VT v = SPLAT(value[i]);
    const float *xp = x0 + at[i];
    _Pragma("GCC unroll 32")
    for (int r = 0; r < rows; r++) {
      _Pragma("GCC unroll 32")
      for (int k = 0; k < vecs; k++) {
        /* f32x4.add(sum, f32x4.mul(v, x)), as wasm-sparse-runs.ts */
        acc[r * vecs + k] = ADD(acc[r * vecs + k], MUL(v, *(const VT *)(xp + r * row_stride + k * LANES)));
      }
    }
  }
  _Pragma("GCC unroll 32")
  for (int r = 0; r < rows; r++) {
    _Pragma("GCC unroll 32")
    for (int k = 0; k < vecs; k++) *(VT *)(sums + (r0 + r) * run + (v0 + k) * LANES) = acc[r * vecs + k];
  }
}

/* All of one channel's sums ([kh, kw·ci] at `sums`) from its non-zeros, tile by tile. */
static TARGET void PASTE(sparse_filter_, SUFFIX)(const sparse_args *a, const int32_t *at, const float *value, int64_t count,
                                                 float *sums) {
  const int64_t vectors = a->kw * a->ci / LANES;
  for (int64_t r0 = 0; r0 < a->kh;) {
    const bool full_rows = a->kh - r0 >= S_ROWS;
    for (int64_t v0 = 0; v0 < vectors;) {
      const bool full_vecs = vectors - v0 >= S_VECS;
      if (full_rows && full_vecs) PASTE(sparse_filter_tile_, SUFFIX)(a, at, value, count, r0, v0, sums, S_ROWS, S_VECS);
      else if (full_rows) PASTE(sparse_filter_tile_, SUFFIX)(a, at, value, count, r0, v0, sums, S_ROWS, 1);
      else if (full_vecs) PASTE(sparse_filter_tile_, SUFFIX)(a, at, value, count, r0, v0, sums, 1, S_VECS);
      else PASTE(sparse_filter_tile_, SUFFIX)(a, at, value, count, r0, v0, sums, 1, 1);
      v0 += full_vecs ? S_VECS : 1;
    }
    r0 += full_rows ? S_ROWS : 1;
  }
}

/*
 * The sparse input gradient of one dy pixel for filter rows r0 .. r0+rows-1 and vectors
 * v0 .. v0+vecs-1 of each run: dx's window (at `window`, its first element) takes v · filter-run
 * for each listed non-zero v of the pixel, channels in order (wasm-sparse-runs.ts, adding into the
 * image). `wt` is the filter as [co, kh, kw·ci]; `channel` and `value` list the non-zeros.
 */
ALWAYS_INLINE void PASTE(sparse_input_tile_, SUFFIX)(const sparse_args *a, const float *wt, const int32_t *channel,
                                                     const float *value, int count, float *window, int64_t r0, int64_t v0,
                                                     const int rows, const int vecs) {
  const int64_t row_stride = a->w * a->ci, run = a->kw * a->ci;
  float *dst = window + r0 * row_stride + v0 * LANES;
  VT acc[MAX_ACC];
  _Pragma("GCC unroll 32")
  for (int r = 0; r < rows; r++) {
    _Pragma("GCC unroll 32")
    for (int k = 0; k < vecs; k++) acc[r * vecs + k] = *(const VT *)(dst + r * row_stride + k * LANES);
  }
  const float *w0 = wt + r0 * run + v0 * LANES;
  for (int i = 0; i < count; i++) {
    const VT v = SPLAT(value[i]);
    const float *wp = w0 + channel[i] * a->kh * run;
    _Pragma("GCC unroll 32")
    for (int r = 0; r < rows; r++) {
      _Pragma("GCC unroll 32")
      for (int k = 0; k < vecs; k++) {
        /* f32x4.add(dx, f32x4.mul(v, w)), as wasm-sparse-runs.ts */
        acc[r * vecs + k] = ADD(acc[r * vecs + k], MUL(v, *(const VT *)(wp + r * run + k * LANES)));
      }
    }
  }
  _Pragma("GCC unroll 32")
  for (int r = 0; r < rows; r++) {
    _Pragma("GCC unroll 32")
    for (int k = 0; k < vecs; k++) *(VT *)(dst + r * row_stride + k * LANES) = acc[r * vecs + k];
  }
}

/* One dy pixel's terms into its dx window, tile by tile. */
static TARGET void PASTE(sparse_input_, SUFFIX)(const sparse_args *a, const float *wt, const int32_t *channel, const float *value,
                                                int count, float *window) {
  const int64_t vectors = a->kw * a->ci / LANES;
  for (int64_t r0 = 0; r0 < a->kh;) {
    const bool full_rows = a->kh - r0 >= S_ROWS;
    for (int64_t v0 = 0; v0 < vectors;) {
      const bool full_vecs = vectors - v0 >= S_VECS;
      if (full_rows && full_vecs) PASTE(sparse_input_tile_, SUFFIX)(a, wt, channel, value, count, window, r0, v0, S_ROWS, S_VECS);
      else if (full_rows) PASTE(sparse_input_tile_, SUFFIX)(a, wt, channel, value, count, window, r0, v0, S_ROWS, 1);
      else if (full_vecs) PASTE(sparse_input_tile_, SUFFIX)(a, wt, channel, value, count, window, r0, v0, 1, S_VECS);
      else PASTE(sparse_input_tile_, SUFFIX)(a, wt, channel, value, count, window, r0, v0, 1, 1);
      v0 += full_vecs ? S_VECS : 1;
    }
    r0 += full_rows ? S_ROWS : 1;
  }
}

#undef ALWAYS_INLINE
#undef ADD
#undef MUL
#undef SPLAT
#undef SUFFIX
#undef TARGET
#undef VT
#undef LANES
#undef FB16
#undef F_ROWS
#undef F_COLS
#undef S_ROWS
#undef S_VECS
