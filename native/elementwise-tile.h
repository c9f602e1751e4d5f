/*
 * One form of the element-wise kernels, included by elementwise.c once per instruction set with
 * SUFFIX, TARGET, VT (LANES floats) and VIT (as many int32s), and ORDERED_VEX for the VEX forms
 * (ordered-ops.h). Channel counts are multiples of 16, so a pixel's channels are whole vectors in
 * every form; flat arrays end in a scalar tail. The parameters are undefined at the end.
 */
#define PASTE_(a, b) a##b
#define PASTE(a, b) PASTE_(a, b)
#include "ordered-ops.h"

static inline __attribute__((always_inline)) TARGET VT PASTE(load_, SUFFIX)(const float *p) { return *(const VT *)p; }
static inline __attribute__((always_inline)) TARGET void PASTE(store_, SUFFIX)(float *p, VT v) { *(VT *)p = v; }
#define LOAD PASTE(load_, SUFFIX)
#define STORE PASTE(store_, SUFFIX)

/* a < b ? b : a, bit for bit: WebAssembly's f32x4.pmax(a, b). */
static inline __attribute__((always_inline)) TARGET VT PASTE(pmax_, SUFFIX)(VT a, VT b) {
  const VIT take_b = a < b;
  return (VT)((take_b & (VIT)b) | (~take_b & (VIT)a));
}
#define PMAX PASTE(pmax_, SUFFIX)

/* ReLU as XNNPACK computes it: the integer maximum with 0 (a set sign bit, −0 and negative NaNs included, gives +0). */
static TARGET void PASTE(relu_, SUFFIX)(const float *x, float *out, int64_t count) {
  int64_t i = 0;
  for (; i + LANES <= count; i += LANES) {
    const VIT bits = (VIT)LOAD(x + i);
    STORE(out + i, (VT)(bits & (bits > 0)));
  }
  for (; i < count; i++) {
    int32_t bits;
    __builtin_memcpy(&bits, x + i, 4);
    bits = bits > 0 ? bits : 0;
    __builtin_memcpy(out + i, &bits, 4);
  }
}

/* dx = dy where x > 0, else +0 (wasm-relu-grad.ts: dy's bits under the mask of f32x4.gt(x, 0)). */
static TARGET void PASTE(relu_grad_, SUFFIX)(const float *x, const float *dy, float *dx, int64_t count) {
  int64_t i = 0;
  for (; i + LANES <= count; i += LANES) STORE(dx + i, (VT)((VIT)LOAD(dy + i) & (LOAD(x + i) > 0)));
  for (; i < count; i++) {
    uint32_t bits;
    __builtin_memcpy(&bits, dy + i, 4);
    bits = x[i] > 0 ? bits : 0;
    __builtin_memcpy(dx + i, &bits, 4);
  }
}

/* out = x + bias for each row of c floats (wasm-add-bias.ts: f32x4.add(x, bias)). */
static TARGET void PASTE(add_bias_, SUFFIX)(const float *x, const float *bias, float *out, int64_t rows, int64_t c) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < c; k += LANES) STORE(out + r * c + k, ADD(LOAD(x + r * c + k), LOAD(bias + k)));
}

/*
 * acc[0 .. count) += 1 · x[0 .. count) (wasm-axpy.ts' f32x4.add(acc, f32x4.mul(1, x)), the step of
 * sum.ts' block sums). count is a multiple of 16.
 */
static TARGET void PASTE(add_block_, SUFFIX)(const float *x, float *acc, int64_t count) {
  const VT one = SPLAT(1.0f);
  for (int64_t k = 0; k < count; k += LANES) STORE(acc + k, ADD(LOAD(acc + k), MUL(one, LOAD(x + k))));
}

/*
 * 2×2 max-pooling at stride 2 without padding, as the stock kernel (XNNPACK) computes it on wasm
 * on an x86 host (its wasm build picks an x86 or an Arm form when it starts):
 * with a = (0, 0), b = (0, 1), c = (1, 0), d = (1, 1) of a window, m = pmax(pmax(a, pmax(d, b)), c),
 * then clamped to [−∞, +∞] by pmax/pmin, which turns a NaN into −∞. Which of two equal zeros, and
 * whether a NaN wins, follow from that order (test/unit/native-elementwise.test.ts checks every
 * arrangement of NaN, ±∞, ±0 against the stock kernel).
 */
static TARGET void PASTE(max_pool_, SUFFIX)(const float *x, float *out, int64_t n, int64_t h, int64_t w, int64_t c) {
  const int64_t oh = h / 2, ow = w / 2, row = w * c;
  const VT lowest = SPLAT(-__builtin_inff());
  for (int64_t b = 0; b < n; b++)
    for (int64_t oy = 0; oy < oh; oy++) {
      const float *top = x + (b * h + 2 * oy) * row;
      float *o = out + (b * oh + oy) * ow * c;
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t k = 0; k < c; k += LANES) {
          const float *p = top + 2 * ox * c + k;
          const VT m = PMAX(PMAX(LOAD(p), PMAX(LOAD(p + row + c), LOAD(p + c))), LOAD(p + row));
          STORE(o + ox * c + k, PMAX(lowest, m)); /* pmin with +∞ changes nothing after this */
        }
    }
}

/*
 * MaxPoolGrad for 2×2 windows at stride 2 (wasm-max-pool-grad.ts): each window's gradient goes to
 * the first of its four values, in row-major order, equal to their maximum, +0 to the others; a
 * window holding a NaN gives +0 to all four. An odd last row or column, in no window, gets +0.
 */
static TARGET void PASTE(max_pool_grad_, SUFFIX)(const float *x, const float *dy, float *dx, int64_t n, int64_t h, int64_t w,
                                                 int64_t c) {
  const int64_t oh = h / 2, ow = w / 2, row = w * c;
  if (2 * oh < h || 2 * ow < w) __builtin_memset(dx, 0, (size_t)(n * h * w * c) * sizeof(float));
  for (int64_t b = 0; b < n; b++)
    for (int64_t oy = 0; oy < oh; oy++) {
      const int64_t top = (b * h + 2 * oy) * row;
      const float *g = dy + (b * oh + oy) * ow * c;
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t k = 0; k < c; k += LANES) {
          const int64_t at = top + 2 * ox * c + k;
          const VT v00 = LOAD(x + at), v01 = LOAD(x + at + c), v10 = LOAD(x + at + row), v11 = LOAD(x + at + row + c);
          const VIT nan = (v00 != v00) | (v01 != v01) | (v10 != v10) | (v11 != v11);
          const VT m = PMAX(PMAX(v00, v01), PMAX(v10, v11)); /* with no NaN, the maximum (either zero for ±0) */
          const VIT gv = (VIT)LOAD(g + ox * c + k);
          VIT taken = nan;
          const VIT e00 = (v00 == m) & ~taken;
          taken |= e00;
          const VIT e01 = (v01 == m) & ~taken;
          taken |= e01;
          const VIT e10 = (v10 == m) & ~taken;
          taken |= e10;
          const VIT e11 = (v11 == m) & ~taken;
          STORE(dx + at, (VT)(gv & e00));
          STORE(dx + at + c, (VT)(gv & e01));
          STORE(dx + at + row, (VT)(gv & e10));
          STORE(dx + at + row + c, (VT)(gv & e11));
        }
    }
}

#undef LOAD
#undef STORE
#undef PMAX
#undef ADD
#undef MUL
#undef SPLAT
#undef SUFFIX
#undef TARGET
#undef VT
#undef VIT
#undef LANES
