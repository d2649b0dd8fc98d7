// storage/record_fields.h — private to storage/: the field lists several
// stored rows share (string lists and string maps), written as a u16 count
// then Str16 items. Thread-safety: pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace strongroom::storage {

using StringPairs = std::vector<std::pair<std::string, std::string>>;

// kMaxListItems bounds a stored list: a longer one is malformed.
inline constexpr std::uint16_t kMaxListItems = 4096;

// NamespacedKey returns "<namespace>/<name>", the key of a namespaced
// record (secure values, Sensu secrets); a namespace's records share the
// prefix NamespacedKey(ns, "").
std::string NamespacedKey(std::string_view namespace_name, std::string_view name);

// WriteStrings / WriteStringPairs append a list.
// REQUIRES: at most kMaxListItems items, each at most 65,535 bytes.
void WriteStrings(ByteWriter& writer, const std::vector<std::string>& items);
void WriteStringPairs(ByteWriter& writer, const StringPairs& items);

// ReadStrings / ReadStringPairs read a list written by the above;
// kInvalidArgument (naming `what`) when it is cut short or too long.
StatusOr<std::vector<std::string>> ReadStrings(ByteReader& reader, std::string_view what);
StatusOr<StringPairs> ReadStringPairs(ByteReader& reader, std::string_view what);

}  // namespace strongroom::storage
