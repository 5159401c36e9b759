# Provides the target llhttp::llhttp.
#
# A system llhttp found by pkg-config wins. Otherwise the C sources shipped by
# Debian's node-llhttp package (or given with -DLLHTTP_SOURCE_DIR and
# -DLLHTTP_INCLUDE_DIR) are built into a static library in strict mode.
pkg_check_modules(LLHTTP_PC QUIET IMPORTED_TARGET libllhttp)
if(LLHTTP_PC_FOUND)
  add_library(llhttp::llhttp ALIAS PkgConfig::LLHTTP_PC)
  message(STATUS "llhttp: system library ${LLHTTP_PC_VERSION}")
  return()
endif()

set(LLHTTP_SOURCE_DIR "/usr/share/llhttp" CACHE PATH "llhttp C sources")
set(LLHTTP_INCLUDE_DIR "/usr/share/include/llhttp" CACHE PATH "llhttp.h folder")
if(NOT EXISTS "${LLHTTP_SOURCE_DIR}/llhttp.c"
   OR NOT EXISTS "${LLHTTP_INCLUDE_DIR}/llhttp.h")
  message(FATAL_ERROR "llhttp not found: install node-llhttp "
          "(Debian) or set LLHTTP_SOURCE_DIR/LLHTTP_INCLUDE_DIR")
endif()
add_library(llhttp_static STATIC
  ${LLHTTP_SOURCE_DIR}/llhttp.c
  ${LLHTTP_SOURCE_DIR}/api.c
  ${LLHTTP_SOURCE_DIR}/http.c)
target_include_directories(llhttp_static SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
# Strict mode rejects more malformed input (bare LF, spaces, bad tokens).
target_compile_definitions(llhttp_static PUBLIC LLHTTP_STRICT_MODE=1)
target_compile_options(llhttp_static PRIVATE -w)
set_target_properties(llhttp_static PROPERTIES POSITION_INDEPENDENT_CODE ON)
add_library(llhttp::llhttp ALIAS llhttp_static)
message(STATUS "llhttp: built from ${LLHTTP_SOURCE_DIR} (strict mode)")
