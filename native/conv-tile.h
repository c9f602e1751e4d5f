/*
 * One form of the forward convolution, included by conv-forward.c once per instruction set with:
 *   SUFFIX  the name's suffix (conv_SUFFIX)      TARGET  the function attribute selecting the ISA
 *   LANES   floats per vector (VT), and VIT the vector of as many int32s
 *   P, FB   the main pass: P output pixels × FB vectors of output channels
 *   P1      pixels per pass for channels left over (one vector)
 * The accumulators are P × FB vectors (at most MAX_P × MAX_FB), kept in registers. The parameters
 * are undefined at the end, ready for the next inclusion.
 */
#define PASTE_(a, b) a##b
#define PASTE(a, b) PASTE_(a, b)
#define TILE PASTE(conv_tile_, SUFFIX)
#define RELU PASTE(relu_as_integers_, SUFFIX)

/*
 * XNNPACK's ReLU convolution kernels take the maximum with 0 as 32-bit integers
 * (wasm_i32x4_max(acc, 0)): a value whose sign bit is set, -0 and negative NaNs included, becomes
 * +0; everything else is kept. Without an activation the sums are stored as they are.
 */
static inline __attribute__((always_inline)) TARGET VT RELU(VT v) {
  const VIT bits = (VIT)v;
  return (VT)(bits & (bits > 0));
}

/* P output pixels in a row (ox .. ox+P-1) by FB vectors of output channels (fb0 .. fb0+FB-1). */
static inline __attribute__((always_inline)) TARGET void TILE(const conv_args *a, int64_t n, int64_t oy, int64_t ox,
                                                             int64_t fb0, const int p_count, const int fb_count) {
  const int64_t ow = a->w_in - a->kw + 1, oh = a->h - a->kh + 1;
  VT acc[MAX_P][MAX_FB]; /* fixed sizes, not p_count × fb_count: a variable-length array would live in memory */
  _Pragma("GCC unroll 16")
  for (int fb = 0; fb < fb_count; fb++) {
    VT start = {0};
    if (a->bias != NULL) start = *(const VT *)(a->bias + (fb0 + fb) * LANES);
    _Pragma("GCC unroll 16")
    for (int p = 0; p < p_count; p++) acc[p][fb] = start;
  }
  for (int64_t ky = 0; ky < a->kh; ky++) {
    const float *row = a->x + ((n * a->h + oy + ky) * a->w_in + ox) * a->c;
    for (int64_t kx = 0; kx < a->kw; kx++) {
      const float *wrow = a->w + ((ky * a->kw + kx) * a->c) * a->f + fb0 * LANES;
      const float *xs = row + kx * a->c;
      for (int64_t ci = 0; ci < a->c; ci++) {
        VT wv[MAX_FB];
        _Pragma("GCC unroll 16")
        for (int fb = 0; fb < fb_count; fb++) wv[fb] = *(const VT *)(wrow + ci * a->f + fb * LANES);
        _Pragma("GCC unroll 16")
        for (int p = 0; p < p_count; p++) {
          const float xv = xs[p * a->c + ci];
          _Pragma("GCC unroll 16")
          for (int fb = 0; fb < fb_count; fb++) {
            const VT product = xv * wv[fb];
            acc[p][fb] = acc[p][fb] + product;
          }
        }
      }
    }
  }
  _Pragma("GCC unroll 16")
  for (int p = 0; p < p_count; p++) {
    float *o = a->out + ((n * oh + oy) * ow + ox + p) * a->f + fb0 * LANES;
    _Pragma("GCC unroll 16")
    for (int fb = 0; fb < fb_count; fb++) *(VT *)(o + fb * LANES) = a->relu ? RELU(acc[p][fb]) : acc[p][fb];
  }
}

/* Output channels in blocks of FB vectors, P pixels at a time (then one at a time); leftover vectors one at a time. */
static TARGET void PASTE(conv_, SUFFIX)(const conv_args *a) {
  const int64_t ow = a->w_in - a->kw + 1, oh = a->h - a->kh + 1, vectors = a->f / LANES;
  for (int64_t n = 0; n < a->n; n++)
    for (int64_t oy = 0; oy < oh; oy++) {
      int64_t fb = 0;
      for (; fb + FB <= vectors; fb += FB) {
        int64_t ox = 0;
        for (; ox + P <= ow; ox += P) TILE(a, n, oy, ox, fb, P, FB);
        for (; ox < ow; ox++) TILE(a, n, oy, ox, fb, 1, FB);
      }
      for (; fb < vectors; fb++) {
        int64_t ox = 0;
        for (; ox + P1 <= ow; ox += P1) TILE(a, n, oy, ox, fb, P1, 1);
        for (; ox < ow; ox++) TILE(a, n, oy, ox, fb, 1, 1);
      }
    }
}

#undef TILE
#undef RELU
#undef SUFFIX
#undef TARGET
#undef VT
#undef VIT
#undef LANES
#undef P
#undef FB
#undef P1
