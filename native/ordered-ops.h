/*
 * ADD(a, b) = a + b and MUL(a, b) = a · b on vectors of type VT, where a is always the instruction's
 * first source: when both operands are NaN, the result is a's NaN (quieted). That is what
 * WebAssembly's f32x4.add(a, b) and f32x4.mul(a, b) compile to in V8 (x86 with AVX: vaddps dst, a,
 * b; arm64: fadd dst, a, b), so it keeps a NaN's sign and payload as the wasm routines do. A C
 * compiler may swap the operands of a commutative operation, which changes only which NaN comes
 * out; one instruction in inline assembly cannot be swapped. SPLAT(v) is v in every lane (one
 * broadcast; no arithmetic, which could change a −0 or a NaN).
 *
 * Included once per form, after VT, LANES, SUFFIX and TARGET are defined, and with ORDERED_VEX set
 * to the register constraint ("v" with AVX-512, "x" with AVX2) for the VEX/EVEX forms. The
 * portable form (4 lanes) uses SSE on x86-64, NEON on aarch64, and plain C elsewhere (where the
 * compiler picks which NaN comes out).
 */
#define ORDERED_INLINE static inline __attribute__((always_inline)) TARGET
#if defined(ORDERED_VEX)
#define ORDERED_OP(name, insn)                                                             \
  ORDERED_INLINE VT PASTE(name, SUFFIX)(VT a, VT b) {                                      \
    VT r;                                                                                  \
    __asm__(insn " %2, %1, %0" : "=" ORDERED_VEX(r) : ORDERED_VEX(a), ORDERED_VEX "m"(b)); \
    return r;                                                                              \
  }
ORDERED_OP(ordered_add_, "vaddps")
ORDERED_OP(ordered_mul_, "vmulps")
ORDERED_INLINE VT PASTE(splat_, SUFFIX)(float v) {
  VT r;
  __asm__("vbroadcastss %1, %0" : "=" ORDERED_VEX(r) : ORDERED_VEX "m"(v));
  return r;
}
#undef ORDERED_VEX
#else
#if defined(__x86_64__) && defined(__SSE2__)
/* Two operands: the destination is the first source. No memory operand: SSE's must be aligned. */
#define ORDERED_OP(name, insn)                          \
  ORDERED_INLINE VT PASTE(name, SUFFIX)(VT a, VT b) {   \
    __asm__(insn " %1, %0" : "+x"(a) : "x"(b));         \
    return a;                                           \
  }
#define INSN_ADD "addps"
#define INSN_MUL "mulps"
#elif defined(__aarch64__) && defined(__ARM_NEON)
#define ORDERED_OP(name, insn)                                           \
  ORDERED_INLINE VT PASTE(name, SUFFIX)(VT a, VT b) {                    \
    VT r;                                                                \
    __asm__(insn " %0.4s, %1.4s, %2.4s" : "=w"(r) : "w"(a), "w"(b));     \
    return r;                                                            \
  }
#define INSN_ADD "fadd"
#define INSN_MUL "fmul"
#endif
#if defined(ORDERED_OP)
ORDERED_OP(ordered_add_, INSN_ADD)
ORDERED_OP(ordered_mul_, INSN_MUL)
#else
ORDERED_INLINE VT PASTE(ordered_add_, SUFFIX)(VT a, VT b) { return a + b; }
ORDERED_INLINE VT PASTE(ordered_mul_, SUFFIX)(VT a, VT b) { return a * b; }
#endif
ORDERED_INLINE VT PASTE(splat_, SUFFIX)(float v) { return (VT){v, v, v, v}; }
#endif
#undef ORDERED_OP
#undef ORDERED_INLINE
#undef INSN_ADD
#undef INSN_MUL
#define ADD PASTE(ordered_add_, SUFFIX)
#define MUL PASTE(ordered_mul_, SUFFIX)
#define SPLAT PASTE(splat_, SUFFIX)
