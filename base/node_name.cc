#include "base/node_name.h"

namespace strongroom {

bool IsNodeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNodeNameLength) return false;
  if (name.front() == '-' || name.back() == '-') return false;
  for (char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!allowed) return false;
  }
  return true;
}

}  // namespace strongroom
