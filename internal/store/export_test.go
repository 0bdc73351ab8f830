package store

// MySQLHasSkipLocked is exported to the external tests.
var MySQLHasSkipLocked = mysqlHasSkipLocked
