-- read-value.sql: the statement wsus-fixer runs to read the current value,
-- and again inside the transaction to verify the update. It must return
-- exactly one row; the fixer counts the rows and refuses zero or several.
-- Built into the program at compile time (fixer/CMakeLists.txt): comment
-- lines are dropped and the rest is joined into one line.
SELECT BitsDownloadPriorityForeground FROM tbConfigurationC
