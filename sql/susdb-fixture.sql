-- susdb-fixture.sql: a minimal SUSDB tbConfigurationC for tests and the
-- demo. Loads unchanged into SQLite (sqlite3 DB < susdb-fixture.sql) and
-- PostgreSQL (psql -f susdb-fixture.sql). The real table has many more
-- columns; this one has only what wsus-fixer touches, plus one unrelated
-- column (LocalContentCacheLocation) so tests can check that an update
-- changes exactly one column. The value is an integer here because the
-- portable column types have no "bit"; SQL Server's bit converts the same.
CREATE TABLE tbConfigurationC (
    ConfigurationID INTEGER NOT NULL PRIMARY KEY,
    BitsDownloadPriorityForeground INTEGER NOT NULL DEFAULT 0,
    LocalContentCacheLocation VARCHAR(260) NOT NULL
);
INSERT INTO tbConfigurationC
    (ConfigurationID, BitsDownloadPriorityForeground, LocalContentCacheLocation)
    VALUES (1, 0, 'C:\WSUS\WsusContent');
