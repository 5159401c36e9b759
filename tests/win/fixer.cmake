# wsus-fixer.exe under Wine: the scm backend against real services in
# Wine's service control manager (tests/win/testsvc.c plays WSUSService,
# BITS and a dependent), SUSDB as a SQLite file reached through Wine's
# odbc32 -> the host's unixODBC -> libsqliteodbc, and connection = auto
# from the prefix's registry. One ctest test per group of
# test_fixer_wine.py.
add_executable(wsus-testsvc ${CMAKE_CURRENT_SOURCE_DIR}/testsvc.c)
target_link_libraries(wsus-testsvc PRIVATE advapi32)
wsus_warnings(wsus-testsvc)

# wsus-setdacl.exe: sets a folder's DACL for the content_acl group.
add_executable(wsus-setdacl ${CMAKE_CURRENT_SOURCE_DIR}/setdacl.c)
target_link_libraries(wsus-setdacl PRIVATE advapi32)
wsus_warnings(wsus-setdacl)

foreach(group apply_revert stop_ignored stop_rejected stop_hang stop_slow
        start_fails dependents bits_disabled auto_connection content_acl
        restart)
  wsus_wine_test(wine_fixer_${group} test_fixer_wine.py
                 --testsvc $<TARGET_FILE:wsus-testsvc>
                 --setdacl $<TARGET_FILE:wsus-setdacl> ${group})
endforeach()
