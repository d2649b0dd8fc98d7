#include "api/wire/query_string.h"

#include "base/bytes.h"

namespace strongroom::api {

StatusOr<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      StatusOr<Bytes> byte = HexDecode(text.substr(i + 1, 2));
      if (!byte.has_value() || byte->size() != 1) {
        return std::unexpected(Status::InvalidArgument("malformed percent-escape in query"));
      }
      out.push_back(static_cast<char>((*byte)[0]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace strongroom::api
