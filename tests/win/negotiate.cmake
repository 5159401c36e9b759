# Negotiate through SSPI under Wine (auth_sspi.c): nego-token.exe makes the
# tokens, the Linux test sends them to a Linux Squid backed by a throwaway
# KDC (tests/integration/krb5rig.py, squid_negotiate.py).
add_executable(nego-token ${CMAKE_CURRENT_SOURCE_DIR}/nego_token.c)
target_link_libraries(nego-token PRIVATE shim_pure)
wsus_warnings(nego-token)
if(NOT WSUS_NATIVE_EMU)
  message(STATUS "wine_negotiate: no WSUS_NATIVE_EMU, not registered")
  return()
endif()
wsus_wine_test(wine_negotiate test_negotiate_wine.py)
set_property(TEST wine_negotiate APPEND PROPERTY ENVIRONMENT
             "WSUS_NEGO_TOKEN_EXE=$<TARGET_FILE:nego-token>")
