#pragma once
// Writing an output file whole or not at all.
#include <string>

namespace lj {

// Writes `text` to `path` atomically: into a temporary file beside it (same directory, so the
// same file system), flushed, then renamed over `path`. A reader sees the old file or the new
// one, never a part; a crash or a full disk leaves `path` as it was (and no temporary file,
// except after a crash). Creates missing parent directories.
// Throws ConfigError("<path>: cannot write: <reason>") when the file cannot be written.
void WriteTextFileAtomically(const std::string& path, const std::string& text);

}  // namespace lj
