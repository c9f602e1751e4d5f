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
#include <string.h>

typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* Shape of one call. Counts are elements, not bytes. */
typedef struct {
  const float *x, *w, *bias; /* bias may be NULL: the sums start at +0 */
  float *out;
  int64_t n, h, w_in, c, kh, kw, f;
  int relu;
} conv_args;

enum { MAX_P = 12, MAX_FB = 2 };

typedef int32_t v16i __attribute__((vector_size(64), aligned(4)));

/*
 * XNNPACK's ReLU convolution kernels take the maximum with 0 as 32-bit integers
 * (wasm_i32x4_max(acc, 0)): a value whose sign bit is set, -0 and negative NaNs included, becomes
 * +0; everything else is kept. Without an activation the sums are stored as they are.
 */
static inline v16 relu_as_integers(v16 v) {
  const v16i bits = (v16i)v;
  return (v16)(bits & (bits > 0));
}

/*
 * One pass: P output pixels in a row (ox .. ox+P-1) by FB vectors of 16 output channels
 * (fb0 .. fb0+FB-1). `P` and `FB` are constants at every call site, so the accumulators stay in
 * registers.
 */
static inline __attribute__((always_inline)) void conv_tile(const conv_args *a, int64_t n, int64_t oy, int64_t ox,
                                                           int64_t fb0, const int P, const int FB) {
  const int64_t ow = a->w_in - a->kw + 1, oh = a->h - a->kh + 1;
  v16 acc[MAX_P][MAX_FB]; /* fixed sizes, not P × FB: a variable-length array would live in memory */
  _Pragma("GCC unroll 16")
  for (int fb = 0; fb < FB; fb++) {
    v16 start = {0};
    if (a->bias != NULL) start = *(const v16 *)(a->bias + (fb0 + fb) * 16);
    _Pragma("GCC unroll 16")
    for (int p = 0; p < P; p++) acc[p][fb] = start;
  }
  for (int64_t ky = 0; ky < a->kh; ky++) {
    const float *row = a->x + ((n * a->h + oy + ky) * a->w_in + ox) * a->c;
    for (int64_t kx = 0; kx < a->kw; kx++) {
      const float *wrow = a->w + ((ky * a->kw + kx) * a->c) * a->f + fb0 * 16;
      const float *xs = row + kx * a->c;
      for (int64_t ci = 0; ci < a->c; ci++) {
        v16 wv[MAX_FB];
        _Pragma("GCC unroll 16")
        for (int fb = 0; fb < FB; fb++) wv[fb] = *(const v16 *)(wrow + ci * a->f + fb * 16);
        _Pragma("GCC unroll 16")
        for (int p = 0; p < P; p++) {
          const float xv = xs[p * a->c + ci];
          _Pragma("GCC unroll 16")
          for (int fb = 0; fb < FB; fb++) {
            const v16 product = xv * wv[fb];
            acc[p][fb] = acc[p][fb] + product;
          }
        }
      }
    }
  }
  _Pragma("GCC unroll 16")
  for (int p = 0; p < P; p++) {
    float *o = a->out + ((n * oh + oy) * ow + ox + p) * a->f + fb0 * 16;
    _Pragma("GCC unroll 16")
    for (int fb = 0; fb < FB; fb++) *(v16 *)(o + fb * 16) = a->relu ? relu_as_integers(acc[p][fb]) : acc[p][fb];
  }
}

/*
 * Output channels in blocks of FB vectors, P pixels at a time (then one at a time); channels left
 * over, one vector at a time, P1 pixels at a time.
 */
#define CONV_BODY(P, FB, P1)                                                                   \
  const int64_t ow = a->w_in - a->kw + 1, oh = a->h - a->kh + 1, vectors = a->f / 16;       \
  for (int64_t n = 0; n < a->n; n++)                                                         \
    for (int64_t oy = 0; oy < oh; oy++) {                                                    \
      int64_t fb = 0;                                                                        \
      for (; fb + (FB) <= vectors; fb += (FB)) {                                             \
        int64_t ox = 0;                                                                      \
        for (; ox + (P) <= ow; ox += (P)) conv_tile(a, n, oy, ox, fb, (P), (FB));            \
        for (; ox < ow; ox++) conv_tile(a, n, oy, ox, fb, 1, (FB));                          \
      }                                                                                      \
      for (; fb < vectors; fb++) {                                                           \
        int64_t ox = 0;                                                                      \
        for (; ox + (P1) <= ow; ox += (P1)) conv_tile(a, n, oy, ox, fb, (P1), 1);             \
        for (; ox < ow; ox++) conv_tile(a, n, oy, ox, fb, 1, 1);                             \
      }                                                                                      \
    }

/*
 * AVX-512 has 32 vector registers of 16 floats: 8 pixels × 2 vectors of accumulators, or 12 pixels
 * of one vector (the first layer's 16 channels, 24 pixels a row).
 */
__attribute__((target("avx512f"))) static void conv_avx512(const conv_args *a) { CONV_BODY(8, 2, 12) }
/* AVX2 has 16 registers of 8 floats, each v16 taking two: 4 pixels × 1 vector. */
__attribute__((target("avx2"))) static void conv_avx2(const conv_args *a) { CONV_BODY(4, 1, 4) }
/* SSE2, the x86-64 baseline (or any other CPU): 16 registers of 4 floats. */
static void conv_baseline(const conv_args *a) { CONV_BODY(2, 1, 2) }

static const char *isa_name(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
  return "baseline";
}

static void conv_dispatch(const conv_args *a) {
  static int isa = -1;
  if (isa < 0) {
    const char *name = isa_name();
    isa = strcmp(name, "avx512f") == 0 ? 2 : strcmp(name, "avx2") == 0 ? 1 : 0;
  }
#if defined(__x86_64__) || defined(__i386__)
  if (isa == 2) return conv_avx512(a);
  if (isa == 1) return conv_avx2(a);
#endif
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
 *        n, h, w, c, kh, kw, f, relu: boolean): 13 arguments. f must be a multiple of 16; the caller checks shapes.
 */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 13) {
    napi_throw_error(env, NULL, "mixup native conv: expected 13 arguments");
    return NULL;
  }
  void *heap;
  size_t heap_bytes;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &heap, &heap_bytes));
  int64_t v[11];
  for (int i = 0; i < 11; i++) CHECK(napi_get_value_int64(env, argv[1 + i], &v[i]));
  bool relu;
  CHECK(napi_get_value_bool(env, argv[12], &relu));
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
  conv_dispatch(&a);
  return NULL;
}

static napi_value isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  if (napi_create_string_utf8(env, isa_name(), NAPI_AUTO_LENGTH, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "conv2d", NAPI_AUTO_LENGTH, conv2d, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "conv2d", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "isa", NAPI_AUTO_LENGTH, isa, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "isa", fn) != napi_ok) return NULL;
  return exports;
}
