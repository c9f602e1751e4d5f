/*
 * What the native kernels share: the instruction sets, reading a call's arguments from JavaScript,
 * checking that a tensor lies inside the wasm heap, and a scratch buffer per Node environment (each
 * worker thread has its own). Every kernel works in place in the tfjs wasm backend's heap: JavaScript
 * passes the heap and byte offsets, never copies.
 */
#ifndef MIXUP_KERNELS_H
#define MIXUP_KERNELS_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* x86 alone has the wider forms: target("avx512f") is an error for any other architecture's compiler. */
#if defined(__x86_64__) || defined(__i386__)
#define X86_FORMS 1
#else
#define X86_FORMS 0
#endif

/* The instruction sets, narrowest first, as JavaScript numbers them (native-conv.ts NATIVE_ISAS). */
enum { ISA_BASELINE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

/* The widest instructions this CPU has. */
int best_isa(void);

enum { MAX_INTS = 16 };

/* One call: the heap, its integer arguments (byte offsets and sizes), and the instruction set. */
typedef struct {
  uint8_t *heap;
  size_t heap_bytes;
  int64_t v[MAX_INTS];
  int isa;
} kernel_call;

/*
 * Reads (heap: ArrayBuffer, `ints` integers, isa) into `call`. On a bad call it throws a JavaScript
 * error naming `kernel` and returns false.
 */
bool read_call(napi_env env, napi_callback_info info, const char *kernel, size_t ints, kernel_call *call);

/*
 * The float32 array of `floats` elements at byte `offset` of the heap, or NULL (with a JavaScript
 * error thrown) if it is misaligned or does not lie wholly inside the heap.
 */
float *heap_floats(napi_env env, const kernel_call *call, const char *kernel, int64_t offset, int64_t floats);

/* Throws "mixup native <kernel>: <message>". Returns NULL, for `return fail(...)`. */
napi_value fail(napi_env env, const char *kernel, const char *message);

/*
 * At least `bytes` of scratch memory for this environment (freed with it), aligned to SCRATCH_ALIGN,
 * or NULL with an error thrown. Tensors in the wasm heap are only 8-byte aligned, so a 64-byte vector
 * read from one mostly spans two cache lines; a kernel that reads a tensor many times copies it here.
 */
enum { SCRATCH_ALIGN = 64 };
void *scratch(napi_env env, size_t bytes);

/* `bytes` rounded up to SCRATCH_ALIGN: the size of one piece of a scratch buffer cut in several. */
static inline size_t aligned_size(size_t bytes) { return (bytes + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN; }

/* The kernels (one napi callback each), and what the addon exports. */
napi_value conv2d(napi_env env, napi_callback_info info);
napi_value conv2d_filter_grad_1ch(napi_env env, napi_callback_info info);
napi_value conv2d_sparse_filter_grad(napi_env env, napi_callback_info info);
napi_value conv2d_sparse_input_grad(napi_env env, napi_callback_info info);
napi_value relu(napi_env env, napi_callback_info info);
napi_value relu_grad(napi_env env, napi_callback_info info);
napi_value add_bias(napi_env env, napi_callback_info info);
napi_value sum_blocks(napi_env env, napi_callback_info info);
napi_value max_pool(napi_env env, napi_callback_info info);
napi_value max_pool_grad(napi_env env, napi_callback_info info);

#endif
