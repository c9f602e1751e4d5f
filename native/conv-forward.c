/*
 * The model's forward convolutions (stride 1, valid padding, NHWC input, HWIO filter), run in place
 * in the tfjs wasm backend's heap. XNNPACK, which runs them on wasm, sums each output from its
 * start value (+0, or the bias when fused) over the taps row by row, input channels innermost, one
 * rounded product and one rounded sum per term, then (for ReLU) takes the maximum with 0. This file
 * does the same operations in the same order, only with the widest vectors the CPU has: 16 output
 * channels per vector, several output pixels per pass so that each filter row loaded is used
 * several times. Build flags keep products and sums apart (-ffp-contract=off, no -ffast-math), so
 * the floats are XNNPACK's bit for bit; test/unit/native-conv.test.ts checks that against the stock
 * kernel.
 */
#include "kernels.h"

/* Shape of one call. Counts are elements, not bytes. */
typedef struct {
  const float *x, *w, *bias; /* bias may be NULL: the sums start at +0 */
  float *out;
  int64_t n, h, w_in, c, kh, kw, f; /* f a multiple of 16 */
  int relu;
} conv_args;

enum { MAX_P = 12, MAX_FB = 4 };

#if X86_FORMS
/* AVX-512: 32 registers of 16 floats. 8 pixels × 2 vectors, or 12 pixels × 1 (the first layer's 16 channels, 24 pixels a row). */
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int32_t v16i __attribute__((vector_size(64), aligned(4)));
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f")))
#define VT v16
#define VIT v16i
#define LANES 16
#define P 8
#define FB 2
#define P1 12
#include "conv-tile.h"

/* AVX2: 16 registers of 8 floats. 4 pixels × 2 vectors (16 channels): 8 accumulators, 2 filter rows. */
typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int32_t v8i __attribute__((vector_size(32), aligned(4)));
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2")))
#define VT v8
#define VIT v8i
#define LANES 8
#define P 4
#define FB 2
#define P1 4
#include "conv-tile.h"
#endif

/*
 * The portable form, 4 floats a vector: SSE2 on x86-64 (16 registers: 2 pixels × 4 vectors), NEON on
 * aarch64 (the vector extensions compile to it), plain scalar code on a CPU with neither.
 */
typedef float v4 __attribute__((vector_size(16), aligned(4)));
typedef int32_t v4i __attribute__((vector_size(16), aligned(4)));
#define SUFFIX baseline
#define TARGET
#define VT v4
#define VIT v4i
#define LANES 4
#define P 2
#define FB 4
#define P1 2
#include "conv-tile.h"

static void conv_dispatch(const conv_args *a, int isa) {
#if X86_FORMS
  if (isa == ISA_AVX512) return conv_avx512(a);
  if (isa == ISA_AVX2) return conv_avx2(a);
#endif
  (void)isa;
  conv_baseline(a);
}

/*
 * conv2d(heap: ArrayBuffer, x, w, bias, out: byte offsets (bias −1 for none),
 *        n, h, w, c, kh, kw, f, relu: 0 | 1, isa: 0 baseline | 1 avx2 | 2 avx512f): 14 arguments.
 * f must be a multiple of 16; the caller checks that the shapes agree.
 */
napi_value conv2d(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "conv2d";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 12, &call)) return NULL;
  const int64_t *v = call.v;
  const int64_t n = v[4], h = v[5], wi = v[6], c = v[7], kh = v[8], kw = v[9], f = v[10];
  if (n < 0 || kh < 1 || kw < 1 || h < kh || wi < kw || c < 1 || f < 16 || f % 16 != 0) return fail(env, KERNEL, "unsupported shape");
  const int64_t oh = h - kh + 1, ow = wi - kw + 1;
  conv_args a = {
      .x = heap_floats(env, &call, KERNEL, v[0], n * h * wi * c),
      .w = heap_floats(env, &call, KERNEL, v[1], kh * kw * c * f),
      .bias = v[2] < 0 ? NULL : heap_floats(env, &call, KERNEL, v[2], f),
      .out = heap_floats(env, &call, KERNEL, v[3], n * oh * ow * f),
      .n = n, .h = h, .w_in = wi, .c = c, .kh = kh, .kw = kw, .f = f,
      .relu = v[11] != 0,
  };
  if (a.x == NULL || a.w == NULL || (v[2] >= 0 && a.bias == NULL) || a.out == NULL) return NULL;
  conv_dispatch(&a, call.isa);
  return NULL;
}
