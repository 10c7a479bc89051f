"""Tenancy: how every query is scoped to one tenant (PostgreSQL row-level security and
the SECURITY DEFINER lookups that cross tenants on purpose)."""
