from tests.webhooks.support import clock, db, loopback_allowed, receiver, wh_engine

__all__ = ["clock", "db", "loopback_allowed", "receiver", "wh_engine"]
