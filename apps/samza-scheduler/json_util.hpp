// Small RapidJSON helpers shared by samza-scheduler's sources: parsing with a clear error, typed
// field access that names the field on failure, and serialising a value.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "heatblast/error.hpp"

namespace heatblast::samza::json {

// Iterative parsing: a deeply nested body cannot exhaust the stack. Anything after the value is
// an error.
inline Result<rapidjson::Document> parse(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return fail(
        errc::invalid_argument,
        fmt::format("body is not valid JSON: {} at offset {}",
                    rapidjson::GetParseError_En(doc.GetParseError()), doc.GetErrorOffset()));
  }
  return doc;
}

inline std::string to_string(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// An object's members to change in a range-for. RapidJSON's own range (GetObject()) compares
// its mutable iterators with an operator!= that C++20 finds ambiguous (clang warns).
inline std::span<rapidjson::Value::Member> members(rapidjson::Value& object) {
  return {object.MemberBegin().operator->(), object.MemberCount()};
}

inline std::string_view view(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

inline rapidjson::Value string_value(std::string_view text,
                                     rapidjson::Document::AllocatorType& allocator) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

}  // namespace heatblast::samza::json
