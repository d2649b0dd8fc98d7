// base/node_name.h — the one rule for a node's and a deployment's name
// (issue 18): `[cluster] node_name` and `cluster_name`, `init --node-name`,
// the node a token anchor belongs to (tokend), the etcd key prefix and
// write-attempt key (replica/key_layout.h). Pure functions.
// Thread-safety: may be called from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace strongroom {

// kMaxNodeNameLength is the longest node name: a DNS label's 63 bytes.
inline constexpr std::size_t kMaxNodeNameLength = 63;

// kNodeNameRule states IsNodeName's rule for error messages ("<what> must be
// " + kNodeNameRule).
inline constexpr std::string_view kNodeNameRule =
    "1 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'";

// IsNodeName returns true when `name` is a valid node or cluster name: 1 to
// 63 characters of [a-z0-9-], not starting or ending with '-' (a DNS label,
// lower case only).
// SECURITY: a name becomes part of etcd keys ("/strongroom/<cluster>/v1/",
// "attempt/<node>") and of token object labels ("strongroom-anchor:<node>");
// it never holds '/', ':', '.', white space or upper case, so one name can
// never be spelled two ways or reach into another name's keys.
bool IsNodeName(std::string_view name);

}  // namespace strongroom
