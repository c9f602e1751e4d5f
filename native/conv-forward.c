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
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

/* Shape of one call. Counts are elements, not bytes. */
typedef struct {
  const float *x, *w, *bias; /* bias may be NULL: the sums start at +0 */
  float *out;
  int64_t n, h, w_in, c, kh, kw, f; /* f a multiple of 16 */
  int relu;
} conv_args;

enum { MAX_P = 12, MAX_FB = 4 };

/* x86 alone has the wider forms: target("avx512f") is an error for any other architecture's compiler. */
#if defined(__x86_64__) || defined(__i386__)
#define X86_FORMS 1
#else
#define X86_FORMS 0
#endif

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

/* The widest instructions this CPU has: 2 AVX-512, 1 AVX2, 0 the baseline. */
static int best_isa(void) {
#if X86_FORMS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return 2;
  if (__builtin_cpu_supports("avx2")) return 1;
#endif
  return 0;
}

static const char *const ISA_NAMES[] = {"baseline", "avx2", "avx512f"};

static void conv_dispatch(const conv_args *a, int isa) {
#if X86_FORMS
  if (isa == 2) return conv_avx512(a);
  if (isa == 1) return conv_avx2(a);
#endif
  (void)isa;
  conv_baseline(a);
}

#define CHECK(call)                                                                      \
  do {                                                                                   \
    if ((call) != napi_ok) {                                                             \
      napi_throw_error(env, NULL, "mixup native conv: bad arguments (" #call ")");      \
      return NULL;                                                                       \
    }                                                                                    \
  } while (0)

/*
 * conv2d(heap: ArrayBuffer, x, w, bias, out: byte offsets (bias −1 for none),
 *        n, h, w, c, kh, kw, f, relu: boolean, isa: 0 baseline | 1 avx2 | 2 avx512f): 14 arguments. f must be a multiple of 16; the caller checks shapes.
 */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 14) {
    napi_throw_error(env, NULL, "mixup native conv: expected 14 arguments");
    return NULL;
  }
  void *heap;
  size_t heap_bytes;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &heap, &heap_bytes));
  int64_t v[11];
  for (int i = 0; i < 11; i++) CHECK(napi_get_value_int64(env, argv[1 + i], &v[i]));
  bool relu;
  CHECK(napi_get_value_bool(env, argv[12], &relu));
  int32_t isa;
  CHECK(napi_get_value_int32(env, argv[13], &isa));
  if (isa < 0 || isa > best_isa()) {
    napi_throw_error(env, NULL, "mixup native conv: this CPU lacks the instructions asked for");
    return NULL;
  }
  const int64_t n = v[4], h = v[5], wi = v[6], c = v[7], kh = v[8], kw = v[9], f = v[10];
  if (n < 0 || kh < 1 || kw < 1 || h < kh || wi < kw || c < 1 || f < 16 || f % 16 != 0) {
    napi_throw_error(env, NULL, "mixup native conv: unsupported shape");
    return NULL;
  }
  const int64_t oh = h - kh + 1, ow = wi - kw + 1;
  const int64_t spans[4][2] = {{v[0], n * h * wi * c}, {v[1], kh * kw * c * f}, {v[2], f}, {v[3], n * oh * ow * f}};
  for (int i = 0; i < 4; i++) {
    if (i == 2 && spans[i][0] < 0) continue;
    if (spans[i][0] < 0 || spans[i][0] % 4 != 0 || (uint64_t)(spans[i][0] + spans[i][1] * 4) > heap_bytes) {
      napi_throw_error(env, NULL, "mixup native conv: a tensor lies outside the heap");
      return NULL;
    }
  }
  uint8_t *base = heap;
  conv_args a = {
      .x = (const float *)(base + v[0]),
      .w = (const float *)(base + v[1]),
      .bias = v[2] < 0 ? NULL : (const float *)(base + v[2]),
      .out = (float *)(base + v[3]),
      .n = n, .h = h, .w_in = wi, .c = c, .kh = kh, .kw = kw, .f = f,
      .relu = relu,
  };
  conv_dispatch(&a, isa);
  return NULL;
}

/* isas(): the instruction sets this CPU can run the routine on, narrowest first. */
static napi_value isas(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, name;
  if (napi_create_array(env, &result) != napi_ok) return NULL;
  for (int i = 0; i <= best_isa(); i++) {
    if (napi_create_string_utf8(env, ISA_NAMES[i], NAPI_AUTO_LENGTH, &name) != napi_ok) return NULL;
    if (napi_set_element(env, result, (uint32_t)i, name) != napi_ok) return NULL;
  }
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "conv2d", NAPI_AUTO_LENGTH, conv2d, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "conv2d", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "isas", NAPI_AUTO_LENGTH, isas, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "isas", fn) != napi_ok) return NULL;
  return exports;
}
