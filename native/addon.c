/*
 * The addon's entry: the functions it exports (job/backend/native-conv.ts loads them), the CPU's
 * instruction sets, and the helpers every kernel uses to read its arguments (native/kernels.h).
 */
#include "kernels.h"

int best_isa(void) {
#if X86_FORMS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return ISA_AVX512;
  if (__builtin_cpu_supports("avx2")) return ISA_AVX2;
#endif
  return ISA_BASELINE;
}

static const char *const ISA_NAMES[] = {"baseline", "avx2", "avx512f"};

/* Appends `text` to `out` (capacity `size`, always terminated) from position `at`; the new position. */
static size_t append(char *out, size_t size, size_t at, const char *text) {
  while (*text != '\0' && at + 1 < size) out[at++] = *text++;
  out[at] = '\0';
  return at;
}

napi_value fail(napi_env env, const char *kernel, const char *message) {
  char text[200];
  size_t at = append(text, sizeof text, 0, "mixup native ");
  at = append(text, sizeof text, at, kernel);
  at = append(text, sizeof text, at, ": ");
  append(text, sizeof text, at, message);
  napi_throw_error(env, NULL, text);
  return NULL;
}

bool read_call(napi_env env, napi_callback_info info, const char *kernel, size_t ints, kernel_call *call) {
  napi_value argv[MAX_INTS + 2];
  size_t argc = MAX_INTS + 2;
  if (ints > MAX_INTS || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    fail(env, kernel, "bad arguments");
    return false;
  }
  if (argc != ints + 2) {
    fail(env, kernel, "wrong number of arguments");
    return false;
  }
  void *heap;
  if (napi_get_arraybuffer_info(env, argv[0], &heap, &call->heap_bytes) != napi_ok) {
    fail(env, kernel, "the first argument is not the heap's ArrayBuffer");
    return false;
  }
  call->heap = heap;
  for (size_t i = 0; i < ints; i++) {
    if (napi_get_value_int64(env, argv[1 + i], &call->v[i]) != napi_ok) {
      fail(env, kernel, "an argument is not a number");
      return false;
    }
  }
  int32_t isa;
  if (napi_get_value_int32(env, argv[1 + ints], &isa) != napi_ok || isa < 0 || isa > best_isa()) {
    fail(env, kernel, "this CPU lacks the instructions asked for");
    return false;
  }
  call->isa = isa;
  return true;
}

float *heap_floats(napi_env env, const kernel_call *call, const char *kernel, int64_t offset, int64_t floats) {
  if (offset < 0 || offset % 4 != 0 || floats < 0 || (uint64_t)floats > call->heap_bytes / 4 ||
      (uint64_t)offset > call->heap_bytes - (uint64_t)floats * 4) {
    fail(env, kernel, "a tensor lies outside the heap");
    return NULL;
  }
  return (float *)(call->heap + offset);
}

/*
 * The scratch buffer of one environment (node's main thread, or one worker): `memory` as allocated,
 * `aligned` inside it. The C library is reached through the compiler's builtins, without its
 * headers: the macOS bundles are compiled here without Apple's SDK, and libSystem resolves the calls
 * when node loads them.
 */
typedef struct {
  void *memory;
  void *aligned;
  size_t bytes;
} scratch_buffer;

static void free_scratch(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  scratch_buffer *buffer = data;
  __builtin_free(buffer->memory);
  __builtin_free(buffer);
}

void *scratch(napi_env env, size_t bytes) {
  scratch_buffer *buffer = NULL;
  if (napi_get_instance_data(env, (void **)&buffer) != napi_ok || buffer == NULL) {
    napi_throw_error(env, NULL, "mixup native kernels: no scratch buffer (the addon was not initialised)");
    return NULL;
  }
  if (buffer->bytes < bytes) {
    __builtin_free(buffer->memory);
    buffer->memory = __builtin_malloc(bytes + SCRATCH_ALIGN);
    buffer->bytes = buffer->memory == NULL ? 0 : bytes;
    if (buffer->memory == NULL) {
      napi_throw_error(env, NULL, "mixup native kernels: out of memory for scratch");
      return NULL;
    }
    buffer->aligned = (void *)(((uintptr_t)buffer->memory + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN);
  }
  return buffer->aligned;
}

/* isas(): the instruction sets this CPU can run the kernels on, narrowest first. */
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

static const struct {
  const char *name;
  napi_callback callback;
} EXPORTS[] = {
    {"isas", isas},
    {"conv2d", conv2d},
    {"conv2dFilterGrad1ch", conv2d_filter_grad_1ch},
    {"conv2dSparseFilterGrad", conv2d_sparse_filter_grad},
    {"conv2dSparseInputGrad", conv2d_sparse_input_grad},
    {"relu", relu},
    {"reluGrad", relu_grad},
    {"addBias", add_bias},
    {"sumBlocks", sum_blocks},
    {"maxPool", max_pool},
    {"maxPoolGrad", max_pool_grad},
};

NAPI_MODULE_INIT() {
  scratch_buffer *buffer = __builtin_malloc(sizeof *buffer);
  if (buffer == NULL) return NULL;
  *buffer = (scratch_buffer){NULL, NULL, 0};
  if (napi_set_instance_data(env, buffer, free_scratch, NULL) != napi_ok) {
    __builtin_free(buffer);
    return NULL;
  }
  for (size_t i = 0; i < sizeof EXPORTS / sizeof EXPORTS[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, EXPORTS[i].name, NAPI_AUTO_LENGTH, EXPORTS[i].callback, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, EXPORTS[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}
