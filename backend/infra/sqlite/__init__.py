def forget_deleted_pages(using: str = "default") -> None:
    """After deleting personal data: write the WAL back into the database file and empty it, so the old
    versions of the deleted rows' pages are gone from the log too (`secure_delete`, set for every
    connection in settings, zeroes them in the pages written since). Nothing to do on other databases."""
    from django.db import connections

    connection = connections[using]
    # Inside a transaction (a caller's, or a test's) a checkpoint cannot run: its commit comes first.
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
