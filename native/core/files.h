// Paths handed to the core name regular files, nothing else: a folder, a
// FIFO (which would block a read), a device (/dev/zero reads forever) or a
// path with an embedded NUL (silently cut short by the C library) is refused
// before anything opens it.
#pragma once
#include <string>

namespace laa {

// ENOENT when nothing is there; EINVAL for a directory, another kind of file
// or a NUL byte, naming `what` ("weights file", "video", ...) and the path.
void require_regular_file(const std::string& path, const std::string& what);

}  // namespace laa
