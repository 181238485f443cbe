"""GraphQL: the served schema (the one source of the API's shape and defaults), resolvers,
parsed documents, document limits and the fast path. Nothing here knows of HTTP."""
