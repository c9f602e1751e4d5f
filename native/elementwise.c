/*
 * The element-wise kernels around the model's convolutions, in place in the tfjs wasm backend's
 * heap, with the floats of the kernels they replace on wasm, bit for bit: ReLU and 2×2 max-pooling
 * as the stock kernels (XNNPACK) compute them, and this project's ReLU gradient, MaxPoolGrad, bias
 * Add and bias-gradient Sum as its WebAssembly routines do (job/backend/kernels/wasm-*.ts). Most of
 * them choose or mask bits and do no arithmetic; the Add and the Sum add in the routines' order,
 * each operation's first source the wasm operation's (ordered-ops.h).
 * test/unit/native-elementwise.test.ts checks every form against the kernels they replace.
 */
#include <string.h>

#include "kernels.h"

#if X86_FORMS
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int32_t v16i __attribute__((vector_size(64), aligned(4)));
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f")))
#define VT v16
#define VIT v16i
#define LANES 16
#define ORDERED_VEX "v"
#include "elementwise-tile.h"

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int32_t v8i __attribute__((vector_size(32), aligned(4)));
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2")))
#define VT v8
#define VIT v8i
#define LANES 8
#define ORDERED_VEX "x"
#include "elementwise-tile.h"
#endif

typedef float v4 __attribute__((vector_size(16), aligned(4)));
typedef int32_t v4i __attribute__((vector_size(16), aligned(4)));
#define SUFFIX baseline
#define TARGET
#define VT v4
#define VIT v4i
#define LANES 4
#include "elementwise-tile.h"

/* Calls the form of `name` for the call's instruction set. */
#if X86_FORMS
#define DISPATCH(isa, name, ...)                          \
  do {                                                    \
    if ((isa) == ISA_AVX512) name##_avx512(__VA_ARGS__);  \
    else if ((isa) == ISA_AVX2) name##_avx2(__VA_ARGS__); \
    else name##_baseline(__VA_ARGS__);                    \
  } while (0)
#else
#define DISPATCH(isa, name, ...) name##_baseline(__VA_ARGS__)
#endif

/*
 * a + b in double precision with a as the first source: its NaN wins when both are NaN. V8 runs
 * JavaScript's `sum += value` so that value's NaN wins (in every tier: checked with the interpreter
 * alone and optimised), so sum_rows calls add_in_order(value, sum); see ordered-ops.h.
 */
static double add_in_order(double a, double b) {
#if defined(__x86_64__) && defined(__SSE2__)
  __asm__("addsd %1, %0" : "+x"(a) : "x"(b));
  return a;
#elif defined(__aarch64__)
  double r;
  __asm__("fadd %d0, %d1, %d2" : "=w"(r) : "w"(a), "w"(b));
  return r;
#else
  return a + b;
#endif
}

static bool channels_ok(napi_env env, const char *kernel, int64_t c) {
  if (c < 16 || c % 16 != 0) {
    fail(env, kernel, "channels must be a multiple of 16");
    return false;
  }
  return true;
}

/* relu(heap, x, out: byte offsets, count, isa) */
napi_value relu(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "relu";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 3, &call)) return NULL;
  const int64_t count = call.v[2];
  const float *x = heap_floats(env, &call, KERNEL, call.v[0], count);
  float *out = heap_floats(env, &call, KERNEL, call.v[1], count);
  if (x == NULL || out == NULL) return NULL;
  DISPATCH(call.isa, relu, x, out, count);
  return NULL;
}

/* reluGrad(heap, x, dy, dx: byte offsets, count, isa) */
napi_value relu_grad(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "reluGrad";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 4, &call)) return NULL;
  const int64_t count = call.v[3];
  const float *x = heap_floats(env, &call, KERNEL, call.v[0], count);
  const float *dy = heap_floats(env, &call, KERNEL, call.v[1], count);
  float *dx = heap_floats(env, &call, KERNEL, call.v[2], count);
  if (x == NULL || dy == NULL || dx == NULL) return NULL;
  DISPATCH(call.isa, relu_grad, x, dy, dx, count);
  return NULL;
}

/* addBias(heap, x, bias, out: byte offsets, rows, c, isa): c a multiple of 16. */
napi_value add_bias(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "addBias";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 5, &call)) return NULL;
  const int64_t rows = call.v[3], c = call.v[4];
  if (rows < 0 || !channels_ok(env, KERNEL, c)) return NULL;
  const float *x = heap_floats(env, &call, KERNEL, call.v[0], rows * c);
  const float *bias = heap_floats(env, &call, KERNEL, call.v[1], c);
  float *out = heap_floats(env, &call, KERNEL, call.v[2], rows * c);
  if (x == NULL || bias == NULL || out == NULL) return NULL;
  DISPATCH(call.isa, add_bias, x, bias, out, rows, c);
  return NULL;
}

/* Floats per block of rows (job/backend/kernels/sum.ts BLOCK_FLOATS). */
enum { SUM_BLOCK_FLOATS = 1024 };

/*
 * sumRows(heap, x, out: byte offsets, rows, c, isa): out[c] = the sum of x's rows, as sum.ts on
 * wasm: blocks of R rows (R · c ≈ 1,024 floats) added in order into one [R, c] accumulator from +0,
 * the last block shorter, then each channel's R partial sums added in double precision from +0 and
 * rounded to float. c a multiple of 16, rows ≥ 1.
 */
napi_value sum_rows(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "sumRows";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 4, &call)) return NULL;
  const int64_t rows = call.v[2], c = call.v[3];
  if (rows < 1) return fail(env, KERNEL, "no rows");
  if (!channels_ok(env, KERNEL, c)) return NULL;
  const float *x = heap_floats(env, &call, KERNEL, call.v[0], rows * c);
  float *out = heap_floats(env, &call, KERNEL, call.v[1], c);
  if (x == NULL || out == NULL) return NULL;
  int64_t block_rows = SUM_BLOCK_FLOATS / c;
  if (block_rows > rows) block_rows = rows;
  if (block_rows < 1) block_rows = 1;
  const int64_t blocks = rows / block_rows, rest = rows - blocks * block_rows;
  float *acc = scratch(env, (size_t)(block_rows * c) * sizeof(float));
  if (acc == NULL) return NULL;
  memset(acc, 0, (size_t)(block_rows * c) * sizeof(float));
  for (int64_t i = 0; i < blocks; i++) DISPATCH(call.isa, add_block, x + i * block_rows * c, acc, block_rows * c);
  if (rest > 0) DISPATCH(call.isa, add_block, x + blocks * block_rows * c, acc, rest * c);
  for (int64_t k = 0; k < c; k++) {
    double sum = 0;
    for (int64_t r = 0; r < block_rows; r++) sum = add_in_order(acc[r * c + k], sum);
    out[k] = (float)sum;
  }
  return NULL;
}

/* Reads n, h, w, c at call.v[first ..] and checks them. */
static bool pool_shape_ok(napi_env env, const char *kernel, const int64_t *v) {
  if (v[0] < 0 || v[1] < 2 || v[2] < 2) {
    fail(env, kernel, "unsupported shape");
    return false;
  }
  return channels_ok(env, kernel, v[3]);
}

/* maxPool(heap, x, out: byte offsets, n, h, w, c, isa): 2×2 windows, stride 2, no padding. */
napi_value max_pool(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "maxPool";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 6, &call)) return NULL;
  const int64_t *v = call.v + 2;
  if (!pool_shape_ok(env, KERNEL, v)) return NULL;
  const int64_t n = v[0], h = v[1], w = v[2], c = v[3];
  const float *x = heap_floats(env, &call, KERNEL, call.v[0], n * h * w * c);
  float *out = heap_floats(env, &call, KERNEL, call.v[1], n * (h / 2) * (w / 2) * c);
  if (x == NULL || out == NULL) return NULL;
  DISPATCH(call.isa, max_pool, x, out, n, h, w, c);
  return NULL;
}

/* maxPoolGrad(heap, x, dy, dx: byte offsets, n, h, w, c, isa): 2×2 windows, stride 2, no padding. */
napi_value max_pool_grad(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "maxPoolGrad";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 7, &call)) return NULL;
  const int64_t *v = call.v + 3;
  if (!pool_shape_ok(env, KERNEL, v)) return NULL;
  const int64_t n = v[0], h = v[1], w = v[2], c = v[3];
  const float *x = heap_floats(env, &call, KERNEL, call.v[0], n * h * w * c);
  const float *dy = heap_floats(env, &call, KERNEL, call.v[1], n * (h / 2) * (w / 2) * c);
  float *dx = heap_floats(env, &call, KERNEL, call.v[2], n * h * w * c);
  if (x == NULL || dy == NULL || dx == NULL) return NULL;
  DISPATCH(call.isa, max_pool_grad, x, dy, dx, n, h, w, c);
  return NULL;
}
