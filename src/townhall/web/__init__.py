"""Server-wide HTTP endpoints that belong to no dialect: health, readiness, metrics."""
