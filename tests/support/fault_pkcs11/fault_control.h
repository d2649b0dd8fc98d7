/* tests/support/fault_pkcs11/fault_control.h — the control API of the
 * fault-injecting PKCS#11 test module (libsr_fault_pkcs11.so, SPEC section 9).
 *
 * The module is a PKCS#11 2.40 module: it exports C_GetFunctionList, and on
 * C_Initialize it dlopens the real module named by the environment variable
 * SR_FAULT_PKCS11_TARGET (default /usr/lib/softhsm/libsofthsm2.so, read at
 * the first C_Initialize after the module is loaded) and forwards every entry
 * of CK_FUNCTION_LIST to it, unchanged, unless a fault is armed. It exists
 * because SoftHSM cannot be made to fail on demand; it is test-only and is
 * never installed.
 *
 * A test reaches these functions by dlsym on the loaded module (see
 * tests/support/fault_module.h, which does that), or by linking it. State
 * (the armed fault, pending failures, call counts) is process-wide, lives as
 * long as the module stays loaded (p11-kit 0.24 never unloads a module, even
 * after p11_kit_module_release, so in practice until exit), and survives
 * C_Finalize/C_Initialize, as a removed device stays removed when an
 * application re-initialises its module. The target is loaded once per load
 * of this module; later changes to SR_FAULT_PKCS11_TARGET are ignored.
 *
 * Call classes used below:
 *   - module calls: C_GetFunctionList, C_Initialize, C_Finalize, C_GetInfo.
 *     Always forwarded (C_GetFunctionList answers from the module itself).
 *   - slot calls: C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo,
 *     C_WaitForSlotEvent, C_GetMechanismList, C_GetMechanismInfo,
 *     C_InitToken, C_OpenSession, C_CloseAllSessions, and C_CloseSession
 *     (which takes a session handle but is grouped here so that a caller's
 *     clean-up after an injected session failure still closes the real
 *     session in the target).
 *   - session-bearing calls: every other function, i.e. each one whose first
 *     argument is a session handle (C_Login, C_GenerateRandom, C_UnwrapKey,
 *     C_FindObjects, C_GetSessionInfo, ...).
 *
 * Thread-safety: every function here may be called from any thread while
 * other threads use the module; each takes effect for calls that start after
 * it returns. */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

#define SR_FAULT_API __attribute__((visibility("default")))

/* sr_fault_set arms a persistent fault: from now on every slot call and every
 * session-bearing call returns `rv` without reaching the target module;
 * module calls are still forwarded. sr_fault_set(CKR_OK) (0) clears it.
 * While rv is CKR_DEVICE_REMOVED or CKR_TOKEN_NOT_PRESENT, C_GetSlotList
 * (with tokenPresent TRUE or FALSE) instead succeeds and reports zero slots,
 * as when the whole device is unplugged. Arming replaces any earlier
 * persistent fault; it does not touch pending sr_fault_fail_next failures,
 * which are not consumed while a persistent fault is armed. */
SR_FAULT_API void sr_fault_set(unsigned long rv);

/* sr_fault_fail_next makes the next `count` session-bearing calls (from any
 * thread, counted across all sessions) return `rv` without reaching the
 * target; later calls are forwarded again. Replaces any pending budget;
 * a count of 0, or rv CKR_OK, cancels it. Slot calls and module calls
 * neither fail nor consume the count. */
SR_FAULT_API void sr_fault_fail_next(unsigned long rv, unsigned long count);

/* sr_fault_fail_calls_of makes the next `count` calls of the one function
 * named `function_name` ("C_DestroyObject", ...) return `rv` without
 * reaching the target; other functions are unaffected and later calls of it
 * are forwarded again. Only slot and session-bearing calls can be failed
 * this way. Replaces any pending budget for that function; a count of 0, or
 * rv CKR_OK, cancels it. Independent of sr_fault_fail_next: a call failed
 * here does not use up that budget. Not consumed while a persistent fault
 * is armed. Returns 0, or -1 for NULL, a name that is not an entry of
 * CK_FUNCTION_LIST, or a module call. */
SR_FAULT_API int sr_fault_fail_calls_of(const char* function_name, unsigned long rv,
                                        unsigned long count);

/* sr_fault_cancel_calls_of cancels the pending sr_fault_fail_calls_of budget
 * of every function. */
SR_FAULT_API void sr_fault_cancel_calls_of(void);

/* sr_fault_calls returns how many times the PKCS#11 function named
 * `function_name` ("C_OpenSession", "C_Login", "C_UnwrapKey", ...) was called
 * on this module since it was loaded or since sr_fault_reset_counts,
 * including calls that a fault failed. Returns (unsigned long)-1 for NULL or
 * a name that is not an entry of CK_FUNCTION_LIST, so a typo cannot pass for
 * "never called". */
SR_FAULT_API unsigned long sr_fault_calls(const char* function_name);

/* sr_fault_reset_counts sets every call count to zero. Faults are unchanged. */
SR_FAULT_API void sr_fault_reset_counts(void);

/* Cross-process control, for a module loaded into another process (the
 * real server in end-to-end tests). If the environment variable
 * SR_FAULT_PKCS11_CONTROL names a file of at least SR_FAULT_CONTROL_SIZE
 * bytes when the module's first C_Initialize runs, the module maps it
 * (shared, read-only) and reads these native unsigned longs on every
 * slot and session-bearing call:
 *   [SR_FAULT_CONTROL_FAULT]   a persistent fault, as sr_fault_set, in force
 *                              while none is armed in-process (0: none);
 *   [SR_FAULT_CONTROL_REQUEST] a request counter: each time the module sees
 *                              it changed, it calls sr_fault_fail_next(
 *                              [SR_FAULT_CONTROL_NEXT_RV],
 *                              [SR_FAULT_CONTROL_NEXT_COUNT]) once.
 * The controlling process maps the same file shared and writes the words
 * with atomic stores, the counter last. A missing or short file makes
 * C_Initialize fail with CKR_GENERAL_ERROR. */
#define SR_FAULT_CONTROL_SIZE 4096
#define SR_FAULT_CONTROL_FAULT 0
#define SR_FAULT_CONTROL_REQUEST 1
#define SR_FAULT_CONTROL_NEXT_RV 2
#define SR_FAULT_CONTROL_NEXT_COUNT 3

/* Function-pointer types for callers that look these up with dlsym. */
typedef void (*sr_fault_set_fn)(unsigned long rv);
typedef void (*sr_fault_fail_next_fn)(unsigned long rv, unsigned long count);
typedef int (*sr_fault_fail_calls_of_fn)(const char* function_name, unsigned long rv,
                                         unsigned long count);
typedef void (*sr_fault_cancel_calls_of_fn)(void);
typedef unsigned long (*sr_fault_calls_fn)(const char* function_name);
typedef void (*sr_fault_reset_counts_fn)(void);

#ifdef __cplusplus
}  /* extern "C" */
#endif
