// tests/policies/policy_dir.h — a temporary policy directory for the policies
// tests: write a few JSON files, load them.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "policies/policies.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace strongroom::policies {

class PolicyDir {
 public:
  // Write creates `name` in the directory with `text`.
  void Write(const std::string& name, const std::string& text) {
    ASSERT_TRUE(testing_support::WriteFileBytes(dir_.Join(name), text)) << name;
  }
  StatusOr<std::shared_ptr<const Policy>> Load() const { return Policy::LoadDirectory(path()); }
  // LoadError returns the message of a load that must fail, or "" (and a
  // test failure) when it succeeds.
  std::string LoadError() const {
    StatusOr<std::shared_ptr<const Policy>> loaded = Load();
    EXPECT_FALSE(loaded.has_value()) << "the load was expected to fail";
    if (loaded.has_value()) return "";
    EXPECT_STATUS(loaded, StatusCode::kInvalidArgument);
    return loaded.error().message();
  }
  // Where returns "<dir>/<name>:<line>: ", the prefix of an error there.
  std::string Where(const std::string& name, int line) const {
    return dir_.Join(name) + ":" + std::to_string(line) + ": ";
  }
  const std::string& path() const { return dir_.path(); }

 private:
  testing_support::TempDir dir_;
};

}  // namespace strongroom::policies
