-- susdb-fixture.sql: a minimal SUSDB configuration for tests and the
-- demo. Loads unchanged into SQLite (sqlite3 DB < susdb-fixture.sql) and
-- PostgreSQL (psql -f susdb-fixture.sql). The real tables have many more
-- columns; these have only what wsus-fixer reads or touches, plus one
-- unrelated column (LocalContentCacheLocation) so tests can check that an
-- update changes exactly one column. Flags are integers here because the
-- portable column types have no "bit"; SQL Server's bit converts the same.
--
-- Which of tbConfigurationA/B/C holds which setting differs between WSUS
-- versions, and doctor never assumes it: it lists the three tables'
-- columns with SQLColumns and matches them by name. The placement below
-- (proxy and upstream server in B, storage in A) is not taken from a
-- particular WSUS release; it spreads the columns over the tables so the
-- tests prove the lookup, not the layout. The values are those of a WSUS
-- server that points at the shim (127.0.0.1:8181, README "Pointing WSUS
-- at the shim"), syncs from Microsoft Update and stores updates locally.
CREATE TABLE tbConfigurationA (
    ConfigurationID INTEGER NOT NULL PRIMARY KEY,
    HostBinariesOnMicrosoftUpdate INTEGER NOT NULL DEFAULT 0,
    SyncFromMicrosoftUpdate INTEGER NOT NULL DEFAULT 1
);
INSERT INTO tbConfigurationA
    (ConfigurationID, HostBinariesOnMicrosoftUpdate, SyncFromMicrosoftUpdate)
    VALUES (1, 0, 1);
CREATE TABLE tbConfigurationB (
    ConfigurationID INTEGER NOT NULL PRIMARY KEY,
    UseProxy INTEGER NOT NULL DEFAULT 0,
    ProxyName VARCHAR(255),
    ProxyServerPort INTEGER NOT NULL DEFAULT 80,
    AnonymousProxyAccess INTEGER NOT NULL DEFAULT 1,
    AllowProxyCredentialsOverNonSsl INTEGER NOT NULL DEFAULT 0,
    UpstreamServerName VARCHAR(255),
    UpstreamServerPortNumber INTEGER NOT NULL DEFAULT 8530,
    UpstreamServerUseSSL INTEGER NOT NULL DEFAULT 0
);
INSERT INTO tbConfigurationB
    (ConfigurationID, UseProxy, ProxyName, ProxyServerPort,
     AnonymousProxyAccess, AllowProxyCredentialsOverNonSsl,
     UpstreamServerName, UpstreamServerPortNumber, UpstreamServerUseSSL)
    VALUES (1, 1, '127.0.0.1', 8181, 1, 0, NULL, 8530, 0);
CREATE TABLE tbConfigurationC (
    ConfigurationID INTEGER NOT NULL PRIMARY KEY,
    BitsDownloadPriorityForeground INTEGER NOT NULL DEFAULT 0,
    LocalContentCacheLocation VARCHAR(260) NOT NULL
);
INSERT INTO tbConfigurationC
    (ConfigurationID, BitsDownloadPriorityForeground, LocalContentCacheLocation)
    VALUES (1, 0, 'C:\WSUS\WsusContent');
-- The files WSUS knows (tbFile) and their state on this server
-- (tbFileOnServer). doctor's missing-updates check counts the rows whose
-- ActualState differs from DesiredState, i.e. files WSUS wants and does
-- not have (waiting for a download, or failed), and names them. The real
-- FileDigest is binary(20); text here, which joins the same way. The
-- state numbers are not interpreted, only compared.
CREATE TABLE tbFile (
    FileDigest VARCHAR(40) NOT NULL PRIMARY KEY,
    FileName VARCHAR(255) NOT NULL
);
INSERT INTO tbFile (FileDigest, FileName) VALUES
    ('0a1b', 'windows10.0-kb5001-x64.cab'),
    ('0c2d', 'windows10.0-kb5002-x64.cab'),
    ('0e3f', 'ndp48-kb5003-x64.exe');
CREATE TABLE tbFileOnServer (
    FileDigest VARCHAR(40) NOT NULL PRIMARY KEY,
    ConfigurationID INTEGER NOT NULL DEFAULT 1,
    ActualState INTEGER NOT NULL DEFAULT 1,
    DesiredState INTEGER NOT NULL DEFAULT 1
);
INSERT INTO tbFileOnServer (FileDigest, ActualState, DesiredState) VALUES
    ('0a1b', 1, 1),
    ('0c2d', 1, 1),
    ('0e3f', 1, 1);
