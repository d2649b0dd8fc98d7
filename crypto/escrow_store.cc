// Escrow in the store: the configuration and the escrowed (wrapped) KEKs.
#include "crypto/escrow.h"
#include "crypto/kek.h"
#include "crypto/token_service.h"

namespace strongroom::crypto {
namespace {

constexpr std::string_view kEscrowConfigKey = "escrow-key";
constexpr std::string_view kEscrowedKeksKey = "escrowed-keks";
constexpr std::uint8_t kFormat = 1;

Bytes EncodeEscrowedKeks(const std::vector<EscrowedKek>& keks) {
  ByteWriter w;
  w.U8(kFormat);
  w.U16(static_cast<std::uint16_t>(keks.size()));
  for (const EscrowedKek& k : keks) {
    w.Str16(k.kek_id);
    w.Str16(k.escrow_key_sha256);
    w.Str32(k.wrapped);
  }
  return w.Take();
}

StatusOr<std::vector<EscrowedKek>> DecodeEscrowedKeks(ByteSpan raw) {
  return DecodeStored<std::vector<EscrowedKek>>(
      raw, "escrowed KEKs", [](ByteReader& r, std::vector<EscrowedKek>& out) -> Status {
        SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
        if (format != kFormat) return Status::InvalidArgument("unknown format");
        SR_ASSIGN_OR_RETURN(std::uint16_t count, r.U16("count"));
        for (std::uint16_t i = 0; i < count; ++i) {
          EscrowedKek k;
          SR_ASSIGN_OR_RETURN(k.kek_id, r.Str16("kek id"));
          SR_ASSIGN_OR_RETURN(k.escrow_key_sha256, r.Str16("escrow key"));
          SR_ASSIGN_OR_RETURN(ByteSpan wrapped, r.Str32("wrapped", 4096));
          k.wrapped.assign(wrapped.begin(), wrapped.end());
          out.push_back(std::move(k));
        }
        return Status::Ok();
      });
}

StatusOr<std::vector<EscrowedKek>> ReadEscrowedKeksIn(const auto& txn) {
  StatusOr<Bytes> raw = txn.GetMeta(kEscrowedKeksKey);
  if (!raw.has_value()) {
    if (raw.error().code() == StatusCode::kNotFound) return std::vector<EscrowedKek>();
    return std::unexpected(raw.error());
  }
  return DecodeEscrowedKeks(*raw);
}

}  // namespace

Status WriteEscrowConfig(storage::Store& store, const EscrowConfig& config) {
  ByteWriter w;
  w.U8(kFormat);
  w.U8(static_cast<std::uint8_t>(config.officers));
  w.U8(static_cast<std::uint8_t>(config.threshold));
  w.U64(static_cast<std::uint64_t>(config.created_micros));
  w.Str16(config.fingerprint_sha256);
  w.Str32(config.public_key_der);
  Bytes value = w.Take();
  return ToStatus(store.Write("escrow:config", [&](storage::WriteTxn& txn) -> Status {
    SR_RETURN_IF_ERROR(txn.Put(storage::Table::kSystem, kEscrowConfigKey, value));
    return Status::Ok();
  }));
}

StatusOr<std::optional<EscrowConfig>> ReadEscrowConfig(storage::Store& store) {
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store.BeginRead());
  StatusOr<storage::Record> record = txn.Get(storage::Table::kSystem, kEscrowConfigKey);
  if (!record.has_value()) {
    if (record.error().code() == StatusCode::kNotFound) return std::optional<EscrowConfig>();
    return std::unexpected(record.error());
  }
  SR_ASSIGN_OR_RETURN(
      EscrowConfig config,
      DecodeStored<EscrowConfig>(
          record->value, "escrow configuration", [](ByteReader& r, EscrowConfig& out) -> Status {
            SR_ASSIGN_OR_RETURN(std::uint8_t format, r.U8("format"));
            if (format != kFormat) return Status::InvalidArgument("unknown format");
            SR_ASSIGN_OR_RETURN(std::uint8_t officers, r.U8("officers"));
            SR_ASSIGN_OR_RETURN(std::uint8_t threshold, r.U8("threshold"));
            SR_ASSIGN_OR_RETURN(std::uint64_t created, r.U64("created"));
            SR_ASSIGN_OR_RETURN(out.fingerprint_sha256, r.Str16("fingerprint"));
            SR_ASSIGN_OR_RETURN(ByteSpan der, r.Str32("public key", 4096));
            out.officers = officers;
            out.threshold = threshold;
            out.created_micros = static_cast<std::int64_t>(created);
            out.public_key_der.assign(der.begin(), der.end());
            return Status::Ok();
          }));
  return std::optional<EscrowConfig>(std::move(config));
}

Status AddEscrowedKek(storage::Store& store, const EscrowedKek& kek) {
  return ToStatus(store.Write("escrow:kek", [&](storage::WriteTxn& txn) -> Status {
    SR_ASSIGN_OR_RETURN(std::vector<EscrowedKek> keks, ReadEscrowedKeksIn(txn));
    std::erase_if(keks, [&](const EscrowedKek& k) { return k.kek_id == kek.kek_id; });
    keks.push_back(kek);
    return txn.PutMeta(kEscrowedKeksKey, EncodeEscrowedKeks(keks));
  }));
}

StatusOr<std::vector<EscrowedKek>> ReadEscrowedKeks(storage::Store& store) {
  SR_ASSIGN_OR_RETURN(storage::ReadTxn txn, store.BeginRead());
  return ReadEscrowedKeksIn(txn);
}

Status GenerateKekForStore(TokenService& token, storage::Store& store, std::string_view kek_id) {
  SR_ASSIGN_OR_RETURN(std::optional<EscrowConfig> config, ReadEscrowConfig(store));
  if (!config.has_value()) return token.GenerateKek(kek_id);
  SR_ASSIGN_OR_RETURN(Bytes wrapped,
                      token.GenerateEscrowableKek(kek_id, config->fingerprint_sha256));
  return AddEscrowedKek(
      store, EscrowedKek{std::string(kek_id), config->fingerprint_sha256, std::move(wrapped)});
}

}  // namespace strongroom::crypto
