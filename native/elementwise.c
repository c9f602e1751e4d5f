/*
 * The element-wise kernels around the model's convolutions, in place in the tfjs wasm backend's
 * heap, with the floats of the kernels they replace on wasm, bit for bit: ReLU and 2×2 max-pooling
 * as the stock kernels (XNNPACK) compute them (max-pooling as XNNPACK's x86 form: on other hosts
 * XNNPACK picks another, and the stock kernel runs), and this project's ReLU gradient, MaxPoolGrad,
 * bias Add and the block sums of the bias-gradient Sum as its WebAssembly routines do
 * (job/backend/kernels/wasm-*.ts). Most of them choose or mask bits and do no arithmetic; the Add
 * and the Sum add in the routines' order, each operation's first source the wasm operation's
 * (ordered-ops.h).
 * test/unit/native-elementwise.test.ts checks every form against the kernels they replace.
 */
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

/*
 * sumBlocks(heap, x, acc: byte offsets, rows, c, blockRows, isa): the first part of sum.ts' Sum
 * over leading axes: acc [blockRows, c] = +0, then every block of blockRows rows of x added in
 * order (the last block may be shorter), as its wasm axpy does. sum.ts adds acc's rows itself, in
 * JavaScript's double precision, so the result does not depend on how a compiler orders that.
 * c a multiple of 16, 1 ≤ blockRows ≤ rows.
 */
napi_value sum_blocks(napi_env env, napi_callback_info info) {
  static const char KERNEL[] = "sumBlocks";
  kernel_call call;
  if (!read_call(env, info, KERNEL, 5, &call)) return NULL;
  const int64_t rows = call.v[2], c = call.v[3], block_rows = call.v[4];
  if (block_rows < 1 || block_rows > rows) return fail(env, KERNEL, "blockRows must lie in [1, rows]");
  if (!channels_ok(env, KERNEL, c)) return NULL;
  const float *x = heap_floats(env, &call, KERNEL, call.v[0], rows * c);
  float *acc = heap_floats(env, &call, KERNEL, call.v[1], block_rows * c);
  if (x == NULL || acc == NULL) return NULL;
  const int64_t blocks = rows / block_rows, rest = rows - blocks * block_rows;
  __builtin_memset(acc, 0, (size_t)(block_rows * c) * sizeof(float));
  for (int64_t i = 0; i < blocks; i++) DISPATCH(call.isa, add_block, x + i * block_rows * c, acc, block_rows * c);
  if (rest > 0) DISPATCH(call.isa, add_block, x + blocks * block_rows * c, acc, rest * c);
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
