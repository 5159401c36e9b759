-- set-value.sql: the statement wsus-fixer runs for both apply and revert,
-- with autocommit off. The one parameter is the wanted value, bound as an
-- integer (the real column is a bit). The fixer requires a row count of 1,
-- reads the value back with read-value.sql, then commits.
-- Built into the program at compile time (fixer/CMakeLists.txt).
UPDATE tbConfigurationC SET BitsDownloadPriorityForeground = ?
