# wsus-shim.exe under Wine, serving Linux clients (curl, raw HTTP) through
# the Linux upstream-emu as a legacy HTTP/1.0 parent: one ctest test per
# behaviour group of test_shim_wine.py.
if(NOT WSUS_NATIVE_EMU)
  message(STATUS "wine_shim_*: no WSUS_NATIVE_EMU, not registered")
  return()
endif()

foreach(group curl_download cache_ranges_restart bits_walk tunnel malformed
        spool cut_fill evict_open replace_open large_pass large log_rotation)
  wsus_wine_test(wine_shim_${group} test_shim_wine.py ${group})
endforeach()
