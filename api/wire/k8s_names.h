// api/wire/k8s_names.h — the Kubernetes naming rules for object names, namespace
// names, generated names and label keys and values (SPEC 6.1: "Kubernetes name
// rules"). Pure functions with no I/O. Thread-safety: all functions may be
// called from any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace strongroom::api {

// ValidateObjectName returns OK when `name` is a Kubernetes object name (an
// RFC 1123 DNS subdomain): 1..253 characters of lowercase a-z, 0-9, '-' and
// '.', starting and ending with an alphanumeric character. Otherwise
// kInvalidArgument whose message names `field` and the broken rule.
// SECURITY: the message echoes at most the first 64 characters of `name`, with
// control, quote, backslash and non-ASCII bytes replaced by '?'.
Status ValidateObjectName(std::string_view name, std::string_view field = "metadata.name");

// ValidateNamespaceName returns OK when `namespace_name` is an RFC 1123 label:
// 1..63 characters of lowercase a-z, 0-9 and '-', alphanumeric at both ends;
// else kInvalidArgument (echoing the input as ValidateObjectName does).
Status ValidateNamespaceName(std::string_view namespace_name);

// GenerateObjectName implements Kubernetes' metadata.generateName: `prefix`
// followed by 5 random characters from "bcdfghjklmnpqrstvwxz2456789" (drawn
// with RAND_bytes), the prefix truncated so that the result has at most 253
// characters. kInvalidArgument (field "metadata.generateName") when `prefix`
// is empty or the result is not a valid object name; kInternal when the
// random generator fails.
StatusOr<std::string> GenerateObjectName(std::string_view prefix);

// ValidateLabelKey returns OK when `key` is a Kubernetes label key,
// [prefix/]name: the optional prefix a DNS subdomain of at most 253
// characters, the name 1..63 characters of [A-Za-z0-9-_.] starting and ending
// with an alphanumeric character. Else kInvalidArgument.
Status ValidateLabelKey(std::string_view key);

// ValidateLabelValue returns OK when `value` is a Kubernetes label value:
// empty, or 1..63 characters of [A-Za-z0-9-_.] starting and ending with an
// alphanumeric character. Else kInvalidArgument.
Status ValidateLabelValue(std::string_view value);

}  // namespace strongroom::api
