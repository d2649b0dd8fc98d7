// policies/policy_file_parser.h — turns parsed policy files into a Policy.
// Private to policies/; Policy::LoadDirectory is its one user.
//
// Two passes, so a binding may name a role from any file of the directory:
// AddRoles for every file first, then AddBindingsAndIdentities for every
// file. Every error is kInvalidArgument "<file path>:<line>: <reason>".
// Thread-safety: not thread-safe; one loader per load.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "policies/policy.h"
#include "policies/source_document.h"

namespace strongroom::policies {

class PolicyFileParser {
 public:
  PolicyFileParser();

  // AddRoles checks the file's top level (an object of only "roles",
  // "bindings", "certificates" and "services") and adds its custom roles.
  Status AddRoles(const SourceDocument& document);

  // AddBindingsAndIdentities adds the file's bindings (their source reads
  // "<file_name>:<line>"), certificate users and service mappings.
  // REQUIRES: AddRoles has run for every file of the load.
  Status AddBindingsAndIdentities(const SourceDocument& document, std::string_view file_name);

  // Finish returns the policy built from `file_count` files. The parser is
  // spent afterwards.
  std::shared_ptr<const Policy> Finish(std::size_t file_count);

 private:
  Status AddRole(const SourceDocument& document, const std::string& pointer);
  Status AddPermission(const SourceDocument& document, const std::string& pointer, Role& role);
  Status AddBinding(const SourceDocument& document, const std::string& pointer,
                    std::string_view file_name);
  Status AddCertificate(const SourceDocument& document, const std::string& pointer);
  Status AddService(const SourceDocument& document, const std::string& pointer);

  std::shared_ptr<Policy> policy_;
};

}  // namespace strongroom::policies
