// policies/subject.h — who a permission is granted to, and where (SPEC
// sections 4 and 7).
// Thread-safety: plain values.
#pragma once

#include <string>

namespace strongroom::policies {

// SubjectKind: users and services are separate namespaces of names; "alice"
// the user and "alice" the service are different subjects.
enum class SubjectKind { kUser, kService };

// Subject: a user login or a service name.
struct Subject {
  SubjectKind kind;
  std::string name;
};

// Binding: `subject` holds role `role` in namespace `namespace_name` ("*" for
// every namespace). `source` says where it came from: "<file>.json:<line>"
// for a policy file, "store" for one created at run time.
struct Binding {
  Subject subject;
  std::string role;
  std::string namespace_name;
  std::string source;
};

}  // namespace strongroom::policies
