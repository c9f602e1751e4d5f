/*
 * The model's convolution gradients (stride 1, no padding, NHWC), in place in the tfjs wasm
 * backend's heap, with the same floats as the project's own WebAssembly SIMD routines that they
 * replace (job/backend/kernels/wasm-filter-pixels.ts, wasm-sparse-runs.ts): every output is the
 * same sum of the same rounded products, added in the same order, one rounded sum per term. Only
 * the grouping differs: wider vectors, and a tile's sums kept in registers for the whole sum. Build
 * flags keep products and sums apart (-ffp-contract=off, no -ffast-math);
 * test/unit/native-conv-grads.test.ts checks each form bit for bit against the wasm routines.
 *
 * - conv2dFilterGrad1ch: the filter gradient of a layer with one input channel (the first), dense:
 *   out[r, t, 0, c] = Σ_{b, oy, ox} x[b, oy + r, ox + t] · dy[b, oy, ox, c], from +0 in (b, oy, ox)
 *   order (wasm-filter-pixels.ts, output channels in lanes);
 * - conv2dSparseFilterGrad, conv2dSparseInputGrad: the gradients that visit only dy's non-zeros
 *   (after a 2×2 max-pool gradient at most a quarter of it), as wasm-sparse-runs.ts does: for each
 *   non-zero v = dy[b, oy, ox, c] in dy's order and each filter row r, v times one run of kw · ci
 *   floats of x (or of the filter) is added to the run of dW (or of dx) it meets. A zero (either
 *   sign) adds nothing and is skipped; a NaN is not zero and is added.
 */
#include "kernels.h"
#if X86_FORMS
#include <immintrin.h>
#endif

enum { MAX_ACC = 32 };

typedef struct {
  const float *x, *dy;
  float *out;
  int64_t n, h, w, kh, kw, co; /* one input channel; co a multiple of 16 */
} filter1_args;

typedef struct {
  const float *x; /* the layer's input (the filter gradient) */
  int64_t n, h, w, ci, kh, kw, co; /* kw · ci a multiple of 16 */
} sparse_args;

#if X86_FORMS
/* AVX-512: 32 registers of 16 floats. Tiles of 25 sums: the model's 5×5 filters in one pass. */
typedef float v16 __attribute__((vector_size(64), aligned(4)));
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f")))
#define VT v16
#define LANES 16
#define FB16 1
#define F_ROWS 5
#define F_COLS 5
#define S_ROWS 5
#define S_VECS 5
#define ORDERED_VEX "v"
#include "grads-tile.h"

/* AVX2: 16 registers of 8 floats. Tiles of 10 sums (one filter row of the model). */
typedef float v8 __attribute__((vector_size(32), aligned(4)));
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2")))
#define VT v8
#define LANES 8
#define FB16 2
#define F_ROWS 1
#define F_COLS 5
#define S_ROWS 1
#define S_VECS 10
#define ORDERED_VEX "x"
#include "grads-tile.h"
#endif

/* The portable form, 4 floats a vector: SSE2 on x86-64, NEON on aarch64, scalar code elsewhere. */
typedef float v4 __attribute__((vector_size(16), aligned(4)));
#define SUFFIX baseline
#define TARGET
#define VT v4
#define LANES 4
#define FB16 4
#define F_ROWS 1
#define F_COLS 2
#define S_ROWS 1
#define S_VECS 10
#include "grads-tile.h"

/*
 * Bit i set where p[i] is not zero (NaN counts as not zero), for 16 floats: how the sparse forms
 * find dy's non-zeros, 16 channels at a time, with no branch per value.
 */
typedef uint32_t (*nonzero_mask16)(const float *p);
#if X86_FORMS
static __attribute__((target("avx512f"))) uint32_t nonzero_mask16_avx512(const float *p) {
  return _mm512_cmp_ps_mask(_mm512_loadu_ps(p), _mm512_setzero_ps(), _CMP_NEQ_UQ);
}
static __attribute__((target("avx2"))) uint32_t nonzero_mask16_avx2(const float *p) {
  const __m256 zero = _mm256_setzero_ps();
  return (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p), zero, _CMP_NEQ_UQ)) |
         (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p + 8), zero, _CMP_NEQ_UQ)) << 8;
}
#endif
static uint32_t nonzero_mask16_baseline(const float *p) {
#if defined(__x86_64__) && defined(__SSE2__)
  const __m128 zero = _mm_setzero_ps();
  uint32_t mask = 0;
  for (int i = 0; i < 4; i++) mask |= (uint32_t)_mm_movemask_ps(_mm_cmpneq_ps(_mm_loadu_ps(p + 4 * i), zero)) << (4 * i);
  return mask;
#else
  uint32_t mask = 0;
  for (int i = 0; i < 16; i++) mask |= (uint32_t)(p[i] != 0) << i;
  return mask;
#endif
}

/* The mask of the `lanes` (< 16) floats at p. */
static uint32_t nonzero_mask_tail(const float *p, int64_t lanes) {
  uint32_t mask = 0;
  for (int64_t i = 0; i < lanes; i++) mask |= (uint32_t)(p[i] != 0) << i;
  return mask;
}

static nonzero_mask16 nonzero_mask16_for(int isa) {
#if X86_FORMS
  if (isa == ISA_AVX512) return nonzero_mask16_avx512;
  if (isa == ISA_AVX2) return nonzero_mask16_avx2;
#endif
  (void)isa;
  return nonzero_mask16_baseline;
}

/* Reads the common shape arguments (n, h, w, …) and checks them; false with an error thrown. */
static bool shape_ok(napi_env env, const char *kernel, int64_t n, int64_t h, int64_t w, int64_t ci, int64_t kh, int64_t kw,
                     int64_t co) {
  if (n < 0 || kh < 1 || kw < 1 || h < kh || w < kw || ci < 1 || co < 1) {
    fail(env, kernel, "unsupported shape");
    return false;
  }
  return true;
}

/*
 * conv2dFilterGrad1ch(heap, x, dy, out: byte offsets, n, h, w, kh, kw, co, isa): x [n, h, w, 1],
 * dy [n, h − kh + 1, w − kw + 1, co], out [kh, kw, 1, co]; co a multiple of 16.
 */
napi_value conv2d_filter_grad_1ch(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "conv2dFilterGrad1ch";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 9, &call)) return NULL;
  const int64_t *v = call.v;
  const int64_t n = v[3], h = v[4], w = v[5], kh = v[6], kw = v[7], co = v[8];
  if (!shape_ok(env, KERNEL, n, h, w, 1, kh, kw, co)) return NULL;
  if (co % 16 != 0) return fail(env, KERNEL, "output channels must be a multiple of 16");
  const int64_t oh = h - kh + 1, ow = w - kw + 1;
  filter1_args a = {
      .x = heap_floats(env, &call, KERNEL, v[0], n * h * w),
      .dy = heap_floats(env, &call, KERNEL, v[1], n * oh * ow * co),
      .out = heap_floats(env, &call, KERNEL, v[2], kh * kw * co),
      .n = n, .h = h, .w = w, .kh = kh, .kw = kw, .co = co,
  };
  if (a.x == NULL || a.dy == NULL || a.out == NULL) return NULL;
#if X86_FORMS
  if (call.isa == ISA_AVX512) filter1_avx512(&a);
  else if (call.isa == ISA_AVX2) filter1_avx2(&a);
  else
#endif
    filter1_baseline(&a);
  return NULL;
}

/*
 * conv2dSparseFilterGrad(heap, x, dy, out: byte offsets, n, h, w, ci, kh, kw, co, isa):
 * x [n, h, w, ci], dy [n, h − kh + 1, w − kw + 1, co], out [kh, kw, ci, co]; kw · ci a multiple of 16.
 * Each output channel's non-zeros are listed in dy's order (one pass over dy), then each channel's
 * kh · kw · ci sums are made from its list. x is read from an aligned copy.
 */
napi_value conv2d_sparse_filter_grad(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "conv2dSparseFilterGrad";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 10, &call)) return NULL;
  const int64_t *v = call.v;
  const int64_t n = v[3], h = v[4], w = v[5], ci = v[6], kh = v[7], kw = v[8], co = v[9];
  if (!shape_ok(env, KERNEL, n, h, w, ci, kh, kw, co)) return NULL;
  if (kw * ci % 16 != 0) return fail(env, KERNEL, "kw · ci must be a multiple of 16");
  const int64_t oh = h - kh + 1, ow = w - kw + 1, pixels = n * oh * ow, run = kw * ci, image = n * h * w * ci;
  if (image > INT32_MAX) return fail(env, KERNEL, "unsupported shape");
  const float *x = heap_floats(env, &call, KERNEL, v[0], image);
  const float *dy = heap_floats(env, &call, KERNEL, v[1], pixels * co);
  float *out = heap_floats(env, &call, KERNEL, v[2], kh * run * co);
  if (x == NULL || dy == NULL || out == NULL) return NULL;
  const size_t copy_bytes = aligned_size((size_t)image * sizeof(float));
  const size_t list_bytes = aligned_size((size_t)(pixels * co) * sizeof(int32_t));
  const size_t count_bytes = aligned_size((size_t)co * sizeof(int64_t));
  uint8_t *memory = scratch(env, copy_bytes + 2 * list_bytes + count_bytes + (size_t)(kh * run) * sizeof(float));
  if (memory == NULL) return NULL;
  float *x_copy = (float *)memory;
  int32_t *at = (int32_t *)(memory + copy_bytes); /* channel c's list at c · pixels */
  float *value = (float *)(memory + copy_bytes + list_bytes);
  int64_t *count = (int64_t *)(memory + copy_bytes + 2 * list_bytes);
  float *sums = (float *)(memory + copy_bytes + 2 * list_bytes + count_bytes);
  __builtin_memcpy(x_copy, x, (size_t)image * sizeof(float));
  /* Each channel's non-zeros in dy's order, 16 channels at a time. */
  const nonzero_mask16 mask16 = nonzero_mask16_for(call.isa);
  __builtin_memset(count, 0, (size_t)co * sizeof(int64_t));
  const float *y = dy;
  for (int64_t b = 0; b < n; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++, y += co) {
        const int32_t window = (int32_t)(((b * h + oy) * w + ox) * ci);
        for (int64_t c0 = 0; c0 < co; c0 += 16) {
          for (uint32_t mask = c0 + 16 <= co ? mask16(y + c0) : nonzero_mask_tail(y + c0, co - c0); mask != 0; mask &= mask - 1) {
            const int64_t c = c0 + __builtin_ctz(mask), k = c * pixels + count[c]++;
            at[k] = window;
            value[k] = y[c];
          }
        }
      }
  const sparse_args a = {.x = x_copy, .n = n, .h = h, .w = w, .ci = ci, .kh = kh, .kw = kw, .co = co};
  for (int64_t c = 0; c < co; c++) {
    const int32_t *list = at + c * pixels;
    const float *values = value + c * pixels;
#if X86_FORMS
    if (call.isa == ISA_AVX512) sparse_filter_avx512(&a, list, values, count[c], sums);
    else if (call.isa == ISA_AVX2) sparse_filter_avx2(&a, list, values, count[c], sums);
    else
#endif
      sparse_filter_baseline(&a, list, values, count[c], sums);
    for (int64_t e = 0; e < kh * run; e++) out[e * co + c] = sums[e];
  }
  return NULL;
}

/*
 * conv2dSparseInputGrad(heap, filter, dy, dx: byte offsets, n, h, w, ci, kh, kw, co, isa):
 * filter [kh, kw, ci, co], dy [n, h − kh + 1, w − kw + 1, co], dx [n, h, w, ci] (written whole);
 * kw · ci a multiple of 16. The sums start at +0 in an aligned buffer, one dy pixel at a time, its
 * non-zeros in channel order, and are copied to dx at the end.
 */
napi_value conv2d_sparse_input_grad(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "conv2dSparseInputGrad";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 10, &call)) return NULL;
  const int64_t *v = call.v;
  const int64_t n = v[3], h = v[4], w = v[5], ci = v[6], kh = v[7], kw = v[8], co = v[9];
  if (!shape_ok(env, KERNEL, n, h, w, ci, kh, kw, co)) return NULL;
  if (kw * ci % 16 != 0) return fail(env, KERNEL, "kw · ci must be a multiple of 16");
  if (co > INT32_MAX) return fail(env, KERNEL, "unsupported shape");
  const int64_t oh = h - kh + 1, ow = w - kw + 1, run = kw * ci, image = n * h * w * ci;
  const float *filter = heap_floats(env, &call, KERNEL, v[0], kh * run * co);
  const float *dy = heap_floats(env, &call, KERNEL, v[1], n * oh * ow * co);
  float *dx = heap_floats(env, &call, KERNEL, v[2], image);
  if (filter == NULL || dy == NULL || dx == NULL) return NULL;
  const size_t sums_bytes = aligned_size((size_t)image * sizeof(float));
  const size_t filter_bytes = aligned_size((size_t)(co * kh * run) * sizeof(float));
  uint8_t *memory = scratch(env, sums_bytes + filter_bytes + (size_t)co * (sizeof(int32_t) + sizeof(float)));
  if (memory == NULL) return NULL;
  float *sums = (float *)memory;
  /* The filter as [co, kh, kw · ci], so that each run is contiguous. */
  float *wt = (float *)(memory + sums_bytes);
  for (int64_t o = 0; o < co; o++)
    for (int64_t e = 0; e < kh * run; e++) wt[o * kh * run + e] = filter[e * co + o];
  int32_t *channel = (int32_t *)(memory + sums_bytes + filter_bytes);
  float *value = (float *)(channel + co);
  __builtin_memset(sums, 0, (size_t)image * sizeof(float));
  const sparse_args a = {.x = NULL, .n = n, .h = h, .w = w, .ci = ci, .kh = kh, .kw = kw, .co = co};
  const nonzero_mask16 mask16 = nonzero_mask16_for(call.isa);
  const float *y = dy;
  for (int64_t b = 0; b < n; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++, y += co) {
        int count = 0;
        for (int64_t c0 = 0; c0 < co; c0 += 16) {
          for (uint32_t mask = c0 + 16 <= co ? mask16(y + c0) : nonzero_mask_tail(y + c0, co - c0); mask != 0; mask &= mask - 1) {
            const int32_t c = (int32_t)c0 + __builtin_ctz(mask);
            channel[count] = c;
            value[count++] = y[c];
          }
        }
        if (count == 0) continue;
        float *window = sums + ((b * h + oy) * w + ox) * ci;
#if X86_FORMS
        if (call.isa == ISA_AVX512) sparse_input_avx512(&a, wt, channel, value, count, window);
        else if (call.isa == ISA_AVX2) sparse_input_avx2(&a, wt, channel, value, count, window);
        else
#endif
          sparse_input_baseline(&a, wt, channel, value, count, window);
      }
  __builtin_memcpy(dx, sums, (size_t)image * sizeof(float));
  return NULL;
}
