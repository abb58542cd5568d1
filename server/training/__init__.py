"""The training line on the server: one owner task per lesson, its event log, its channel messages."""
