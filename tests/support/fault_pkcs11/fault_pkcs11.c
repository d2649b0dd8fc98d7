/* tests/support/fault_pkcs11/fault_pkcs11.c — a PKCS#11 module that forwards
 * every call to a real module (SoftHSM in tests) and fails calls on demand.
 * The contract is in fault_control.h.
 *
 * Thread-safety: the target is loaded under g_load_mutex in C_Initialize and
 * published through an atomic pointer; call counts and the persistent fault
 * are atomics; the pending-failure budgets (the shared one and the one per
 * function) are guarded by g_fail_next_mutex so that a code and its count
 * change together. */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "tests/support/fault_pkcs11/fault_control.h"

#define SR_FAULT_DEFAULT_TARGET "/usr/lib/softhsm/libsofthsm2.so"

/* SR_FAULT_FUNCTIONS(X) lists every entry of CK_FUNCTION_LIST (PKCS#11 2.40)
 * as X(name, class, parameters, arguments). Class SPECIAL entries are written
 * out by hand below; the others are generated forwarders:
 *   SLOT     the persistent fault applies (fault_control.h "slot calls");
 *   SESSION  the persistent fault and sr_fault_fail_next apply. */
#define SR_FAULT_FUNCTIONS(X)                                                                    \
  X(C_Initialize, SPECIAL, (CK_VOID_PTR init_args), (init_args))                                 \
  X(C_Finalize, SPECIAL, (CK_VOID_PTR reserved), (reserved))                                     \
  X(C_GetInfo, SPECIAL, (CK_INFO_PTR info), (info))                                              \
  X(C_GetFunctionList, SPECIAL, (CK_FUNCTION_LIST_PTR_PTR list), (list))                         \
  X(C_GetSlotList, SPECIAL, (CK_BBOOL token_present, CK_SLOT_ID_PTR slots, CK_ULONG_PTR n),      \
    (token_present, slots, n))                                                                   \
  X(C_GetSlotInfo, SLOT, (CK_SLOT_ID slot, CK_SLOT_INFO_PTR info), (slot, info))                 \
  X(C_GetTokenInfo, SLOT, (CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info), (slot, info))               \
  X(C_GetMechanismList, SLOT, (CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR n),     \
    (slot, list, n))                                                                             \
  X(C_GetMechanismInfo, SLOT,                                                                    \
    (CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info), (slot, type, info))   \
  X(C_InitToken, SLOT,                                                                           \
    (CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len, CK_UTF8CHAR_PTR label),             \
    (slot, pin, pin_len, label))                                                                 \
  X(C_InitPIN, SESSION, (CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len),            \
    (s, pin, pin_len))                                                                           \
  X(C_SetPIN, SESSION,                                                                           \
    (CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len, CK_UTF8CHAR_PTR new_pin,    \
     CK_ULONG new_len),                                                                          \
    (s, old_pin, old_len, new_pin, new_len))                                                     \
  X(C_OpenSession, SLOT,                                                                         \
    (CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,                         \
     CK_SESSION_HANDLE_PTR s),                                                                   \
    (slot, flags, app, notify, s))                                                               \
  X(C_CloseSession, SLOT, (CK_SESSION_HANDLE s), (s))                                            \
  X(C_CloseAllSessions, SLOT, (CK_SLOT_ID slot), (slot))                                         \
  X(C_GetSessionInfo, SESSION, (CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR info), (s, info))       \
  X(C_GetOperationState, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR state, CK_ULONG_PTR len),    \
    (s, state, len))                                                                             \
  X(C_SetOperationState, SESSION,                                                                \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR state, CK_ULONG len, CK_OBJECT_HANDLE enc_key,             \
     CK_OBJECT_HANDLE auth_key),                                                                 \
    (s, state, len, enc_key, auth_key))                                                          \
  X(C_Login, SESSION,                                                                            \
    (CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len),             \
    (s, user, pin, pin_len))                                                                     \
  X(C_Logout, SESSION, (CK_SESSION_HANDLE s), (s))                                               \
  X(C_CreateObject, SESSION,                                                                     \
    (CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR templ, CK_ULONG n, CK_OBJECT_HANDLE_PTR object),      \
    (s, templ, n, object))                                                                       \
  X(C_CopyObject, SESSION,                                                                       \
    (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR templ, CK_ULONG n,           \
     CK_OBJECT_HANDLE_PTR copy),                                                                 \
    (s, object, templ, n, copy))                                                                 \
  X(C_DestroyObject, SESSION, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object), (s, object))       \
  X(C_GetObjectSize, SESSION, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object, CK_ULONG_PTR size), \
    (s, object, size))                                                                           \
  X(C_GetAttributeValue, SESSION,                                                                \
    (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR templ, CK_ULONG n),          \
    (s, object, templ, n))                                                                       \
  X(C_SetAttributeValue, SESSION,                                                                \
    (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR templ, CK_ULONG n),          \
    (s, object, templ, n))                                                                       \
  X(C_FindObjectsInit, SESSION, (CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR templ, CK_ULONG n),       \
    (s, templ, n))                                                                               \
  X(C_FindObjects, SESSION,                                                                      \
    (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR objects, CK_ULONG max, CK_ULONG_PTR n),           \
    (s, objects, max, n))                                                                        \
  X(C_FindObjectsFinal, SESSION, (CK_SESSION_HANDLE s), (s))                                     \
  X(C_EncryptInit, SESSION, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),  \
    (s, mech, key))                                                                              \
  X(C_Encrypt, SESSION,                                                                          \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,                      \
     CK_ULONG_PTR out_len),                                                                      \
    (s, in, in_len, out, out_len))                                                               \
  X(C_EncryptUpdate, SESSION,                                                                    \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,                      \
     CK_ULONG_PTR out_len),                                                                      \
    (s, in, in_len, out, out_len))                                                               \
  X(C_EncryptFinal, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len),       \
    (s, out, out_len))                                                                           \
  X(C_DecryptInit, SESSION, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),  \
    (s, mech, key))                                                                              \
  X(C_Decrypt, SESSION,                                                                          \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,                      \
     CK_ULONG_PTR out_len),                                                                      \
    (s, in, in_len, out, out_len))                                                               \
  X(C_DecryptUpdate, SESSION,                                                                    \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,                      \
     CK_ULONG_PTR out_len),                                                                      \
    (s, in, in_len, out, out_len))                                                               \
  X(C_DecryptFinal, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len),       \
    (s, out, out_len))                                                                           \
  X(C_DigestInit, SESSION, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech), (s, mech))              \
  X(C_Digest, SESSION,                                                                           \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,                      \
     CK_ULONG_PTR out_len),                                                                      \
    (s, in, in_len, out, out_len))                                                               \
  X(C_DigestUpdate, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len),             \
    (s, in, in_len))                                                                             \
  X(C_DigestKey, SESSION, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key), (s, key))                 \
  X(C_DigestFinal, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len),        \
    (s, out, out_len))                                                                           \
  X(C_SignInit, SESSION, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),     \
    (s, mech, key))                                                                              \
  X(C_Sign, SESSION,                                                                             \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig,                      \
     CK_ULONG_PTR sig_len),                                                                      \
    (s, in, in_len, sig, sig_len))                                                               \
  X(C_SignUpdate, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len),               \
    (s, in, in_len))                                                                             \
  X(C_SignFinal, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len),          \
    (s, sig, sig_len))                                                                           \
  X(C_SignRecoverInit, SESSION,                                                                  \
    (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key), (s, mech, key))          \
  X(C_SignRecover, SESSION,                                                                      \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig,                      \
     CK_ULONG_PTR sig_len),                                                                      \
    (s, in, in_len, sig, sig_len))                                                               \
  X(C_VerifyInit, SESSION, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),   \
    (s, mech, key))                                                                              \
  X(C_Verify, SESSION,                                                                           \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG sig_len),   \
    (s, in, in_len, sig, sig_len))                                                               \
  X(C_VerifyUpdate, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len),             \
    (s, in, in_len))                                                                             \
  X(C_VerifyFinal, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG sig_len),            \
    (s, sig, sig_len))                                                                           \
  X(C_VerifyRecoverInit, SESSION,                                                                \
    (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key), (s, mech, key))          \
  X(C_VerifyRecover, SESSION,                                                                    \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG sig_len, CK_BYTE_PTR out,                    \
     CK_ULONG_PTR out_len),                                                                      \
    (s, sig, sig_len, out, out_len))                                                             \
  X(C_DigestEncryptUpdate, SESSION,                                                              \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,                      \
     CK_ULONG_PTR out_len),                                                                      \
    (s, in, in_len, out, out_len))                                                               \
  X(C_DecryptDigestUpdate, SESSION,                                                              \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,                      \
     CK_ULONG_PTR out_len),                                                                      \
    (s, in, in_len, out, out_len))                                                               \
  X(C_SignEncryptUpdate, SESSION,                                                                \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,                      \
     CK_ULONG_PTR out_len),                                                                      \
    (s, in, in_len, out, out_len))                                                               \
  X(C_DecryptVerifyUpdate, SESSION,                                                              \
    (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,                      \
     CK_ULONG_PTR out_len),                                                                      \
    (s, in, in_len, out, out_len))                                                               \
  X(C_GenerateKey, SESSION,                                                                      \
    (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR templ, CK_ULONG n,             \
     CK_OBJECT_HANDLE_PTR key),                                                                  \
    (s, mech, templ, n, key))                                                                    \
  X(C_GenerateKeyPair, SESSION,                                                                  \
    (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR public_templ,                  \
     CK_ULONG public_n, CK_ATTRIBUTE_PTR private_templ, CK_ULONG private_n,                      \
     CK_OBJECT_HANDLE_PTR public_key, CK_OBJECT_HANDLE_PTR private_key),                         \
    (s, mech, public_templ, public_n, private_templ, private_n, public_key, private_key))         \
  X(C_WrapKey, SESSION,                                                                          \
    (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE wrapping_key,                  \
     CK_OBJECT_HANDLE key, CK_BYTE_PTR wrapped, CK_ULONG_PTR wrapped_len),                       \
    (s, mech, wrapping_key, key, wrapped, wrapped_len))                                          \
  X(C_UnwrapKey, SESSION,                                                                        \
    (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE unwrapping_key,                \
     CK_BYTE_PTR wrapped, CK_ULONG wrapped_len, CK_ATTRIBUTE_PTR templ, CK_ULONG n,              \
     CK_OBJECT_HANDLE_PTR key),                                                                  \
    (s, mech, unwrapping_key, wrapped, wrapped_len, templ, n, key))                              \
  X(C_DeriveKey, SESSION,                                                                        \
    (CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE base_key,                      \
     CK_ATTRIBUTE_PTR templ, CK_ULONG n, CK_OBJECT_HANDLE_PTR key),                              \
    (s, mech, base_key, templ, n, key))                                                          \
  X(C_SeedRandom, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR seed, CK_ULONG seed_len),           \
    (s, seed, seed_len))                                                                         \
  X(C_GenerateRandom, SESSION, (CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG out_len),         \
    (s, out, out_len))                                                                           \
  X(C_GetFunctionStatus, SESSION, (CK_SESSION_HANDLE s), (s))                                    \
  X(C_CancelFunction, SESSION, (CK_SESSION_HANDLE s), (s))                                       \
  X(C_WaitForSlotEvent, SLOT, (CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved),       \
    (flags, slot, reserved))

enum fault_function {
#define SR_FAULT_ENUM(name, class, params, args) FN_##name,
  SR_FAULT_FUNCTIONS(SR_FAULT_ENUM)
#undef SR_FAULT_ENUM
  FN_COUNT
};

static const char* const kFunctionNames[FN_COUNT] = {
#define SR_FAULT_NAME(name, class, params, args) #name,
    SR_FAULT_FUNCTIONS(SR_FAULT_NAME)
#undef SR_FAULT_NAME
};

enum fault_class { CLASS_SLOT, CLASS_SESSION };

/* g_target: the real module's function list, NULL until the first
 * C_Initialize loads it; then fixed until this module is unloaded. */
static pthread_mutex_t g_load_mutex = PTHREAD_MUTEX_INITIALIZER;
static void* g_target_handle;
static _Atomic(CK_FUNCTION_LIST_PTR) g_target;

/* Defined at the end, once every function it points to is. */
static CK_FUNCTION_LIST g_function_list;

static atomic_ulong g_calls[FN_COUNT];
static atomic_ulong g_fault; /* CKR_OK: none armed */

/* g_control: the shared control page (SR_FAULT_PKCS11_CONTROL), mapped
 * read-only by the first C_Initialize that finds the variable set; NULL when
 * there is none. g_control_seen: the last request counter acted upon. */
static _Atomic(unsigned long*) g_control;
static atomic_ulong g_control_seen;

static pthread_mutex_t g_fail_next_mutex = PTHREAD_MUTEX_INITIALIZER;
static CK_RV g_fail_next_rv;
static unsigned long g_fail_next_remaining;
/* Per function (sr_fault_fail_calls_of), guarded by g_fail_next_mutex. */
static CK_RV g_fail_function_rv[FN_COUNT];
static unsigned long g_fail_function_remaining[FN_COUNT];

static void count_call(enum fault_function function) {
  atomic_fetch_add_explicit(&g_calls[function], 1, memory_order_relaxed);
}

static CK_FUNCTION_LIST_PTR loaded_target(void) {
  return atomic_load_explicit(&g_target, memory_order_acquire);
}

static int is_removal(CK_RV rv) { return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT; }

void sr_fault_fail_next(unsigned long rv, unsigned long count);

/* armed_fault returns the persistent fault in force: the one armed in this
 * process (sr_fault_set), else the control page's word 0. A changed request
 * counter (word 1) on the control page first becomes
 * sr_fault_fail_next(word 2, word 3), once. */
static CK_RV armed_fault(void) {
  unsigned long* control = atomic_load_explicit(&g_control, memory_order_acquire);
  if (control != NULL) {
    unsigned long request = __atomic_load_n(&control[SR_FAULT_CONTROL_REQUEST], __ATOMIC_ACQUIRE);
    unsigned long seen = atomic_load_explicit(&g_control_seen, memory_order_acquire);
    if (request != seen &&
        atomic_compare_exchange_strong_explicit(&g_control_seen, &seen, request,
                                                memory_order_acq_rel, memory_order_acquire)) {
      sr_fault_fail_next(__atomic_load_n(&control[SR_FAULT_CONTROL_NEXT_RV], __ATOMIC_ACQUIRE),
                         __atomic_load_n(&control[SR_FAULT_CONTROL_NEXT_COUNT], __ATOMIC_ACQUIRE));
    }
  }
  CK_RV armed = atomic_load_explicit(&g_fault, memory_order_acquire);
  if (armed == CKR_OK && control != NULL) {
    armed = __atomic_load_n(&control[SR_FAULT_CONTROL_FAULT], __ATOMIC_ACQUIRE);
  }
  return armed;
}

/* take_fail_next returns the pending failure code and uses up one of the
 * budget, or CKR_OK when none is pending. */
static CK_RV take_fail_next(void) {
  CK_RV rv = CKR_OK;
  pthread_mutex_lock(&g_fail_next_mutex);
  if (g_fail_next_remaining > 0) {
    --g_fail_next_remaining;
    rv = g_fail_next_rv;
  }
  pthread_mutex_unlock(&g_fail_next_mutex);
  return rv;
}

/* take_fail_function returns the failure code pending for `function` and
 * uses up one of its budget, or CKR_OK when none is pending. */
static CK_RV take_fail_function(enum fault_function function) {
  CK_RV rv = CKR_OK;
  pthread_mutex_lock(&g_fail_next_mutex);
  if (g_fail_function_remaining[function] > 0) {
    --g_fail_function_remaining[function];
    rv = g_fail_function_rv[function];
  }
  pthread_mutex_unlock(&g_fail_next_mutex);
  return rv;
}

/* enter counts the call and decides its fate: CKR_OK with *target set means
 * "forward"; anything else is returned to the caller as is. */
static CK_RV enter(enum fault_function function, enum fault_class class,
                   CK_FUNCTION_LIST_PTR* target) {
  count_call(function);
  *target = loaded_target();
  if (*target == NULL) return CKR_CRYPTOKI_NOT_INITIALIZED;
  CK_RV armed = armed_fault();
  if (armed != CKR_OK) return armed;
  CK_RV failed = take_fail_function(function);
  if (failed != CKR_OK) return failed;
  if (class == CLASS_SESSION) return take_fail_next();
  return CKR_OK;
}

/* The generated forwarders: one static function per SLOT or SESSION entry.
 * A NULL entry in the target's list is answered as the spec says an absent
 * function is. */
#define SR_FAULT_FORWARDER(name, class, params, args)              \
  static CK_RV fault_##name params {                               \
    CK_FUNCTION_LIST_PTR target = NULL;                            \
    CK_RV rv = enter(FN_##name, class, &target);                   \
    if (rv != CKR_OK) return rv;                                   \
    if (target->name == NULL) return CKR_FUNCTION_NOT_SUPPORTED;   \
    return target->name args;                                      \
  }
#define SR_FAULT_FORWARDER_SPECIAL(name, params, args)
#define SR_FAULT_FORWARDER_SLOT(name, params, args) SR_FAULT_FORWARDER(name, CLASS_SLOT, params, args)
#define SR_FAULT_FORWARDER_SESSION(name, params, args) \
  SR_FAULT_FORWARDER(name, CLASS_SESSION, params, args)
#define SR_FAULT_DEFINE(name, class, params, args) SR_FAULT_FORWARDER_##class(name, params, args)
SR_FAULT_FUNCTIONS(SR_FAULT_DEFINE)
#undef SR_FAULT_DEFINE

/* load_target dlopens the module named by SR_FAULT_PKCS11_TARGET once per
 * load of this module. REQUIRES: g_load_mutex held. */
static CK_RV load_target(void) {
  if (loaded_target() != NULL) return CKR_OK;
  const char* path = getenv("SR_FAULT_PKCS11_TARGET");
  if (path == NULL || path[0] == '\0') path = SR_FAULT_DEFAULT_TARGET;
  /* RTLD_LOCAL keeps the target's symbols (it exports C_* too) out of the
   * global scope. No RTLD_DEEPBIND: AddressSanitizer refuses it. */
  void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL) {
    fprintf(stderr, "sr_fault_pkcs11: cannot load target module %s: %s\n", path, dlerror());
    return CKR_GENERAL_ERROR;
  }
  CK_C_GetFunctionList get_function_list = NULL;
  /* POSIX guarantees a dlsym result converts to a function pointer. */
  *(void**)&get_function_list = dlsym(handle, "C_GetFunctionList");
  CK_FUNCTION_LIST_PTR list = NULL;
  if (get_function_list == NULL || get_function_list(&list) != CKR_OK || list == NULL) {
    fprintf(stderr, "sr_fault_pkcs11: %s has no usable C_GetFunctionList\n", path);
    dlclose(handle);
    return CKR_GENERAL_ERROR;
  }
  if (list == &g_function_list || list->C_Initialize == NULL) {
    fprintf(stderr, "sr_fault_pkcs11: refusing target %s (incomplete, or this module itself)\n", path);
    dlclose(handle);
    return CKR_GENERAL_ERROR;
  }
  g_target_handle = handle;
  atomic_store_explicit(&g_target, list, memory_order_release);
  return CKR_OK;
}

/* map_control maps the control page named by SR_FAULT_PKCS11_CONTROL, once
 * per load of this module; without the variable there is none. The request
 * counter already on the page counts as seen, so an old request is not
 * replayed into a process started later. REQUIRES: g_load_mutex held. */
static CK_RV map_control(void) {
  if (atomic_load_explicit(&g_control, memory_order_acquire) != NULL) return CKR_OK;
  const char* path = getenv("SR_FAULT_PKCS11_CONTROL");
  if (path == NULL || path[0] == '\0') return CKR_OK;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)SR_FAULT_CONTROL_SIZE) {
    fprintf(stderr, "sr_fault_pkcs11: cannot use control file %s\n", path);
    if (fd >= 0) close(fd);
    return CKR_GENERAL_ERROR;
  }
  void* page = mmap(NULL, SR_FAULT_CONTROL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (page == MAP_FAILED) {
    fprintf(stderr, "sr_fault_pkcs11: cannot map control file %s\n", path);
    return CKR_GENERAL_ERROR;
  }
  unsigned long* control = (unsigned long*)page;
  atomic_store_explicit(&g_control_seen,
                        __atomic_load_n(&control[SR_FAULT_CONTROL_REQUEST], __ATOMIC_ACQUIRE),
                        memory_order_release);
  atomic_store_explicit(&g_control, control, memory_order_release);
  return CKR_OK;
}

/* Module calls: counted, never failed by a fault. */

static CK_RV fault_C_Initialize(CK_VOID_PTR init_args) {
  count_call(FN_C_Initialize);
  pthread_mutex_lock(&g_load_mutex);
  CK_RV rv = load_target();
  if (rv == CKR_OK) rv = map_control();
  pthread_mutex_unlock(&g_load_mutex);
  if (rv != CKR_OK) return rv;
  return loaded_target()->C_Initialize(init_args);
}

static CK_RV fault_C_Finalize(CK_VOID_PTR reserved) {
  count_call(FN_C_Finalize);
  CK_FUNCTION_LIST_PTR target = loaded_target();
  if (target == NULL) return CKR_CRYPTOKI_NOT_INITIALIZED;
  return target->C_Finalize(reserved);
}

static CK_RV fault_C_GetInfo(CK_INFO_PTR info) {
  count_call(FN_C_GetInfo);
  CK_FUNCTION_LIST_PTR target = loaded_target();
  if (target == NULL) return CKR_CRYPTOKI_NOT_INITIALIZED;
  return target->C_GetInfo(info);
}

static CK_RV fault_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
  count_call(FN_C_GetFunctionList);
  if (list == NULL) return CKR_ARGUMENTS_BAD;
  *list = &g_function_list;
  return CKR_OK;
}

/* C_GetSlotList is a slot call, except that an armed removal fault answers
 * "no slots" instead of an error: that is what an application polling for
 * its token sees when the device is unplugged. */
static CK_RV fault_C_GetSlotList(CK_BBOOL token_present, CK_SLOT_ID_PTR slots, CK_ULONG_PTR n) {
  count_call(FN_C_GetSlotList);
  CK_FUNCTION_LIST_PTR target = loaded_target();
  if (target == NULL) return CKR_CRYPTOKI_NOT_INITIALIZED;
  CK_RV armed = armed_fault();
  if (is_removal(armed)) {
    if (n == NULL) return CKR_ARGUMENTS_BAD;
    *n = 0;
    return CKR_OK;
  }
  if (armed != CKR_OK) return armed;
  return target->C_GetSlotList(token_present, slots, n);
}

static CK_FUNCTION_LIST g_function_list = {
    .version = {CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
#define SR_FAULT_ENTRY(name, class, params, args) .name = fault_##name,
    SR_FAULT_FUNCTIONS(SR_FAULT_ENTRY)
#undef SR_FAULT_ENTRY
};

/* The only PKCS#11 symbol this module exports; the target's own C_* symbols
 * stay private to it (RTLD_LOCAL). */
__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
  return fault_C_GetFunctionList(list);
}

/* The control API (fault_control.h). */

void sr_fault_set(unsigned long rv) { atomic_store_explicit(&g_fault, rv, memory_order_release); }

void sr_fault_fail_next(unsigned long rv, unsigned long count) {
  pthread_mutex_lock(&g_fail_next_mutex);
  g_fail_next_rv = rv;
  g_fail_next_remaining = rv == CKR_OK ? 0 : count;
  pthread_mutex_unlock(&g_fail_next_mutex);
}

/* failable[f] says whether sr_fault_fail_calls_of may fail f: only the
 * forwarders that call enter() (slot and session-bearing calls) can. */
static const int kFailable[FN_COUNT] = {
#define SR_FAULT_FAILABLE_SPECIAL 0
#define SR_FAULT_FAILABLE_SLOT 1
#define SR_FAULT_FAILABLE_SESSION 1
#define SR_FAULT_FAILABLE(name, class, params, args) SR_FAULT_FAILABLE_##class,
    SR_FAULT_FUNCTIONS(SR_FAULT_FAILABLE)
#undef SR_FAULT_FAILABLE
#undef SR_FAULT_FAILABLE_SESSION
#undef SR_FAULT_FAILABLE_SLOT
#undef SR_FAULT_FAILABLE_SPECIAL
};

int sr_fault_fail_calls_of(const char* function_name, unsigned long rv, unsigned long count) {
  if (function_name == NULL) return -1;
  for (int i = 0; i < FN_COUNT; ++i) {
    if (strcmp(kFunctionNames[i], function_name) != 0) continue;
    if (!kFailable[i]) return -1;
    pthread_mutex_lock(&g_fail_next_mutex);
    g_fail_function_rv[i] = rv;
    g_fail_function_remaining[i] = rv == CKR_OK ? 0 : count;
    pthread_mutex_unlock(&g_fail_next_mutex);
    return 0;
  }
  return -1;
}

void sr_fault_cancel_calls_of(void) {
  pthread_mutex_lock(&g_fail_next_mutex);
  for (int i = 0; i < FN_COUNT; ++i) g_fail_function_remaining[i] = 0;
  pthread_mutex_unlock(&g_fail_next_mutex);
}

unsigned long sr_fault_calls(const char* function_name) {
  if (function_name == NULL) return (unsigned long)-1;
  for (int i = 0; i < FN_COUNT; ++i) {
    if (strcmp(kFunctionNames[i], function_name) == 0) {
      return atomic_load_explicit(&g_calls[i], memory_order_relaxed);
    }
  }
  return (unsigned long)-1;
}

void sr_fault_reset_counts(void) {
  for (int i = 0; i < FN_COUNT; ++i) atomic_store_explicit(&g_calls[i], 0, memory_order_relaxed);
}

/* When p11-kit (or a test) unloads this module, let go of the target too, so
 * that the next load starts from a fresh dlopen. The target must already be
 * finalised by then, as PKCS#11 requires of the application. */
__attribute__((destructor)) static void unload_target(void) {
  pthread_mutex_lock(&g_load_mutex);
  if (g_target_handle != NULL) {
    atomic_store_explicit(&g_target, NULL, memory_order_release);
    dlclose(g_target_handle);
    g_target_handle = NULL;
  }
  pthread_mutex_unlock(&g_load_mutex);
}
