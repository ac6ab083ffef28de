"""The running app: threads and mailboxes (pipeline, mailbox), what it shows (outputs, window,
overlay), what it measures (stats) and the keys that steer it (controls)."""
