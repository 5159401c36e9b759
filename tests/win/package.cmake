# The release zip that tools/win/package.sh writes into the build folder
# (tools/win/build.sh runs it after the build, before these tests): its
# exact contents, CRLF text, the licences, the imported DLLs, and the
# programs started from the unzipped folder under Wine.
wsus_wine_test(wine_package test_package.py
               --version ${PROJECT_VERSION} --objdump ${CMAKE_OBJDUMP})
