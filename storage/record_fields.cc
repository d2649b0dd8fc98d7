#include "storage/record_fields.h"

namespace strongroom::storage {
namespace {

StatusOr<std::uint16_t> ReadCount(ByteReader& reader, std::string_view what) {
  SR_ASSIGN_OR_RETURN(std::uint16_t count, reader.U16(what));
  if (count > kMaxListItems) {
    return std::unexpected(Status::InvalidArgument("too many " + std::string(what)));
  }
  return count;
}

}  // namespace

std::string NamespacedKey(std::string_view namespace_name, std::string_view name) {
  std::string key(namespace_name);
  key += '/';
  key += name;
  return key;
}

void WriteStrings(ByteWriter& writer, const std::vector<std::string>& items) {
  writer.U16(static_cast<std::uint16_t>(items.size()));
  for (const std::string& item : items) writer.Str16(item);
}

void WriteStringPairs(ByteWriter& writer, const StringPairs& items) {
  writer.U16(static_cast<std::uint16_t>(items.size()));
  for (const auto& [key, value] : items) {
    writer.Str16(key);
    writer.Str16(value);
  }
}

StatusOr<std::vector<std::string>> ReadStrings(ByteReader& reader, std::string_view what) {
  SR_ASSIGN_OR_RETURN(std::uint16_t count, ReadCount(reader, what));
  std::vector<std::string> items;
  items.reserve(count);
  for (std::uint16_t i = 0; i < count; ++i) {
    SR_ASSIGN_OR_RETURN(std::string item, reader.Str16(what));
    items.push_back(std::move(item));
  }
  return items;
}

StatusOr<StringPairs> ReadStringPairs(ByteReader& reader, std::string_view what) {
  SR_ASSIGN_OR_RETURN(std::uint16_t count, ReadCount(reader, what));
  StringPairs items;
  items.reserve(count);
  for (std::uint16_t i = 0; i < count; ++i) {
    SR_ASSIGN_OR_RETURN(std::string key, reader.Str16(what));
    SR_ASSIGN_OR_RETURN(std::string value, reader.Str16(what));
    items.emplace_back(std::move(key), std::move(value));
  }
  return items;
}

}  // namespace strongroom::storage
