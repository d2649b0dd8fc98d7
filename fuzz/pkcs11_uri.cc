// Fuzz target: the token URI of the configuration and command line, through
// our entry point (crypto/token.h, Token::Open): the RFC 7512 parse
// (p11-kit's p11_kit_uri_parse), the refusal of pin-value and the PIN
// source. The module named is a path that does not exist, so Open stops
// there: no module is loaded and no token is touched. p11-kit is Debian's
// uninstrumented libp11-kit.so: coverage guides through our code only.
#include <p11-kit/p11-kit.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "crypto/token.h"
#include "fuzz/fuzz_support.h"

namespace {

// PinFile is an owner-only PIN file, removed at exit.
const std::string& PinFile() {
  static const std::string* path = [] {
    char name[] = "/tmp/strongroom-fuzz-pin-XXXXXX";
    int fd = mkstemp(name);
    strongroom::fuzz::Check(fd >= 0 && write(fd, "1234\n", 5) == 5, "cannot write the PIN file");
    close(fd);
    auto* kept = new std::string(name);
    std::atexit([] { unlink(PinFile().c_str()); });
    return kept;
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strongroom;
  fuzz::InstallArena();
  static const bool quiet = [] {
    p11_kit_be_quiet();
    return true;
  }();
  (void)quiet;
  std::string uri(fuzz::AsText(data, size));
  for (bool with_pin_file : {true, false}) {
    crypto::TokenOptions options;
    options.module = "/nonexistent/strongroom-fuzz-module.so";
    options.token_uri = uri;
    if (with_pin_file) options.pin_file = PinFile();
    StatusOr<std::unique_ptr<crypto::Token>> token = crypto::Token::Open(options);
    fuzz::Check(!token.has_value(), "a token opened without a module");
    // SECURITY: the URI may hold a PIN; no message may echo it.
    if (uri.find("pin-value=") != std::string::npos) {
      fuzz::Check(token.error().message().find(uri) == std::string::npos,
                  "an error echoes the URI");
    }
  }
  return 0;
}
