from tests.webhooks.support import clock, db, receiver, wh_engine

__all__ = ["clock", "db", "receiver", "wh_engine"]
