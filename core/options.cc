// The words of the Options tree's choices.
#include "core/options.h"

namespace imgpipe {

const char* word(Format f) {
  switch (f) {
    case Format::kPng:
      return "png";
    case Format::kWebp:
      return "webp";
    case Format::kAvif:
      return "avif";
    case Format::kJpeg:
      break;
  }
  return "jpg";
}

const char* word(Codec c) { return c == Codec::kStb ? "stb" : "fast"; }

const char* word(Resizer r) { return r == Resizer::kStb ? "stb" : "lanczos"; }

const char* word(FailOn f) {
  switch (f) {
    case FailOn::kNone:
      return "none";
    case FailOn::kError:
      return "error";
    case FailOn::kTruncated:
      break;
  }
  return "truncated";
}

const char* word(Fit f) {
  switch (f) {
    case Fit::kCover:
      return "cover";
    case Fit::kPad:
      return "pad";
    case Fit::kStretch:
      return "stretch";
    case Fit::kContain:
      break;
  }
  return "contain";
}

const char* word(Naming n) {
  switch (n) {
    case Naming::kHash:
      return "hash";
    case Naming::kUrl:
      return "url";
    case Naming::kIndex:
      break;
  }
  return "index";
}

const char* word(ListFormat f) {
  switch (f) {
    case ListFormat::kCsv:
      return "csv";
    case ListFormat::kTsv:
      return "tsv";
    case ListFormat::kJsonl:
      return "jsonl";
    case ListFormat::kShard:
      return "shard";
    case ListFormat::kTxt:
      break;
  }
  return "txt";
}

const char* word(ShardBy b) { return b == ShardBy::kHost ? "host" : "line"; }

const char* word(OutputFormat f) { return f == OutputFormat::kWebdataset ? "webdataset" : "files"; }

const char* word(RetryFailed r) { return r == RetryFailed::kAll ? "all" : "retryable"; }

std::string default_user_agent(const std::string& contact) {
  const std::string c = contact.empty() ? IMGPIPE_CONTACT_URL : contact;
  return std::string("imgpipe/") + IMGPIPE_VERSION + (c.empty() ? "" : " (+" + c + ")");
}

}  // namespace imgpipe
