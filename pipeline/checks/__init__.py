"""The session checks: pure evaluations of stored documents, and the checker that loads them."""
