// cluster/etcd_watch.h — a watch on a key or range of etcd, read by a
// thread of its own that delivers what happens, in revision order, to a
// handler.
//
// The watch is one streaming POST to the gateway's /v3/watch. When the
// stream breaks (the member died, lost its leader, or the network failed) the
// thread reports kDisconnected, waits `reconnect_pause` and opens the watch
// again on the next member, from the revision after the last one delivered:
// no event is delivered twice and none is skipped. The stream asks etcd to
// cancel it when its member has no leader (gRPC metadata hasleader=true), so
// a member cut off from the cluster does not hold the watch silently.
//
// When etcd has compacted past the revision the watch needs, the watch
// reports kCompacted with etcd's compact revision and ends: the caller reads
// the range in full (at a revision it chooses) and starts a new watch after
// it.
//
// Thread-safety: the handler runs on the watch's thread only, one notice at a
// time; it must not call Stop() or destroy the watch. next_revision() and
// Stop() may be called from any other thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "cluster/etcd_client.h"
#include "cluster/etcd_types.h"

namespace strongroom::cluster {

struct WatchOptions {
  std::string key;
  std::string range_end;  // default empty: the single key `key`
  // start_revision is the first revision to deliver. Default 0: changes
  // after the watch is created only.
  std::int64_t start_revision = 0;
  // reconnect_pause is the wait before opening the watch again after a
  // failure. Default 200 ms.
  std::chrono::milliseconds reconnect_pause{200};
};

// WatchNotice is what the handler is given.
struct WatchNotice {
  enum class Kind {
    kConnected,     // a stream is open; `revision` is the next one it will deliver (0: from now)
    kEvents,        // `events`, whole revisions in revision order
    kCompacted,     // `revision` is etcd's compact revision; the watch has ended
    kDisconnected,  // the stream broke (`error` says why); the watch reconnects
  };
  Kind kind = Kind::kEvents;
  std::vector<WatchEvent> events;
  std::int64_t revision = 0;  // kEvents: the answer's header revision
  Status error;
};

class EtcdHttp;
class WatchStream;  // private: one stream's connection (etcd_watch.cc)

class EtcdWatch {
 public:
  using Handler = std::function<void(const WatchNotice&)>;

  // Start checks the options (as EtcdClient::Create) and starts the thread;
  // it does not wait for the stream. Later failures arrive as notices.
  static StatusOr<std::unique_ptr<EtcdWatch>> Start(const EtcdClientOptions& client,
                                                    WatchOptions watch, Handler handler);
  // ~EtcdWatch stops the watch (Stop()).
  ~EtcdWatch();
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

  // Stop ends the stream and joins the thread; the handler is not called
  // after Stop returns. Idempotent. REQUIRES: not called from the handler.
  void Stop();
  // next_revision is the first revision not yet delivered (0 before any
  // event when the watch started from "now").
  std::int64_t next_revision() const;
  // ended is true after kCompacted or Stop().
  bool ended() const;

 private:
  friend class WatchStream;
  EtcdWatch(std::unique_ptr<EtcdHttp> http, WatchOptions watch, Handler handler);
  void Run();
  // Deliver calls the handler (on the watch thread).
  void Deliver(const WatchNotice& notice) { handler_(notice); }

  std::unique_ptr<EtcdHttp> http_;
  WatchOptions watch_;
  Handler handler_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;           // guarded by mutex_
  bool ended_ = false;              // guarded by mutex_
  std::int64_t next_revision_ = 0;  // guarded by mutex_
  WatchStream* stream_ = nullptr;   // guarded by mutex_: the open stream, to wake it
  std::thread thread_;
};

}  // namespace strongroom::cluster
