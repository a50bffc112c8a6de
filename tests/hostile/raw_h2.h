#pragma once

// A deliberately minimal HTTP/2 client for hostile-caller tests: it writes
// frames a well-behaved gRPC client never would (a grpc-timeout of "0n" or
// "-1S", a length prefix of 4 GiB, thousands of streams left open) and
// reads only enough of the answer to know how each stream ended. HPACK
// output uses literals only; answers are not decoded, only framed.
// Loopback only; every read is bounded by a deadline.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace idgate::testing {

class RawH2 {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // How a stream ended, as far as framing tells.
  struct StreamEnd {
    bool ended = false;  // trailers (END_STREAM) or RST_STREAM seen
    bool reset = false;  // RST_STREAM
    uint32_t rst_code = 0;
    std::string header_bytes;  // HPACK blocks received (not decoded)
  };

  // Connects to 127.0.0.1:port and sends the preface and SETTINGS.
  explicit RawH2(int port);
  ~RawH2();
  RawH2(const RawH2&) = delete;
  RawH2& operator=(const RawH2&) = delete;

  bool connected() const { return fd_ >= 0; }

  // The headers of a unary gRPC call to `path` (pseudo-headers first).
  static Headers GrpcHeaders(const std::string& path, const Headers& extra);

  // Opens stream `id` (odd, increasing) with `headers`; END_STREAM when
  // `end_stream` (no body follows).
  bool SendHeaders(uint32_t id, const Headers& headers, bool end_stream);
  // A DATA frame with `payload`, END_STREAM when `end_stream`.
  bool SendData(uint32_t id, const std::string& payload, bool end_stream);
  // A gRPC length-prefixed message: flag byte, u32 length, bytes.
  static std::string GrpcFrame(const std::string& message,
                               bool compressed = false,
                               int64_t declared_length = -1);

  // Reads frames until every stream in `ids` ended, the connection closed
  // or `timeout` passed. Answers SETTINGS and PING as a client must.
  std::map<uint32_t, StreamEnd> Await(const std::vector<uint32_t>& ids,
                                      absl::Duration timeout);

  // GOAWAY received or connection closed.
  bool closed() const { return closed_; }

 private:
  bool WriteFrame(uint8_t type, uint8_t flags, uint32_t stream,
                  const std::string& payload);
  bool ReadFrame(absl::Time deadline, uint8_t* type, uint8_t* flags,
                 uint32_t* stream, std::string* payload);

  int fd_ = -1;
  bool closed_ = false;
  std::string in_;
};

}  // namespace idgate::testing
