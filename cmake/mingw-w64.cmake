# CMake toolchain file: cross-compile for 64-bit Windows with Debian's
# mingw-w64 (x86_64-w64-mingw32).
#
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake
#
# The win32-threads variant of gcc is preferred (no libwinpthread DLL to
# ship). Libraries are looked up only under the mingw sysroot and under the
# dependency prefix named by the WSUS_WIN_DEPS environment variable (see
# tools/win/build-deps.sh); point PKG_CONFIG_LIBDIR at its lib/pkgconfig.
#
# Tests run through CMAKE_CROSSCOMPILING_EMULATOR. It is not set here, so
# that the dependencies' configure checks never start Wine; tools/win/build.sh
# passes Wine with a throwaway prefix, and by hand:
#   -DCMAKE_CROSSCOMPILING_EMULATOR="env;WINEDEBUG=-all;wine"
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(WSUS_MINGW_TRIPLET x86_64-w64-mingw32)
find_program(WSUS_MINGW_GCC NAMES ${WSUS_MINGW_TRIPLET}-gcc-win32
             ${WSUS_MINGW_TRIPLET}-gcc REQUIRED)
set(CMAKE_C_COMPILER ${WSUS_MINGW_GCC})
set(CMAKE_RC_COMPILER ${WSUS_MINGW_TRIPLET}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${WSUS_MINGW_TRIPLET})
if(DEFINED ENV{WSUS_WIN_DEPS})
  list(APPEND CMAKE_FIND_ROOT_PATH $ENV{WSUS_WIN_DEPS})
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Link the C runtime support statically so a test .exe needs no DLL beside
# it; Windows system DLLs only.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
