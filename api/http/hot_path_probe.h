// api/http/hot_path_probe.h — a test seam: calls on an I/O thread around
// its part of a request, so a test can count what that thread does
// between reading a request and handing it on (issue 19's counting
// allocator: heap allocations of a warm decrypt). Production sets none; a
// request then pays one relaxed atomic load per call site.
// Thread-safety: SetHotPathProbe may be called from any thread; the
// callbacks run on the I/O threads.
#pragma once

namespace strongroom::api {

struct HotPathProbe {
  // on_read: the thread is about to read a connection's bytes (before
  // SSL_read, so the request's first byte is inside the window).
  void (*on_read)() = nullptr;
  // on_dispatched: the thread has dispatched a request and its handler
  // returned: an inline response is queued on the connection, a deferred
  // one behind its audit records (api/decrypt), a blocking one on the pool.
  void (*on_dispatched)() = nullptr;
};

// SetHotPathProbe installs `probe` (nullptr: none).
// REQUIRES: `probe` outlives its installation; both callbacks are set.
void SetHotPathProbe(const HotPathProbe* probe);

}  // namespace strongroom::api
