"""Route modules; each exposes ``router`` (an APIRouter with its tag) and is mounted under
/v1 by :func:`arpolicy.api.build_router`."""
