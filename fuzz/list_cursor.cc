// Fuzz target: the `continue` tokens of list endpoints
// (api/wire/list_cursor.h). A token from outside goes to Decode, which
// must refuse it (the MAC key is random: a forged token cannot verify);
// the input also names a kind, namespace and last key whose own token
// must decode back to that key, and be refused for another namespace.
// Input: TOKEN, or KIND "\n----\n" NAMESPACE "\n----\n" LAST_KEY for the
// round trip as well.
#include <cstdint>

#include "api/wire/list_cursor.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  fuzz::InstallArena();
  static const api::ListCursorCodec* codec = [] {
    StatusOr<api::ListCursorCodec> created = api::ListCursorCodec::Create();
    fuzz::Check(created.has_value(), "cannot create the cursor codec");
    return new api::ListCursorCodec(std::move(*created));
  }();
  std::string_view text = fuzz::AsText(data, size);
  StatusOr<std::string> decoded = codec->Decode(text, "securevalues", "default");
  fuzz::Check(!decoded.has_value(), "a token from outside verified");
  std::vector<std::string_view> pieces = fuzz::SplitPieces(text, 3);
  if (pieces.size() == 3 && pieces[0].size() + pieces[1].size() + pieces[2].size() <= 700) {
    std::string token = codec->Encode(pieces[0], pieces[1], pieces[2]);
    StatusOr<std::string> back = codec->Decode(token, pieces[0], pieces[1]);
    fuzz::Check(back.has_value() && *back == pieces[2], "a token did not decode to its key");
    std::string other = std::string(pieces[1]) + "x";
    fuzz::Check(!codec->Decode(token, pieces[0], other).has_value(),
                "a token decoded for another namespace");
  }
  return 0;
}
