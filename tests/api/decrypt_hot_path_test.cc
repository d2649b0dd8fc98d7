// The hot path of a warm decrypt (issue 19): the heap allocations an I/O
// thread makes for one decrypt whose data key is cached, from reading the
// request (before SSL_read) to handing it on (its handler returned: the
// response waits behind its audit record, queued for the sequencer). This
// binary replaces operator new and delete; the count is per thread, armed
// by the front's test seam (api/http/hot_path_probe.h) on the I/O thread
// only. OpenSSL and LMDB allocate with malloc, which is not counted here.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <execinfo.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "api/decrypt/decrypt.h"
#include "api/http/hot_path_probe.h"
#include "tests/api/in_process_server.h"

namespace {

thread_local bool armed = false;
thread_local long allocations = 0;
thread_local int armed_epoch = -1;
// epoch numbers the measurements: a thread armed in an earlier one (a read
// that dispatched nothing) starts again.
std::atomic<int> epoch{0};
std::atomic<long> last_count{-1};

// With SR_TRACE_ALLOCATIONS set, the last measured window's allocation
// sites are kept (fixed storage: recording allocates nothing) and printed.
constexpr int kTraceFrames = 10, kTraceMax = 128;
void* trace[kTraceMax][kTraceFrames];
int trace_depth[kTraceMax];
std::size_t trace_size[kTraceMax];
bool tracing = false;

void* Allocate(std::size_t size) {
  if (armed) {
    if (tracing && allocations < kTraceMax) {
      trace_depth[allocations] = backtrace(trace[allocations], kTraceFrames);
      trace_size[allocations] = size;
    }
    ++allocations;
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

void* AllocateAligned(std::size_t size, std::align_val_t align) {
  if (armed) ++allocations;
  const std::size_t alignment = static_cast<std::size_t>(align);
  const std::size_t rounded =
      (std::max<std::size_t>(size, 1) + alignment - 1) / alignment * alignment;
  if (void* p = std::aligned_alloc(alignment, rounded)) return p;
  throw std::bad_alloc();
}

void OnRead() {
  // A request arriving in several reads counts from the first.
  const int now = epoch.load();
  if (armed && armed_epoch == now) return;
  armed = true;
  armed_epoch = now;
  allocations = 0;
}

void OnDispatched() {
  if (!armed) return;
  armed = false;
  last_count.store(allocations);
}

const strongroom::api::HotPathProbe kProbe{OnRead, OnDispatched};

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return Allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return Allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t align) {
  return AllocateAligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return AllocateAligned(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace strongroom {
namespace {

using testing_support::HttpsClient;
using testing_support::HttpsResponse;

// kWarmDecryptAllocations is the I/O thread's heap allocations for one warm
// Dapr get (GET /v1.0/secrets/default/a from curl, one keep-alive
// connection), from reading the request to queuing its audit record. Each
// one, in order (SR_TRACE_ALLOCATIONS=1 prints their call sites):
//  the request reader (api/http/request_reader.cc), 7: the request line's
//    resource (the path, past the short-string buffer); the raw header
//    map's bucket array and one node per header field (3: Host, Accept and
//    the client's own); a field value longer than 15 bytes, copied twice
//    (into its Raw, then into the map). (Before issue 19's reader, Pistache's
//    parser made 29 here: its input buffer regrown byte by byte after each
//    reset, 8, and a typed object per known header, 20.)
//  the front (api/http), 2: the HttpRequest (make_shared) and its path.
//    (The route search's parameter vectors, Pistache's 2 and ours 1, are
//    gone since the router matches in place and keeps parameters as offsets
//    into the path: 6 before. The Responder holds a plain pointer to its
//    request, which holds itself until answered: a std::function stores
//    that in place, where one capturing shared_ptrs allocated: 3 before.)
//  the pipeline (api/decrypt) and what it calls, 12: its state (make_shared,
//    one per request, shared with the pool if suspended); the audit
//    action's name; the fingerprint copied into the principal and the
//    audit actor (2); the snapshot (ReadTxn's Impl); the stored record's
//    bytes, and from its decoding the uid, the allowlist and the envelope
//    (3); the target vector; the body; the per-name record vector (it is
//    the records handed to the audit log). (The certificate's identity
//    compares the front's fingerprint as it is, and the scope check
//    compares in place: 5 fewer since issue 19, policies/. The response's
//    content type is a view of a constant since branch hot4: 1 fewer,
//    "application/json" was one byte past the short-string buffer. The
//    snapshot's LMDB transaction is reused, reset and renewed, since hot4;
//    LMDB allocates with malloc, not counted here.)
//  the audit hand-off (audit/), 3: the completion (audit::MakeAsyncDone:
//    the callback and the log's count of pending records in one block), the
//    entry, and the record's encoded body (encoded on this thread, so the
//    sequencer stays short). (5 before: the callback was a std::function
//    and the count a separate waiter, and one record had a vector.)
// The unsealing allocates nothing on the heap (the value is in the locked
// arena; the key cache is searched with a string_view; the envelope was
// parsed once, into views). OpenSSL and LMDB use malloc, not counted here.
// The audit queue (a std::deque) takes a new block every so many records,
// so a request now and then counts more: the test takes the least of five.
constexpr long kWarmDecryptAllocations = 24;

class DecryptHotPath : public InProcessServerTest {
 protected:
  void TearDown() override {
    api::SetHotPathProbe(nullptr);
    InProcessServerTest::TearDown();
  }

  // MeasuredDecrypt is the count of one Dapr get of "a" on `client`.
  long MeasuredDecrypt(HttpsClient& client) {
    last_count.store(-1);
    epoch.fetch_add(1);
    api::SetHotPathProbe(&kProbe);
    HttpsResponse answer = client.Request("GET", "/v1.0/secrets/default/a");
    api::SetHotPathProbe(nullptr);
    EXPECT_EQ(answer.status, 200) << answer.body << answer.error;
    return last_count.load();
  }
};

TEST_F(DecryptHotPath, AWarmDecryptMakesAKnownNumberOfHeapAllocationsOnItsIoThread) {
  tracing = std::getenv("SR_TRACE_ALLOCATIONS") != nullptr;
  HttpsClient admin = Admin();
  ASSERT_EQ(admin.Request("POST", Path(), Body("a")).status, 201);
  HttpsClient service = Service();
  for (int i = 0; i < 3; ++i) {  // the key is cached, the connection's buffers grown
    ASSERT_EQ(service.Request("GET", "/v1.0/secrets/default/a").status, 200);
  }
  const api::DecryptStats before = api::DecryptStatsNow();
  std::vector<long> counts;
  for (int i = 0; i < 5; ++i) counts.push_back(MeasuredDecrypt(service));
  const api::DecryptStats after = api::DecryptStatsNow();
  EXPECT_EQ(after.suspended, before.suspended) << "every measured decrypt was warm";
  EXPECT_EQ(service.new_connections(), 1L) << "one keep-alive connection";
  const long least = *std::min_element(counts.begin(), counts.end());
  const long most = *std::max_element(counts.begin(), counts.end());
  ASSERT_GE(least, 0) << "the probe saw the request";
  std::string all;
  for (long count : counts) all += std::to_string(count) + " ";
  std::cout << "heap allocations per warm decrypt on the I/O thread: " << all << "\n";
  EXPECT_EQ(least, kWarmDecryptAllocations) << all;
  if (tracing) {
    for (long i = 0; i < std::min<long>(counts.back(), kTraceMax); ++i) {
      std::cout << "allocation " << i << " (" << trace_size[i] << " bytes):\n";
      // Object and offset, for addr2line -f -C -e OBJECT OFFSET.
      for (int f = 1; f < trace_depth[i]; ++f) {
        Dl_info info{};
        if (dladdr(trace[i][f], &info) == 0 || info.dli_fname == nullptr) continue;
        std::cout << "  " << info.dli_fname << " 0x" << std::hex
                  << (reinterpret_cast<std::uintptr_t>(trace[i][f]) -
                      reinterpret_cast<std::uintptr_t>(info.dli_fbase) - 1)
                  << std::dec << "\n";
      }
    }
  }
  EXPECT_LE(most - least, 2) << all;
}

}  // namespace
}  // namespace strongroom
