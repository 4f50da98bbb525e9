"""Alerts that reach people: what happened (events), the words they read (messages), how (senders).

Plain Python, no Dagster: ``sensors/alerts.py`` reads the events from the instance and the status
store and hands them here. Alert text is built from ids, classified reasons and counts only, never
from transcript text or a stored error message as such (``reasons``), so it can go to a chat room.
"""
