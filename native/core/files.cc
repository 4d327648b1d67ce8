#include "core/files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace laa {

void require_regular_file(const std::string& path, const std::string& what) {
  if (path.find('\0') != std::string::npos)
    throw Error(codes::kArg, "Expected a " + what + " path without NUL bytes but received one with a NUL at byte " +
                                 std::to_string(path.find('\0')));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw Error(codes::kNotFound, what + " '" + path + "' does not exist");
    throw Error(codes::kArg, "cannot access " + what + " '" + path + "': " + std::strerror(errno));
  }
  if (S_ISREG(st.st_mode)) return;
  const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISFIFO(st.st_mode) ? "a FIFO"
                     : S_ISCHR(st.st_mode)  ? "a character device"
                     : S_ISBLK(st.st_mode)  ? "a block device"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                                            : "not a regular file";
  throw Error(codes::kArg, "Expected " + what + " '" + path + "' to be a regular file but it is " + kind);
}

}  // namespace laa
